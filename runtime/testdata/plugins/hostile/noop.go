package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

// A full sync that succeeds without saving anything, which would delete the whole cache.

//go:wasmexport nothing
//lint:ignore U1000 exported to the host
func nothing() int32 {
	return ferry.RunSync(func(*ferry.Sync) error { return nil })
}
