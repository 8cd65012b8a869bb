package main

import (
	"strconv"
	"strings"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// Arguments over their limits: a batch over 64 MiB, a record over 4 MiB, more than 100,000
// records, a checkpoint and metadata over 1 MiB, an action output over 16 MiB.

// records returns a JSON array of n records of about size bytes each.
func records(n, size int) []byte {
	pad := strings.Repeat("x", size)
	buf := make([]byte, 0, n*(size+32)+2)
	buf = append(buf, '[')
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":"r`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		if size > 0 {
			buf = append(buf, `","pad":"`...)
			buf = append(buf, pad...)
		}
		buf = append(buf, `"}`...)
	}
	return append(buf, ']')
}

//go:wasmexport batch_over_limit
//lint:ignore U1000 exported to the host
func batchOverLimit() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		_, err := s.SaveRaw("Item", records(70, 1<<20)) // 70 MiB
		return err
	})
}

//go:wasmexport record_over_limit
//lint:ignore U1000 exported to the host
func recordOverLimit() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		_, err := s.SaveRaw("Item", records(1, 5<<20))
		return err
	})
}

//go:wasmexport too_many_records
//lint:ignore U1000 exported to the host
func tooManyRecords() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		_, err := s.SaveRaw("Item", records(100_001, 0))
		return err
	})
}

//go:wasmexport checkpoint_over_limit
//lint:ignore U1000 exported to the host
func checkpointOverLimit() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		return s.SaveCheckpoint(map[string]string{"pad": strings.Repeat("x", 2<<20)})
	})
}

//go:wasmexport metadata_over_limit
//lint:ignore U1000 exported to the host
func metadataOverLimit() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		return s.SetMetadata(map[string]string{"pad": strings.Repeat("x", 2<<20)})
	})
}

//go:wasmexport output_over_limit
//lint:ignore U1000 exported to the host
func outputOverLimit() int32 {
	return ferry.RunAction(func(a *ferry.Action) error {
		return a.Output(strings.Repeat("x", 17<<20))
	})
}
