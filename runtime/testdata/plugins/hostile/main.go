// Command hostile is a test plugin with one export per way a plugin can misbehave, for syncs'
// TestHostilePlugins: an endless loop, a memory bomb, a panic, a failure, endless recursion,
// host calls with bad pointers and lengths, arguments over their limits, malformed batches,
// ten thousand tiny batches, requests the proxy must refuse, a full sync that saves nothing,
// and two syncs that page steadily through a provider (for the rate limit's test). They share one module, so that the tests compile it once; manifests in
// syncs/testdata deploy it under the limits each fault needs.
package main

import (
	"errors"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

// kept holds every block the memory bomb allocates, so the garbage collector frees none.
var kept [][]byte

//go:wasmexport spin
//lint:ignore U1000 exported to the host
func spin() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		//lint:ignore SA5002 spinning is the point
		for {
		}
	})
}

//go:wasmexport grow
//lint:ignore U1000 exported to the host
func grow() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			b[len(b)-1] = byte(i)
			kept = append(kept, b)
		}
	})
}

//go:wasmexport boom
//lint:ignore U1000 exported to the host
func boom() int32 {
	return ferry.RunSync(func(*ferry.Sync) error { panic("boom from plugin") })
}

//go:wasmexport fail
//lint:ignore U1000 exported to the host
func fail() int32 {
	return ferry.RunSync(func(*ferry.Sync) error { return errors.New("provider said no") })
}
