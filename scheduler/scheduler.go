package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// Store is what the scheduler reads and plans in the store.
type Store interface {
	Connections(ctx context.Context, integration string) ([]storage.Connection, error)
	SyncStates(ctx context.Context, integration, connection string) (map[string]storage.SyncState, error)
	UpdateSyncState(ctx context.Context, integration, connection, sync string, change func(*storage.SyncState)) error
}

// Plugins gives the active version of an integration.
type Plugins interface {
	Active(ctx context.Context, integration string) (plugins.Deployed, error)
}

// Runner starts runs.
type Runner interface {
	Trigger(ctx context.Context, integration, connection, sync string, opt syncs.TriggerOptions) (storage.Run, error)
}

// Config configures a Scheduler.
type Config struct {
	Store   Store
	Plugins Plugins
	Runner  Runner
	Logger  *slog.Logger
	// Tick is how often the schedule is checked; DefaultTick if zero.
	Tick time.Duration
}

// DefaultTick is how often the scheduler looks for due syncs.
const DefaultTick = 250 * time.Millisecond

// firstRunSpread bounds the delay of a newly scheduled sync's first run.
const firstRunSpread = 5 * time.Second

// Scheduler triggers syncs that are due. Run it with Run.
type Scheduler struct {
	cfg Config
}

// New returns a Scheduler.
func New(cfg Config) *Scheduler {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg}
}

// Run checks the schedule every tick until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.Tick)
	defer ticker.Stop()
	for {
		if err := s.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Tick triggers every scheduled sync whose next run time has come, and plans the next run of
// every scheduled sync that has none. A sync's first run is spread over a few seconds; each
// next run is one frequency after the run was due, plus up to 5% jitter.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	conns, err := s.cfg.Store.Connections(ctx, "")
	if err != nil {
		return err
	}
	active := map[string]*plugins.Manifest{}
	var errs []error
	for _, conn := range conns {
		m, ok := active[conn.Integration]
		if !ok {
			d, err := s.cfg.Plugins.Active(ctx, conn.Integration)
			if err != nil {
				errs = append(errs, err)
			}
			m = d.Manifest // nil on error: the integration's connections are skipped
			active[conn.Integration] = m
		}
		if m == nil {
			continue
		}
		states, err := s.cfg.Store.SyncStates(ctx, conn.Integration, conn.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for name, def := range m.Syncs {
			st := states[name]
			if !st.Scheduled(def.AutoStart) {
				continue
			}
			if err := s.consider(ctx, now, conn, name, def, st); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) consider(ctx context.Context, now time.Time, conn storage.Connection, name string, def plugins.Sync, st storage.SyncState) error {
	freq := def.Frequency.Duration
	var next time.Time
	switch {
	case st.NextRunAt.IsZero():
		next = now.Add(jitter(min(freq, firstRunSpread)))
	case now.Before(st.NextRunAt):
		return nil
	default:
		if _, err := s.cfg.Runner.Trigger(ctx, conn.Integration, conn.ID, name, syncs.TriggerOptions{Trigger: syncs.TriggerSchedule}); err != nil {
			if errors.Is(err, syncs.ErrStopping) {
				return nil // the server is shutting down; the next one picks the run up
			}
			return err
		}
		// The next run is planned from when this one was due, not from now, so runs do not
		// drift; a server that was down long plans one run, not one per missed period.
		next = st.NextRunAt.Add(freq + jitter(freq/20))
		if next.Before(now) {
			next = now.Add(freq + jitter(freq/20))
		}
	}
	return s.cfg.Store.UpdateSyncState(ctx, conn.Integration, conn.ID, name, func(st *storage.SyncState) { st.NextRunAt = next })
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
