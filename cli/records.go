package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
)

func newRecordsCmd(g *globals) *cobra.Command {
	var (
		cursor, filter, ids string
		limit               int
		all                 bool
	)
	cmd := &cobra.Command{
		Use:   "records INTEGRATION CONNECTION MODEL",
		Short: "Read records as JSON lines, each with its _ferry metadata; the next cursor goes to stderr",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for {
				q := url.Values{"integration": {args[0]}, "connection": {args[1]}, "model": {args[2]}, "limit": {strconv.Itoa(limit)}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				if filter != "" {
					q.Set("filter", filter)
				}
				if ids != "" {
					q.Set("ids", ids)
				}
				var page struct {
					Records    []json.RawMessage `json:"records"`
					NextCursor string            `json:"next_cursor"`
				}
				if err := c.GetJSON(cmd.Context(), "/v1/records?"+q.Encode(), &page); err != nil {
					return err
				}
				var buf bytes.Buffer
				for _, r := range page.Records {
					buf.Write(r)
					buf.WriteByte('\n')
				}
				if _, err := g.stdout.Write(buf.Bytes()); err != nil {
					return err
				}
				if !all || page.NextCursor == "" {
					fmt.Fprintf(g.stderr, "next_cursor: %q\n", page.NextCursor)
					return nil
				}
				cursor = page.NextCursor
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cursor, "cursor", "", "return the changes after this cursor")
	f.IntVar(&limit, "limit", 100, "records per page")
	f.StringVar(&filter, "filter", "", "only these last actions: added,updated,deleted")
	f.StringVar(&ids, "ids", "", "only these ids, comma-separated")
	f.BoolVar(&all, "all", false, "follow next_cursor to the end")
	return cmd
}
