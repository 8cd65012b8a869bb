package syncs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/storage"
)

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Triggers, as a run records what started it.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"
)

// ErrUnknownSync is wrapped when a trigger names a sync the integration does not have.
var ErrUnknownSync = errors.New("no such sync")

// Store is what the runner needs from the store.
type Store interface {
	hostfuncs.Store
	Connection(ctx context.Context, integration, id string) (storage.Connection, error)
	SyncState(ctx context.Context, integration, connection, sync string) (storage.SyncState, error)
	DeleteMissing(ctx context.Context, integration, connection string, seen map[string]map[string]struct{}, maxShare float64, now time.Time) (map[string]records.Counts, error)
	PutRun(ctx context.Context, r storage.Run) error
	RunsWithStatus(ctx context.Context, statuses ...string) ([]storage.Run, error)
	AppendRunLog(ctx context.Context, runID string, entries []storage.LogEntry) error
}

// Plugins gives deployed plugins.
type Plugins interface {
	Active(ctx context.Context, integration string) (plugins.Deployed, error)
}

// Config holds a Runner's parts.
type Config struct {
	Store       Store
	Plugins     Plugins
	Connections *connections.Service
	Pool        *runtime.Pool
	Proxy       *proxy.Client
	Logger      *slog.Logger
}

// Runner runs syncs. It is safe for concurrent use.
type Runner struct {
	cfg Config

	ctx    context.Context // ends when the runner closes; every run runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	lanes map[laneKey]*lane
}

// laneKey identifies a sync of a connection, whose runs go one after another.
type laneKey struct{ integration, connection, sync string }

// lane is the queue of one sync of one connection: the run under way, and at most one more.
type lane struct {
	busy bool
	next *pending
}

// pending is a run waiting for its lane.
type pending struct {
	run   storage.Run
	force bool
}

// NewRunner returns a Runner.
func NewRunner(cfg Config) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{cfg: cfg, ctx: ctx, cancel: cancel, lanes: make(map[laneKey]*lane)}
}

// TriggerOptions say how to run.
type TriggerOptions struct {
	// Trigger records what started the run: TriggerManual, TriggerSchedule or TriggerWebhook.
	Trigger string
	// Full asks for a full resync: the checkpoint is cleared first, and records the run does
	// not save are deleted at its end, as for a full sync.
	Full bool
	// Force lets a full run delete more than its sync's delete threshold.
	Force bool
}

// Trigger starts a run of sync for a connection, or queues it behind the run under way. At most
// one run waits per sync and connection: a trigger while one already waits returns that one
// (made a full resync if this trigger asks for it). The returned run is queued or running.
func (r *Runner) Trigger(ctx context.Context, integration, connection, sync string, opt TriggerOptions) (storage.Run, error) {
	d, err := r.cfg.Plugins.Active(ctx, integration)
	if err != nil {
		return storage.Run{}, fmt.Errorf("integration %s: %w", integration, err)
	}
	if _, ok := d.Manifest.Syncs[sync]; !ok {
		return storage.Run{}, fmt.Errorf("%w %q in %s version %d (it has %v)", ErrUnknownSync, sync, integration, d.Version.Version, d.Manifest.SyncNames())
	}
	if _, err := r.cfg.Store.Connection(ctx, integration, connection); err != nil {
		return storage.Run{}, err
	}
	if opt.Trigger == "" {
		opt.Trigger = TriggerManual
	}
	id, err := uuid.NewV7()
	if err != nil {
		return storage.Run{}, err
	}
	p := &pending{force: opt.Force, run: storage.Run{
		ID: id.String(), Integration: integration, Connection: connection, Sync: sync,
		Version: d.Version.Version, Trigger: opt.Trigger, Full: opt.Full, Status: StatusQueued,
		StartedAt: time.Now().UTC(),
	}}

	key := laneKey{integration, connection, sync}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return storage.Run{}, errors.New("the runner is shutting down")
	}
	l := r.lanes[key]
	if l == nil {
		l = &lane{}
		r.lanes[key] = l
	}
	if l.next != nil {
		if (opt.Full && !l.next.run.Full) || (opt.Force && !l.next.force) {
			l.next.run.Full = l.next.run.Full || opt.Full
			l.next.force = l.next.force || opt.Force
			if err := r.cfg.Store.PutRun(ctx, l.next.run); err != nil {
				return storage.Run{}, err
			}
		}
		return l.next.run, nil
	}
	if err := r.cfg.Store.PutRun(ctx, p.run); err != nil {
		return storage.Run{}, err
	}
	if l.busy {
		l.next = p
		return p.run, nil
	}
	l.busy = true
	r.wg.Add(1)
	go r.drain(key, p)
	return p.run, nil
}

// drain runs p, then whatever queued up behind it in its lane.
func (r *Runner) drain(key laneKey, p *pending) {
	defer r.wg.Done()
	for p != nil {
		r.execute(p)
		r.mu.Lock()
		l := r.lanes[key]
		p, l.next = l.next, nil
		if p == nil {
			delete(r.lanes, key)
		}
		r.mu.Unlock()
	}
}

// Recover marks the runs a previous server left queued or running as failed: their worker is
// gone. It is meant for start-up, before the first trigger.
func (r *Runner) Recover(ctx context.Context) error {
	runs, err := r.cfg.Store.RunsWithStatus(ctx, StatusQueued, StatusRunning)
	if err != nil {
		return fmt.Errorf("find interrupted runs: %w", err)
	}
	now := time.Now().UTC()
	for _, run := range runs {
		run.Status, run.Error, run.EndedAt = StatusFailed, "interrupted: the server stopped during the run", &now
		if err := r.cfg.Store.PutRun(ctx, run); err != nil {
			return fmt.Errorf("mark run %s interrupted: %w", run.ID, err)
		}
		r.cfg.Logger.Warn("run interrupted by a server stop", "run", run.ID, "integration", run.Integration,
			"connection", run.Connection, "sync", run.Sync)
	}
	return nil
}

// Close cancels the runs under way and waits for them to end as cancelled.
func (r *Runner) Close() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}
