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
	DeleteMissing(ctx context.Context, integration, connection string, seen map[string]map[string]struct{}, maxShare float64, now time.Time, opts ...storage.WriteOption) (map[string]records.Counts, error)
	PutRun(ctx context.Context, r storage.Run) error
	RunsWithStatus(ctx context.Context, statuses ...string) ([]storage.Run, error)
	AppendRunLog(ctx context.Context, runID string, entries []storage.LogEntry) error
	PruneRuns(ctx context.Context, keep int, before time.Time) (int, error)
	LastCursor(ctx context.Context, s storage.Scope) (uint64, error)
	WebhookConfig(ctx context.Context) (storage.WebhookConfig, error)
	FinishRun(ctx context.Context, r storage.Run, deliveries []storage.Delivery) error
	// NewSession groups a sync run's record saves and checkpoints into few transactions.
	NewSession(hold time.Duration, maxBytes int) *storage.Session
}

// Notifier is told when deliveries were queued: the webhook sender.
type Notifier interface{ Notify() }

// Pool runs plugin calls; *runtime.Pool runs them in worker processes. The benchmark's
// native comparison runs Go functions in their place.
type Pool interface {
	Run(ctx context.Context, j runtime.Job) (runtime.Result, error)
}

var _ Pool = (*runtime.Pool)(nil)

// Plugins gives deployed plugins.
type Plugins interface {
	Active(ctx context.Context, integration string) (plugins.Deployed, error)
}

// Config holds a Runner's parts and settings.
type Config struct {
	Store       Store
	Plugins     Plugins
	Connections *connections.Service
	Pool        Pool
	Proxy       *proxy.Client
	Logger      *slog.Logger
	// MaxRuns caps the runs under way at once; runs beyond it wait, in the order they were
	// triggered. Zero means no cap beyond the worker pool's.
	MaxRuns int
	// Webhooks, if set, is notified when a finished run queued webhook deliveries.
	Webhooks Notifier
}

// Runner runs syncs. It is safe for concurrent use.
type Runner struct {
	cfg Config

	ctx    context.Context // ends when the runner gives up on its runs; every run runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// slots holds a token per run under way, when MaxRuns caps them. Goroutines blocked
	// sending to a channel are served in order, so waiting runs start in trigger order.
	slots chan struct{}
	// stopping is closed when the runner stops taking runs.
	stopping chan struct{}
	stopOnce sync.Once

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
	r := &Runner{cfg: cfg, ctx: ctx, cancel: cancel, lanes: make(map[laneKey]*lane), stopping: make(chan struct{})}
	if cfg.MaxRuns > 0 {
		r.slots = make(chan struct{}, cfg.MaxRuns)
	}
	return r
}

// ErrStopping is returned by Trigger once the runner is shutting down.
var ErrStopping = errors.New("the server is shutting down and takes no new runs")

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
		ID: id.String(), Kind: storage.KindSync, Integration: integration, Connection: connection, Sync: sync,
		Version: d.Version.Version, Trigger: opt.Trigger, Full: opt.Full, Status: StatusQueued,
		StartedAt: time.Now().UTC(),
	}}

	key := laneKey{integration, connection, sync}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isStopping() {
		return storage.Run{}, ErrStopping
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

// drain runs p, then whatever queued up behind it in its lane. Once the runner stops taking
// runs, what has not started yet is cancelled instead.
func (r *Runner) drain(key laneKey, p *pending) {
	defer r.wg.Done()
	for p != nil {
		if r.acquire() {
			r.execute(p)
			r.release()
		} else {
			r.cancelQueued(p)
		}
		r.mu.Lock()
		l := r.lanes[key]
		p, l.next = l.next, nil
		if p == nil {
			delete(r.lanes, key)
		}
		r.mu.Unlock()
	}
}

// acquire waits for a run slot; false means the runner stopped first.
func (r *Runner) acquire() bool {
	if r.isStopping() {
		return false
	}
	if r.slots == nil {
		return true
	}
	select {
	case r.slots <- struct{}{}:
		if r.isStopping() {
			<-r.slots
			return false
		}
		return true
	case <-r.stopping:
		return false
	}
}

func (r *Runner) release() {
	if r.slots != nil {
		<-r.slots
	}
}

func (r *Runner) isStopping() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// cancelQueued records that a queued run will not run.
func (r *Runner) cancelQueued(p *pending) {
	now := time.Now().UTC()
	run := p.run
	run.Status, run.Error, run.EndedAt = StatusCancelled, "cancelled: the server shut down before the run started", &now
	if err := r.cfg.Store.PutRun(context.WithoutCancel(r.ctx), run); err != nil {
		r.cfg.Logger.Error("cancel queued run", "run", run.ID, "err", err)
	}
}

// Recover deals with the runs a previous server left queued or running, which a crash or a
// kill interrupted: each is marked failed, with the error "interrupted", and run again. The
// new run resumes from the sync's last checkpoint, which was saved only after the records it
// covers. It is meant for start-up, before the first trigger.
func (r *Runner) Recover(ctx context.Context) error {
	runs, err := r.cfg.Store.RunsWithStatus(ctx, StatusQueued, StatusRunning)
	if err != nil {
		return fmt.Errorf("find interrupted runs: %w", err)
	}
	now := time.Now().UTC()
	rerun := map[laneKey]TriggerOptions{}
	for _, run := range runs {
		const interrupted = "interrupted: the server stopped during the run"
		if run.Kind == storage.KindAction && run.MaxAttempts > 0 && run.Attempts < run.MaxAttempts {
			// An asynchronous action call goes on with its next attempt.
			run.Status, run.Error = StatusQueued, interrupted
			if err := r.cfg.Store.PutRun(ctx, run); err != nil {
				return fmt.Errorf("requeue action call %s: %w", run.ID, err)
			}
			r.retry(run, run.Attempts+1)
			continue
		}
		run.Status, run.Error, run.EndedAt = StatusFailed, interrupted, &now
		if err := r.cfg.Store.PutRun(ctx, run); err != nil {
			return fmt.Errorf("mark run %s interrupted: %w", run.ID, err)
		}
		if run.Kind != "" && run.Kind != storage.KindSync {
			continue // a synchronous action's caller or a provider's webhook retries it
		}
		r.cfg.Logger.Warn("run interrupted by a server stop; running it again", "run", run.ID,
			"integration", run.Integration, "connection", run.Connection, "sync", run.Sync)
		key := laneKey{run.Integration, run.Connection, run.Sync}
		opt := rerun[key]
		opt.Trigger, opt.Full = run.Trigger, opt.Full || run.Full
		rerun[key] = opt
	}
	for key, opt := range rerun {
		if _, err := r.Trigger(ctx, key.integration, key.connection, key.sync, opt); err != nil {
			// The connection or the sync may be gone since; nothing to resume then.
			r.cfg.Logger.Warn("rerun an interrupted run", "integration", key.integration,
				"connection", key.connection, "sync", key.sync, "err", err)
		}
	}
	return nil
}

// Shutdown stops taking runs and cancels those still queued, then waits for the runs under
// way to end. If ctx ends first, the remaining runs are cancelled (their status becomes
// cancelled; their checkpoints, saved after each batch, stay) and Shutdown waits for that.
func (r *Runner) Shutdown(ctx context.Context) {
	// Under r.mu, where Trigger checks r.stopping and adds to r.wg: a run is either added
	// before this (and waited for below) or refused with ErrStopping, never added while
	// r.wg.Wait runs.
	r.mu.Lock()
	r.stopOnce.Do(func() { close(r.stopping) })
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		r.cancel()
		<-done
	}
	r.cancel()
}

// Close is Shutdown without waiting for runs: they are cancelled at once.
func (r *Runner) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Shutdown(ctx)
}

// Prune deletes the runs past the history the runner keeps: beyond the newest keep of each
// sync of each connection, or older than maxAge (zero: any age).
func (r *Runner) Prune(ctx context.Context, keep int, maxAge time.Duration) (int, error) {
	var before time.Time
	if maxAge > 0 {
		before = time.Now().Add(-maxAge)
	}
	return r.cfg.Store.PruneRuns(ctx, keep, before)
}
