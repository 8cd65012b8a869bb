package syncs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/webhooks"
)

// TriggerDryRun is the trigger of a run started by RunLocal (`ferry dryrun`).
const TriggerDryRun = "dryrun"

// LocalOptions say how RunLocal runs a sync.
type LocalOptions struct {
	// Full and Force are as in TriggerOptions.
	Full, Force bool
	// WrapHTTP, if set, wraps the connection's HTTP access (the proxy, which logs every
	// exchange in the run's log), e.g. to record the exchanges.
	WrapHTTP func(proxied hostfuncs.Fetcher) hostfuncs.Fetcher
	// HTTP, if set, answers the plugin's requests instead of the proxy, e.g. from recorded
	// exchanges; each exchange is logged as the proxy's are, with the URL the plugin gave.
	HTTP hostfuncs.Fetcher
}

// RunLocal runs a sync of a connection once, now, in the calling goroutine: what `ferry dryrun`
// does against a throwaway store. The run is the one Trigger would start (the same host
// functions, proxy, limits, checkpoint rules and full-sync deletions), but it does not wait in
// the sync's lane or for a run slot, and it queues no webhook. The run, its log, its records
// and its checkpoint are stored in the runner's store like any run's. The returned run is
// finished; the error is the run's, if it failed.
func (r *Runner) RunLocal(ctx context.Context, integration, connection, sync string, opt LocalOptions) (storage.Run, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return storage.Run{}, err
	}
	run := storage.Run{
		ID: id.String(), Kind: storage.KindSync, Integration: integration, Connection: connection, Sync: sync,
		Trigger: TriggerDryRun, Full: opt.Full, Status: StatusRunning, StartedAt: time.Now().UTC(),
	}
	store := context.WithoutCancel(ctx)
	if err := r.cfg.Store.PutRun(store, run); err != nil {
		return run, fmt.Errorf("store the run: %w", err)
	}
	log := newRunLog(r.cfg.Store, run.ID, r.cfg.Logger)
	httpFor := func(proxied hostfuncs.Fetcher) hostfuncs.Fetcher {
		f := proxied
		if opt.HTTP != nil {
			f = &loggedFetcher{next: opt.HTTP, log: log}
		}
		if opt.WrapHTTP != nil {
			f = opt.WrapHTTP(f)
		}
		return f
	}
	var hooks hookInfo
	runErr := r.syncWith(ctx, &run, opt.Force, log, &hooks, httpFor)
	ended := time.Now().UTC()
	run.EndedAt = &ended
	switch {
	case runErr == nil:
		run.Status = StatusSucceeded
	case ctx.Err() != nil:
		run.Status, run.Error = StatusCancelled, "cancelled before the run ended; its checkpoint is kept"
	default:
		run.Status, run.Error = StatusFailed, runErr.Error()
	}
	if run.Error != "" {
		log.add("error", run.Error)
	}
	log.add("info", fmt.Sprintf("run %s in %s", run.Status, ended.Sub(run.StartedAt).Round(time.Millisecond)))
	log.flush(store)
	if err := r.cfg.Store.FinishRun(store, run, nil); err != nil {
		return run, fmt.Errorf("store the finished run: %w", err)
	}
	return run, runErr
}

// loggedFetcher logs the exchanges of a Fetcher that is not the proxy, which logs its own.
type loggedFetcher struct {
	next hostfuncs.Fetcher
	log  *runLog
}

func (f *loggedFetcher) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	start := time.Now()
	resp, err := f.next.Fetch(ctx, req)
	ex := proxy.Exchange{Method: req.Method, URL: req.URL, Duration: time.Since(start)}
	if req.Path != "" {
		ex.URL = req.Path
	}
	if len(req.Query) > 0 {
		sep := "?"
		if strings.Contains(ex.URL, "?") {
			sep = "&"
		}
		ex.URL += sep + req.Query.Encode()
	}
	if err != nil {
		ex.Err = err.Error()
	} else {
		ex.Status = resp.Status
	}
	f.log.http(ex)
	return resp, err
}

// syncWith does the work of one run, filling in run.Version and run.Counts, and hooks, with
// the run's HTTP access given by httpFor, which receives the proxy bound to the connection (a
// server's runs use it as it is; a dry run records or replays).
func (r *Runner) syncWith(ctx context.Context, run *storage.Run, force bool, log *runLog, hooks *hookInfo,
	httpFor func(proxied hostfuncs.Fetcher) hostfuncs.Fetcher) error {
	d, err := r.cfg.Plugins.Active(ctx, run.Integration)
	if err != nil {
		return fmt.Errorf("load integration: %w", err)
	}
	run.Version = d.Version.Version
	def, ok := d.Manifest.Syncs[run.Sync]
	if !ok {
		return fmt.Errorf("%w %q in %s version %d", ErrUnknownSync, run.Sync, run.Integration, d.Version.Version)
	}
	conn, err := r.cfg.Store.Connection(ctx, run.Integration, run.Connection)
	if err != nil {
		return fmt.Errorf("load connection: %w", err)
	}
	target, err := r.target(d, conn)
	if err != nil {
		return err
	}
	state, err := r.cfg.Store.SyncState(ctx, run.Integration, run.Connection, run.Sync)
	if err != nil {
		return fmt.Errorf("load sync state: %w", err)
	}
	// A full run must see everything to know what to delete, so it never resumes from a
	// checkpoint: a full sync's checkpoint lasts one run, and a full resync starts afresh.
	full := def.Type == plugins.SyncFull || run.Full
	if full {
		if err := r.cfg.Store.ClearCheckpoint(ctx, run.Integration, run.Connection, run.Sync); err != nil {
			return fmt.Errorf("clear checkpoint for the full run: %w", err)
		}
	}
	hooks.syncType = webhooks.SyncTypeFor(def.Type, run.Full, state.LastSuccessAt.IsZero())
	if hooks.cursorFrom, err = r.cursors(ctx, run.Integration, run.Connection, def.Models); err != nil {
		return err
	}
	call := &hostfuncs.Call{
		Integration: run.Integration,
		Connection:  run.Connection,
		Sync:        run.Sync,
		Models:      def.Models,
		Metadata:    conn.Metadata,
		LastSuccess: state.LastSuccessAt,
		TrackSeen:   full,
		Store:       r.cfg.Store,
		HTTP:        httpFor(&fetcher{client: r.cfg.Proxy, target: target, log: log}),
		Log:         log.add,
		Validate:    d.Schemas.Record,
		Batch:       r.cfg.Store.NewSession(0, 0),
	}
	var keepNewer []storage.WriteOption
	if d.Manifest.KeepsNewerWrites(def) {
		call.KeepExternalSince = run.StartedAt
		keepNewer = append(keepNewer, storage.KeepExternalSince(run.StartedAt))
	}
	kind := def.Type
	if run.Full {
		kind += ", full resync"
	}
	log.add("info", fmt.Sprintf("run %s of %s/%s sync %s (version %d, %s)", run.ID, run.Integration,
		run.Connection, run.Sync, run.Version, kind))

	res, err := r.cfg.Pool.Run(ctx, r.job(d, def.Export, call))
	logInstance(log, res)
	// Whatever the plugin did, what it was told is saved is committed now, before the run
	// reads the store or ends; a failure here is Fatal, checked below.
	_ = call.Flush()
	run.Counts = countsFor(def.Models, call.Counts())
	log.output("stdout", res.Stdout)
	log.output("stderr", res.Stderr)
	if err != nil {
		if msg := call.Failure(); msg != "" {
			// A guest that reported its failure and then trapped (a Rust panic aborts): its
			// own message says more than the trap.
			return fmt.Errorf("plugin failed: %s (%v)", msg, describeRunError(err, d))
		}
		return describeRunError(err, d)
	}
	if res.Status != 0 {
		if msg := call.Failure(); msg != "" {
			return fmt.Errorf("plugin failed: %s", msg)
		}
		return fmt.Errorf("plugin failed: export %s returned %d", def.Export, res.Status)
	}
	if err := call.Fatal(); err != nil {
		return fmt.Errorf("run failed on a store error the plugin ignored: %w", err)
	}
	if !full {
		return nil
	}
	// Only a run that succeeded gets here: a failed full sync deletes nothing, and neither does
	// one that had a batch refused, whose records it saw but could not save.
	if err := call.Refused(); err != nil {
		return fmt.Errorf("a record batch was refused during this full run, so it deletes nothing: %w", err)
	}
	seen := call.Seen()
	if seen == nil {
		seen = map[string]map[string]struct{}{}
	}
	for _, m := range def.Models {
		if seen[m] == nil {
			seen[m] = map[string]struct{}{}
		}
	}
	share := def.DeleteShare()
	if force {
		share = 1
	}
	deleted, err := r.cfg.Store.DeleteMissing(ctx, run.Integration, run.Connection, seen, share, time.Now().UTC(), keepNewer...)
	if err != nil {
		return fmt.Errorf("delete records the full sync did not see: %w", err)
	}
	for m, c := range deleted {
		sum := run.Counts[m]
		sum.Add(c)
		run.Counts[m] = sum
	}
	return nil
}
