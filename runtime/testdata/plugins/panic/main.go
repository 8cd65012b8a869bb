// Command panic is a test plugin whose sync panics, for the runtime's handling of a failed
// run: the SDK recovers the panic and reports "panic: boom from plugin" as the run's error.
package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

func main() {}

//go:wasmexport boom
//lint:ignore U1000 exported to the host
func boom() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		panic("boom from plugin")
	})
}
