// Command bigpages is a test plugin that moves 300 MiB through a module capped at 64 MiB, to
// show that a long sync in a standard-Go reactor module keeps its memory bounded. Its sync
// "pages" fetches GET /page?n=i for i in 0..299, each a JSON array of about 1 MiB (1,000
// items with ids "p{i}-{j}"), decodes every page the way a typical plugin would, checks the
// ids, and saves the items as Item. Nothing outlives its page, so only the SDK's forced
// collections stand between the run and the memory limit.
package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

const pages = 300

//go:wasmexport pages
//lint:ignore U1000 exported to the host
func fetchPages() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		total := 0
		for i := range pages {
			var items []map[string]any
			if err := s.HTTP.GetJSON("/page", url.Values{"n": {strconv.Itoa(i)}}, &items); err != nil {
				return err
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
		s.Log.Infof("saved %d items from %d pages", total, pages)
		return nil
	})
}
