// Command bigpages is a test plugin that moves many times its memory limit through a module,
// to show that a long sync in a standard-Go reactor module keeps its memory bounded. Its sync
// "pages" fetches GET /page?n=i for i = 0, 1, ... until a page is empty, each page a JSON array
// (the host's test serves about 1 MiB each, items with ids "p{i}-{j}"), decodes every page the
// way a typical plugin would, checks the ids, and saves the items as Item. Nothing outlives
// its page, so garbage collection during the run is what keeps it under the limit.
package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

//go:wasmexport pages
//lint:ignore U1000 exported to the host
func fetchPages() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		total, i := 0, 0
		for ; ; i++ {
			var items []map[string]any
			if err := s.HTTP.GetJSON("/page", url.Values{"n": {strconv.Itoa(i)}}, &items); err != nil {
				return err
			}
			if len(items) == 0 {
				break
			}
			prefix := fmt.Sprintf("p%d-", i)
			for j, it := range items {
				if id, _ := it["id"].(string); !strings.HasPrefix(id, prefix) {
					return fmt.Errorf("page %d: item %d has id %v, want prefix %q", i, j, it["id"], prefix)
				}
			}
			if _, err := s.Save("Item", items); err != nil {
				return err
			}
			total += len(items)
			if i%50 == 0 {
				s.Log.Debugf("page %d: %d items so far", i, total)
			}
		}
		s.Log.Infof("saved %d items from %d pages", total, i)
		return nil
	})
}
