// Command kitchen is a test plugin that uses every host function once, for the runtime's
// tests of the ABI. Its sync "everything":
//
//   - reads its checkpoint: n is k+1 when it holds {"n": k}, else 1;
//   - reads the connection's metadata;
//   - fetches GET /items, a JSON array of objects with string ids, and saves them as Item;
//   - saves the checkpoint {"n": n};
//   - logs a line at each level (debug, info, warn, error);
//   - sets the metadata to {"seen": n}.
//
// Its action "echo" returns its input as its output.
package main

import (
	"encoding/json"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

//go:wasmexport everything
//lint:ignore U1000 exported to the host
func everything() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		var cp struct {
			N *int `json:"n"`
		}
		n := 1
		if ok, err := s.Checkpoint(&cp); err != nil {
			return err
		} else if ok && cp.N != nil {
			n = *cp.N + 1
		}

		var md map[string]any
		if err := s.Metadata(&md); err != nil {
			return err
		}

		var items []map[string]any
		if err := s.HTTP.GetJSON("/items", nil, &items); err != nil {
			return err
		}
		res, err := s.Save("Item", items)
		if err != nil {
			return err
		}
		if err := s.SaveCheckpoint(map[string]int{"n": n}); err != nil {
			return err
		}

		s.Log.Debugf("kitchen run %d: metadata has %d keys", n, len(md))
		s.Log.Infof("kitchen run %d: saved %d items: %d added, %d updated, %d unchanged",
			n, len(items), res.Added, res.Updated, res.Unchanged)
		s.Log.Warnf("kitchen run %d: a warning", n)
		s.Log.Errorf("kitchen run %d: an error line", n)

		return s.SetMetadata(map[string]int{"seen": n})
	})
}

//go:wasmexport echo
//lint:ignore U1000 exported to the host
func echo() int32 {
	return ferry.RunAction(func(a *ferry.Action) error {
		var in json.RawMessage
		if err := a.Input(&in); err != nil {
			return err
		}
		return a.Output(in)
	})
}
