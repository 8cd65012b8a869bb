package main

import (
	"strconv"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// A storm of small host calls and commits: ten thousand batches of one record, a checkpoint
// every thousand.

// Batches is how many batches the sync saves.
const Batches = 10_000

//go:wasmexport tiny_batches
//lint:ignore U1000 exported to the host
func tinyBatches() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		for i := range Batches {
			id := "t" + strconv.Itoa(i)
			if _, err := s.SaveRaw("Item", []byte(`[{"id":"`+id+`"}]`)); err != nil {
				return err
			}
			if (i+1)%1000 == 0 {
				if err := s.SaveCheckpoint(map[string]int{"done": i + 1}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
