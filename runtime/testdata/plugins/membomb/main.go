// Command membomb is a test plugin whose sync allocates 1 MiB after 1 MiB and keeps them all,
// for the runtime's memory limit: the module runs out of linear memory and traps.
package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

func main() {}

// kept holds every block, so the garbage collector can free none of them.
var kept [][]byte

//go:wasmexport grow
//lint:ignore U1000 exported to the host
func grow() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			b[len(b)-1] = byte(i) // touch it, so it is surely there
			kept = append(kept, b)
		}
	})
}
