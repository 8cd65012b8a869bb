package main

import (
	"fmt"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// Endless recursion: Go grows the goroutine stack in linear memory until it can grow no more.

//go:wasmexport recurse
//lint:ignore U1000 exported to the host
func recurse() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		return fmt.Errorf("came back from depth %d", deeper(0))
	})
}

// deeper never returns; its frame is padded so the stack grows fast.
//
//go:noinline
func deeper(n int) int {
	var pad [256]byte
	pad[n%len(pad)] = byte(n)
	return deeper(n+1) + int(pad[(n+1)%len(pad)])
}
