package syncs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/webhooks"
)

// execute runs p and stores how it ended. Storing is done with a context of its own, so a run
// cancelled by shutdown is still recorded as cancelled.
func (r *Runner) execute(p *pending) {
	run := p.run
	log := newRunLog(r.cfg.Store, run.ID, r.cfg.Logger)
	store := context.WithoutCancel(r.ctx)

	run.Status, run.StartedAt = StatusRunning, time.Now().UTC()
	if err := r.cfg.Store.PutRun(store, run); err != nil {
		r.cfg.Logger.Error("start run", "run", run.ID, "err", err)
	}
	var hooks hookInfo
	err := r.sync(r.ctx, &run, p.force, log, &hooks, nil)
	var cancelled string
	if r.ctx.Err() != nil {
		cancelled = "cancelled: the server shut down before the run ended; its checkpoint is kept"
	}
	log.end(store, &run, err, cancelled)
	if err := r.finish(store, run, hooks); err != nil {
		r.cfg.Logger.Error("finish run", "run", run.ID, "err", err)
	}
	r.cfg.Logger.Info("run finished", "run", run.ID, "integration", run.Integration, "connection", run.Connection,
		"sync", run.Sync, "status", run.Status, "error", run.Error)
}

// end sets how run ended, given the error of its work and, if the run was cancelled, why;
// then logs it and flushes the log.
func (l *runLog) end(store context.Context, run *storage.Run, err error, cancelled string) {
	ended := time.Now().UTC()
	run.EndedAt = &ended
	switch {
	case err == nil:
		run.Status = StatusSucceeded
	case cancelled != "":
		run.Status, run.Error = StatusCancelled, cancelled
	default:
		run.Status, run.Error = StatusFailed, err.Error()
	}
	if run.Error != "" {
		l.add("error", run.Error)
	}
	l.add("info", fmt.Sprintf("run %s in %s", run.Status, ended.Sub(run.StartedAt).Round(time.Millisecond)))
	l.flush(store)
}

// hookInfo is what a run's webhooks need to know of the state before the run.
type hookInfo struct {
	syncType   string            // initial, incremental or full
	cursorFrom map[string]string // per model, the last cursor before the run
	// action makes the run an asynchronous action call's last attempt, whose outcome the
	// app is told with action.completed or action.failed instead of sync events.
	action bool
}

// finish stores the finished run and, in the same transaction, the webhook deliveries that
// tell the app about it (when the app has set a webhook), then wakes the sender.
func (r *Runner) finish(ctx context.Context, run storage.Run, hooks hookInfo) error {
	var deliveries []storage.Delivery
	if hooks.syncType == "" { // the run failed before it knew
		hooks.syncType = webhooks.SyncIncremental
	}
	if _, err := r.cfg.Store.WebhookConfig(ctx); err == nil {
		events := webhooks.Events(run, hooks.syncType, hooks.cursorFrom)
		switch {
		case hooks.action:
			events = []webhooks.Event{webhooks.ActionEvent(run)}
		case run.Kind == storage.KindAction:
			events = nil // the app asked for the action's writes: no news to it
		}
		if deliveries, err = webhooks.Deliveries(events, time.Now().UTC()); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err := r.cfg.Store.FinishRun(ctx, run, deliveries); err != nil {
		return err
	}
	if len(deliveries) > 0 && r.cfg.Webhooks != nil {
		r.cfg.Webhooks.Notify()
	}
	return nil
}

// sync does the work of one run, filling in run.Version and run.Counts, and hooks. httpFor,
// if not nil, gives the run's HTTP access from the proxy bound to the connection (a dry run
// records or replays); a server's runs use the proxy as it is.
func (r *Runner) sync(ctx context.Context, run *storage.Run, force bool, log *runLog, hooks *hookInfo,
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
		HTTP:        &fetcher{client: r.cfg.Proxy, target: target, log: log},
		Log:         log.add,
		Validate:    d.Schemas.Record,
		Batch:       r.cfg.Store.NewSession(0, 0),
	}
	if httpFor != nil {
		call.HTTP = httpFor(call.HTTP)
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
	// Whatever the plugin did, what it queued is saved and what it was told is saved is
	// committed now, before the run reads the store or ends; a failure here is Fatal, checked
	// below.
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
		return fmt.Errorf("run failed on an error the plugin ignored: %w", err)
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

// countsFor lists every model of the sync, changed or not.
func countsFor(models []string, got map[string]records.Counts) map[string]records.Counts {
	out := make(map[string]records.Counts, len(models))
	for _, m := range models {
		out[m] = got[m]
	}
	for m, c := range got {
		out[m] = c
	}
	return out
}

// describeRunError turns a worker's verdict into a message for the run's error.
func describeRunError(err error, d plugins.Deployed) error {
	var trap *runtime.TrapError
	switch {
	case errors.Is(err, runtime.ErrTimeout):
		return fmt.Errorf("run exceeded its time limit of %s (limits.timeout) and was stopped", d.Manifest.Limits.Timeout.Duration)
	case errors.As(err, &trap):
		return fmt.Errorf("plugin crashed: %w", err)
	}
	return err
}

// target binds the proxy to a connection.
func (r *Runner) target(d plugins.Deployed, conn storage.Connection) (*proxy.Target, error) {
	p := d.Manifest.Provider
	base := p.BaseURL
	if conn.BaseURL != "" {
		base = conn.BaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", base, err)
	}
	creds, err := r.cfg.Connections.Credentials(conn)
	if err != nil {
		return nil, err
	}
	t := &proxy.Target{
		Key:          conn.Integration + "/" + conn.ID,
		BaseURL:      u,
		AllowedHosts: p.AllowedHosts,
		Auth:         proxy.Auth{Type: p.Auth.Type, Name: p.Auth.Name},
		Credentials:  creds,
		Timeout:      p.Timeout.Duration,
		Retries:      p.RetryCount(),
		AllowPrivate: p.AllowPrivateNetworks,
	}
	if p.RateLimit != nil {
		t.RatePerSecond, t.Burst = p.RateLimit.PerSecond, p.RateLimit.Burst
	}
	return t, nil
}

// fetcher is a connection's HTTP access for one run, logging every exchange.
type fetcher struct {
	client *proxy.Client
	target *proxy.Target
	log    *runLog
}

func (f *fetcher) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	resp, ex, err := f.client.Do(ctx, f.target, req)
	f.log.http(ex)
	return resp, err
}

// outputLines splits captured output into lines.
func outputLines(b []byte) []string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
