// Command plugin is the benchmark's probe plugin: syncs that do next to nothing, so that
// `ferry bench` can time what surrounds a plugin's work (start-up, host calls, stopping a
// runaway guest, idle connections) apart from the work itself. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

//go:wasmimport ferry log
func hostLog(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry metadata_get
func metadataGet(ptr, size uint32) int64

//go:wasmimport ferry result
func result(ptr unsafe.Pointer, size uint32) int64

// logFirst logs "probe" as the call's first host call, straight through the import, so that
// its time in the run log is when the plugin first reached the host.
func logFirst() {
	msg := []byte("info\nprobe")
	hostLog(unsafe.Pointer(&msg[0]), uint32(len(msg)))
}

// firstCall reaches the host once and returns.
//
//go:wasmexport first_call
//lint:ignore U1000 exported to the host
func firstCall() int32 {
	logFirst()
	return 0
}

// hostCalls makes the number of metadata_get calls the connection's metadata gives as
// "calls", each copying its result out as the SDK does, and logs the time one took.
//
//go:wasmexport host_calls
//lint:ignore U1000 exported to the host
func hostCalls() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		var md struct {
			Calls int `json:"calls"`
		}
		if err := s.Metadata(&md); err != nil {
			return err
		}
		var buf [256]byte
		start := time.Now()
		for range md.Calls {
			n := metadataGet(0, 0)
			got := result(unsafe.Pointer(&buf[0]), uint32(min(max(n, -n), int64(len(buf)))))
			if n < 0 {
				return errors.New(string(buf[:got]))
			}
		}
		per := time.Since(start) / time.Duration(max(md.Calls, 1))
		out, _ := json.Marshal(map[string]int64{"host_call_ns": per.Nanoseconds()})
		s.Log.Infof("%s", out)
		return nil
	})
}

// runaway reaches the host once, then never returns.
//
//go:wasmexport runaway
//lint:ignore U1000 exported to the host
func runaway() int32 {
	logFirst()
	for i := 0; ; i++ {
		if i < 0 {
			fmt.Println(i) // never: keeps the loop from being optimised away
		}
	}
}

// idle does nothing: the sync of an idle connection.
//
//go:wasmexport idle
//lint:ignore U1000 exported to the host
func idle() int32 { return 0 }
