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
	err := r.sync(r.ctx, &run, p.force, log, &hooks)
	ended := time.Now().UTC()
	run.EndedAt = &ended
	switch {
	case err == nil:
		run.Status = StatusSucceeded
	case r.ctx.Err() != nil:
		run.Status, run.Error = StatusCancelled, "cancelled: the server shut down before the run ended; its checkpoint is kept"
	default:
		run.Status, run.Error = StatusFailed, err.Error()
	}
	if run.Error != "" {
		log.add("error", run.Error)
	}
	log.add("info", fmt.Sprintf("run %s in %s", run.Status, ended.Sub(run.StartedAt).Round(time.Millisecond)))
	log.flush(store)
	if err := r.finish(store, run, hooks); err != nil {
		r.cfg.Logger.Error("finish run", "run", run.ID, "err", err)
	}
	r.cfg.Logger.Info("run finished", "run", run.ID, "integration", run.Integration, "connection", run.Connection,
		"sync", run.Sync, "status", run.Status, "error", run.Error)
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

// sync does the work of one run, filling in run.Version and run.Counts, and hooks.
func (r *Runner) sync(ctx context.Context, run *storage.Run, force bool, log *runLog, hooks *hookInfo) error {
	return r.syncWith(ctx, run, force, log, hooks, func(f hostfuncs.Fetcher) hostfuncs.Fetcher { return f })
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
