package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/storage"
)

func newRunsCmd(g *globals) *cobra.Command {
	var integration, connection, sync, status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"integration": integration, "connection": connection, "sync": sync, "status": status} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var out struct {
				Runs []run `json:"runs"`
			}
			if err := c.GetJSON(cmd.Context(), "/v1/runs?"+q.Encode(), &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tINTEGRATION\tCONNECTION\tSYNC\tTRIGGER\tSTATUS\tSTARTED\tDURATION\tERROR")
			for _, r := range out.Runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Integration, r.Connection, r.Sync,
					r.Trigger, r.Status, r.StartedAt.Local().Format(time.DateTime), r.duration(), firstLine(r.Error, 60))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&integration, "integration", "", "only this integration's runs")
	f.StringVar(&connection, "connection", "", "only this connection's runs")
	f.StringVar(&sync, "sync", "", "only this sync's runs")
	f.StringVar(&status, "status", "", "only runs in this status")
	f.IntVar(&limit, "limit", 20, "at most this many runs")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(&cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show one run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return getAndPrint(cmd, g, "/v1/runs/"+url.PathEscape(args[0]))
		},
	})
	return cmd
}

func newLogsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "logs RUN_ID",
		Short: "Show a run's log: plugin log lines and proxied requests, in order",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				Entries []storage.LogEntry `json:"entries"`
			}
			var raw json.RawMessage
			if err := c.GetJSON(cmd.Context(), "/v1/runs/"+url.PathEscape(args[0])+"/log", &raw); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, raw)
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return err
			}
			for _, e := range out.Entries {
				printLogEntry(g.stdout, e)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// firstLine returns s's first line, cut to n characters.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}
