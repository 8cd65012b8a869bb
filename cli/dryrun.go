package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/dryrun"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/storage"
)

func newDryrunCmd(g *globals) *cobra.Command {
	var (
		creds      []string
		metadata   string
		baseURL    string
		checkpoint string
		record     string
		replay     string
		cacheDir   string
		asJSON     bool
		limit      int
	)
	cmd := &cobra.Command{
		Use:   "dryrun [DIR] SYNC",
		Short: "Run a sync of the plugin in DIR locally against the provider; print its records, counts, checkpoint and log; store nothing",
		Long: `Run a sync of the plugin in DIR (default: the current directory) once, locally: the plugin is
checked as a deploy checks it (it is not built), then run in a worker process against a
throwaway store, with a connection made of --cred, --metadata and --base-url, from --checkpoint.
Prints the records per model, the counts, the final checkpoint and the log; stores nothing.

--record DIR saves every HTTP exchange in DIR, one JSON file each; --replay DIR answers the
plugin from such files instead of the network (no credentials needed) and fails a request
that was not recorded. --json prints one JSON object, for tools and tests. The exit status is
1 when the run fails.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := dryrun.Options{Dir: ".", Sync: args[len(args)-1], BaseURL: baseURL, Record: record, Replay: replay, CacheDir: cacheDir}
			if len(args) == 2 {
				opt.Dir = args[0]
			}
			var err error
			if opt.Credentials, err = parseCreds(creds); err != nil {
				return err
			}
			if metadata != "" {
				opt.Metadata = json.RawMessage(metadata)
			}
			if checkpoint != "" {
				if !json.Valid([]byte(checkpoint)) {
					return fmt.Errorf("--checkpoint is not valid JSON")
				}
				opt.Checkpoint = json.RawMessage(checkpoint)
			}
			if opt.WorkerCommand, err = runtime.WorkerCommand(workerCommand); err != nil {
				return err
			}
			opt.Progress = &dryrun.Progress{}
			stop := showProgress(cmd.Context(), g.stderr, opt.Progress, opt.Sync)
			res, err := dryrun.Run(cmd.Context(), opt)
			stop()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				printDryrun(g.stdout, res, limit)
			}
			if !res.Succeeded() {
				return &exitError{code: 1, err: fmt.Errorf("%s sync %s %s: %s", res.Integration, res.Sync, res.Status, res.Error)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&creds, "cred", nil, "credential name=value (repeatable), as for connection put")
	f.StringVar(&metadata, "metadata", "", "the connection's metadata, a JSON object")
	f.StringVar(&baseURL, "base-url", "", "the connection's base URL (default: the manifest's provider.base_url)")
	f.StringVar(&checkpoint, "checkpoint", "", "the checkpoint to start from, a JSON object (full syncs ignore it)")
	f.StringVar(&record, "record", "", "save every HTTP exchange as a JSON file in this directory")
	f.StringVar(&replay, "replay", "", "answer the plugin from the exchanges recorded in this directory, not the network")
	f.StringVar(&cacheDir, "cache", defaultCacheDir(), "compiled modules kept across dry runs (\"\": compile every time)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object: records by model, deleted ids, counts, checkpoint, log")
	f.IntVar(&limit, "limit", 10, "records printed per model (0: all)")
	return cmd
}

// defaultCacheDir is where dry runs keep compiled modules: the user's cache directory, so a
// plugin's tests compile its module once, not once per dry run. "" when there is none.
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ferry", "compiled")
}

// parseCreds parses --cred name=value flags.
func parseCreds(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--cred %q: want name=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

// showProgress refreshes a progress line in place on w while a dry run runs, if w is a
// terminal; the returned function stops it and clears the line.
func showProgress(ctx context.Context, w io.Writer, p *dryrun.Progress, sync string) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			fmt.Fprintf(w, "\r\033[Kdryrun %s: %d requests, %d records saved, %s", sync, p.Requests(), p.Saved(),
				time.Since(start).Round(100*time.Millisecond))
			select {
			case <-ctx.Done():
				fmt.Fprint(w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// printDryrun prints a dry run for people: the records per model (at most limit each, 0 for
// all), the counts, the checkpoint, the log, and how it ended.
func printDryrun(w io.Writer, res *dryrun.Result, limit int) {
	models := make([]string, 0, len(res.Counts))
	for m := range res.Counts {
		models = append(models, m)
	}
	slices.Sort(models)
	fmt.Fprintf(w, "dryrun of %s sync %s (%s) against %s\n", res.Integration, res.Sync, res.Type, res.BaseURL)
	for _, m := range models {
		recs := res.Records[m]
		fmt.Fprintf(w, "\n%s: %d records\n", m, len(recs))
		shown := recs
		if limit > 0 && len(recs) > limit {
			shown = recs[:limit]
		}
		for _, r := range shown {
			fmt.Fprintf(w, "%s\n", r)
		}
		if len(shown) < len(recs) {
			fmt.Fprintf(w, "... and %d more (--limit 0 prints them all, --json prints everything)\n", len(recs)-len(shown))
		}
		if ids := res.Deleted[m]; len(ids) > 0 {
			fmt.Fprintf(w, "%s deleted: %s\n", m, strings.Join(ids, ", "))
		}
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tADDED\tUPDATED\tDELETED\tUNCHANGED\t")
	for _, m := range models {
		c := res.Counts[m]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", m, c.Added, c.Updated, c.Deleted, c.Unchanged)
	}
	tw.Flush()

	cp := "(none)"
	if len(res.Checkpoint) > 0 {
		cp = string(res.Checkpoint)
	}
	fmt.Fprintf(w, "\ncheckpoint: %s\n\nlog:\n", cp)
	for _, e := range res.Log {
		printLogEntry(w, e)
	}
	fmt.Fprintf(w, "\n%s in %s, %d requests\n", res.Status, (time.Duration(res.DurationMS*1000) * time.Microsecond).Round(time.Millisecond), res.Requests)
	if res.Error != "" {
		fmt.Fprintf(w, "error: %s\n", res.Error)
	}
}

// printLogEntry prints a log entry as `ferry logs` does.
func printLogEntry(w io.Writer, e storage.LogEntry) {
	ts := e.Time.Local().Format("15:04:05.000")
	if h := e.HTTP; h != nil {
		result := strconv.Itoa(h.Status)
		if h.Error != "" {
			result = "error: " + h.Error
		}
		fmt.Fprintf(w, "%s %-5s http %s %s -> %s (%.1fms, %d retries)\n", ts, e.Level, h.Method, h.URL, result, h.DurationMS, h.Retries)
		return
	}
	fmt.Fprintf(w, "%s %-5s %s\n", ts, e.Level, e.Message)
}
