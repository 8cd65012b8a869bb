// Command hostcalls is a test plugin for the runtime's benchmarks: its exports make many
// trivial host calls, or none at all, so that the cost of one host call round trip and of one
// plugin call can be measured apart from any real work.
package main

import (
	"encoding/json"
	"errors"
	"unsafe"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

// The imports the raw loop calls directly, as the SDK does underneath.

//go:wasmimport ferry metadata_get
func metadataGet(ptr, size uint32) int64

//go:wasmimport ferry result
func result(ptr unsafe.Pointer, size uint32) int64

// input is the loops' input: how many host calls to make.
type input struct {
	N int `json:"n"`
}

// raw makes n metadata_get calls straight through the import, each copying its result out as
// the SDK does: the host call round trip with nothing of the SDK's around it.
//
//go:wasmexport raw
//lint:ignore U1000 exported to the host
func raw() int32 {
	return ferry.RunAction(func(a *ferry.Action) error {
		var in input
		if err := a.Input(&in); err != nil {
			return err
		}
		var buf [256]byte
		for range in.N {
			n := metadataGet(0, 0)
			got := result(unsafe.Pointer(&buf[0]), uint32(min(max(n, -n), int64(len(buf)))))
			if n < 0 {
				return errors.New(string(buf[:got]))
			}
		}
		return nil
	})
}

// sdk makes n metadata_get calls through the SDK, as a plugin reads its connection's metadata.
//
//go:wasmexport sdk
//lint:ignore U1000 exported to the host
func sdk() int32 {
	return ferry.RunAction(func(a *ferry.Action) error {
		var in input
		if err := a.Input(&in); err != nil {
			return err
		}
		var md json.RawMessage
		for range in.N {
			if err := a.Metadata(&md); err != nil {
				return err
			}
		}
		return nil
	})
}

// noop returns at once, calling nothing: a plugin call's fixed cost, instance creation first.
//
//go:wasmexport noop
//lint:ignore U1000 exported to the host
func noop() int32 { return 0 }
