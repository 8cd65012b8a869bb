package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/internal/apiclient"
)

// run is a run as the API returns it.
type run struct {
	ID          string                    `json:"id"`
	Integration string                    `json:"integration"`
	Connection  string                    `json:"connection"`
	Sync        string                    `json:"sync"`
	Version     int                       `json:"version"`
	Trigger     string                    `json:"trigger"`
	Full        bool                      `json:"full_resync"`
	Status      string                    `json:"status"`
	StartedAt   time.Time                 `json:"started_at"`
	EndedAt     *time.Time                `json:"ended_at"`
	Error       string                    `json:"error"`
	Counts      map[string]map[string]int `json:"counts"`
}

func (r run) finished() bool { return r.Status != "queued" && r.Status != "running" }

func (r run) duration() string {
	if r.EndedAt == nil {
		return "-"
	}
	return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func syncPath(integration, connection, sync string) string {
	return "/v1/syncs/" + url.PathEscape(integration) + "/" + url.PathEscape(connection) + "/" + url.PathEscape(sync)
}

func newSyncCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "sync", Short: "Trigger syncs and show their state"}
	var full, force, wait bool
	var timeout time.Duration
	trigger := &cobra.Command{
		Use:   "trigger INTEGRATION CONNECTION SYNC",
		Short: "Run a sync now; with --wait, print its result and exit non-zero if it failed",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				RunID string `json:"run_id"`
			}
			req := map[string]bool{"full_resync": full, "force": force}
			if err := c.SendJSON(cmd.Context(), http.MethodPost, syncPath(args[0], args[1], args[2])+"/trigger", req, &out); err != nil {
				return err
			}
			if !wait {
				fmt.Fprintf(g.stdout, "run %s\n", out.RunID)
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			r, err := waitRun(ctx, c, out.RunID)
			if err != nil {
				return err
			}
			printRun(g.stdout, r)
			if r.Status != "succeeded" {
				return &exitError{code: 1, err: fmt.Errorf("run %s %s: %s", r.ID, r.Status, r.Error)}
			}
			return nil
		},
	}
	trigger.Flags().BoolVar(&full, "full", false, "full resync: clear the checkpoint and delete what the run does not see")
	trigger.Flags().BoolVar(&force, "force", false, "let a full run delete more than the sync's delete threshold")
	trigger.Flags().BoolVar(&wait, "wait", false, "wait for the run to end and print its result")
	trigger.Flags().DurationVar(&timeout, "timeout", time.Hour, "how long --wait waits")

	status := &cobra.Command{
		Use:   "status INTEGRATION CONNECTION SYNC",
		Short: "Show a sync's state: last run, last success, checkpoint",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return getAndPrint(cmd, g, syncPath(args[0], args[1], args[2]))
		},
	}
	schedule := func(verb, short string) *cobra.Command {
		return &cobra.Command{
			Use:   verb + " INTEGRATION CONNECTION SYNC",
			Short: short,
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var out json.RawMessage
				if err := c.Do(cmd.Context(), http.MethodPost, syncPath(args[0], args[1], args[2])+"/"+verb, nil, "", &out); err != nil {
					return err
				}
				return printJSON(g.stdout, out)
			},
		}
	}
	cmd.AddCommand(trigger, status,
		schedule("pause", "Take a sync of a connection off its schedule (runs under way finish)"),
		schedule("start", "Put a sync of a connection on its schedule, whatever auto_start says"),
	)
	return cmd
}

// waitRun polls a run until it ends.
func waitRun(ctx context.Context, c *apiclient.Client, id string) (run, error) {
	delay := 50 * time.Millisecond
	for {
		var r run
		if err := c.GetJSON(ctx, "/v1/runs/"+url.PathEscape(id), &r); err != nil {
			return run{}, err
		}
		if r.finished() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return run{}, fmt.Errorf("waiting for run %s: %w", id, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// printRun prints a run's outcome and its counts per model.
func printRun(w io.Writer, r run) {
	fmt.Fprintf(w, "run %s %s: %s/%s %s (version %d, %s)\n", r.ID, r.Status, r.Integration, r.Connection, r.Sync, r.Version, r.duration())
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	models := make([]string, 0, len(r.Counts))
	for m := range r.Counts {
		models = append(models, m)
	}
	slices.Sort(models)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tADDED\tUPDATED\tDELETED\tUNCHANGED\t")
	for _, m := range models {
		c := r.Counts[m]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", m, c["added"], c["updated"], c["deleted"], c["unchanged"])
	}
	tw.Flush()
}
