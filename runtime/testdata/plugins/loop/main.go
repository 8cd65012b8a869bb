// Command loop is a test plugin whose sync never returns and never calls the host, for the
// runtime's timeout: only killing the worker ends it.
package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

func main() {}

//go:wasmexport spin
//lint:ignore U1000 exported to the host
func spin() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		//lint:ignore SA5002 spinning is the point
		for {
		}
	})
}
