package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

// Batches the host must refuse whole: each holds a valid record before the bad one.

// save saves batch as records of model, returning the host's refusal as the run's error.
func save(model, batch string) int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		_, err := s.SaveRaw(model, []byte(batch))
		return err
	})
}

//go:wasmexport no_id
//lint:ignore U1000 exported to the host
func noID() int32 { return save("Item", `[{"id":"fine"},{"name":"no id"}]`) }

//go:wasmexport not_objects
//lint:ignore U1000 exported to the host
func notObjects() int32 { return save("Item", `[{"id":"fine"},42,"x"]`) }

//go:wasmexport numeric_id
//lint:ignore U1000 exported to the host
func numericID() int32 { return save("Item", `[{"id":"fine"},{"id":7}]`) }

//go:wasmexport broken_json
//lint:ignore U1000 exported to the host
func brokenJSON() int32 { return save("Item", `[{"id":"fine"},{"id":"b",}]`) }

//go:wasmexport unknown_model
//lint:ignore U1000 exported to the host
func unknownModel() int32 { return save("Secret", `[{"id":"fine"}]`) }

// ignoresRefusal saves a batch the host refuses, drops the error and returns success, as a
// careless plugin would: the run must fail all the same.
//
//go:wasmexport ignores_refusal
//lint:ignore U1000 exported to the host
func ignoresRefusal() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		_, _ = s.SaveRaw("Item", []byte(`[{"id":"fine"},{"name":"no id"}]`))
		return nil
	})
}
