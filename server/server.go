package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/scheduler"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
	"github.com/ferrysync/ferry/webhooks"
)

// Files and directories in the data directory.
const (
	DatabaseFile = "ferry.db"
	CacheDir     = "cache"   // wazero's compilation cache
	ModulesDir   = "modules" // deployed modules, by SHA-256
)

// Config configures a Server.
type Config struct {
	// DataDir holds everything the server keeps; created (mode 0700) if missing.
	DataDir string
	// CacheDir holds compiled modules; DataDir/cache if empty.
	CacheDir string
	// Workers is the number of worker processes.
	Workers int
	// WorkerCommand starts a worker; the cache directory is passed to it as "--cache DIR".
	WorkerCommand []string
	// Pool, if set, runs plugin calls instead of worker processes started with
	// WorkerCommand: the benchmark runs native Go functions through it.
	Pool syncs.Pool
	// MaxModuleSize bounds an uploaded module; plugins.DefaultMaxModuleSize if zero.
	MaxModuleSize int64
	// MaxRuns caps the runs under way at once (Workers if zero); the rest wait in order.
	MaxRuns int
	// KeepRuns and KeepRunsFor bound the run history kept per sync of each connection:
	// at most KeepRuns runs (0: no count limit), none older than KeepRunsFor (0: any age).
	KeepRuns    int
	KeepRunsFor time.Duration
	// SchedulerTick is how often the scheduler looks for due syncs (scheduler.DefaultTick if
	// zero).
	SchedulerTick time.Duration
	Logger        *slog.Logger
}

// pruneEvery is how often the run history is pruned.
const pruneEvery = time.Hour

// Server is a Ferry server's parts, wired together.
type Server struct {
	// APIKey is the secret clients send; KeyCreated tells whether this start created it.
	APIKey      string
	KeyCreated  bool
	DB          *storage.DB
	Registry    *plugins.Registry
	Connections *connections.Service
	Runner      *syncs.Runner

	cfg       Config
	scheduler *scheduler.Scheduler
	sender    *webhooks.Sender
	handler   http.Handler
	closers   []func() error
	// stop ends the background loops Start began; loops is done when they have.
	stop  context.CancelFunc
	loops sync.WaitGroup
}

// New opens the data directory and starts the workers and the runner. Runs a previous server
// left unfinished are marked failed. Close releases it all.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s = &Server{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if s.APIKey, s.KeyCreated, err = secrets.LoadOrCreateAPIKey(cfg.DataDir); err != nil {
		return nil, err
	}
	sealer, err := secrets.LoadOrCreateSealer(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if s.DB, err = storage.Open(filepath.Join(cfg.DataDir, DatabaseFile)); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.DB.Close)

	cacheDir := cfg.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.DataDir, CacheDir)
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("open compilation cache: %w", err)
	}
	s.closers = append(s.closers, func() error { return cache.Close(context.Background()) })
	if s.Registry, err = plugins.NewRegistry(ctx, s.DB, filepath.Join(cfg.DataDir, ModulesDir), cache); err != nil {
		return nil, err
	}
	s.Registry.MaxModuleSize = cfg.MaxModuleSize
	s.closers = append(s.closers, func() error { return s.Registry.Close(context.Background()) })

	pool := cfg.Pool
	if pool == nil {
		if len(cfg.WorkerCommand) == 0 {
			return nil, errors.New("no worker command")
		}
		cmd := append(append([]string(nil), cfg.WorkerCommand...), "--cache", cacheDir)
		preload, err := s.activeModules(ctx)
		if err != nil {
			return nil, err
		}
		workers, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: cfg.Workers, Command: cmd, Logger: cfg.Logger, Preload: preload})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, workers.Close)
		pool = workers
	}

	s.Connections = connections.NewService(s.DB, sealer, s.Registry)
	conns := s.Connections
	s.sender = webhooks.NewSender(s.DB, sealer, cfg.Logger)
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = max(cfg.Workers, 1)
	}
	s.Runner = syncs.NewRunner(syncs.Config{
		Store: s.DB, Plugins: s.Registry, Connections: conns, Pool: pool, Proxy: proxy.New(), Logger: cfg.Logger,
		MaxRuns: cfg.MaxRuns, Webhooks: s.sender,
	})
	if err := s.Runner.Recover(ctx); err != nil {
		return nil, err
	}
	s.scheduler = scheduler.New(scheduler.Config{
		Store: s.DB, Plugins: s.Registry, Runner: s.Runner, Logger: cfg.Logger, Tick: cfg.SchedulerTick,
	})
	var maxUpload int64
	if cfg.MaxModuleSize > 0 {
		maxUpload = cfg.MaxModuleSize + 1<<20
	}
	s.handler = api.New(api.Config{
		APIKey: s.APIKey, Store: s.DB, Plugins: s.Registry, Connections: conns, Runner: s.Runner,
		Sealer: sealer, Logger: cfg.Logger, MaxUpload: maxUpload,
	})
	return s, nil
}

// activeModules lists the active version's module of every integration (at most
// runtime.MaxPreload), for the workers to compile as they start: the first run after a restart then starts as
// quickly as any.
func (s *Server) activeModules(ctx context.Context) ([]runtime.Job, error) {
	ints, err := s.DB.Integrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	var jobs []runtime.Job
	for _, in := range ints {
		if len(jobs) == runtime.MaxPreload {
			break
		}
		d, err := s.Registry.Active(ctx, in.ID)
		if err != nil {
			s.cfg.Logger.Warn("load integration", "integration", in.ID, "err", err)
			continue
		}
		jobs = append(jobs, runtime.Job{ModulePath: d.ModulePath, ModuleID: d.Version.WasmSHA256,
			MemoryMB: d.Manifest.Limits.MemoryMB, ABI: string(d.ABI)})
	}
	return jobs, nil
}

// Handler is the REST API.
func (s *Server) Handler() http.Handler { return s.handler }

// Start begins the server's background work: the scheduler, the webhook sender (which first
// sends what a previous server left pending) and the pruning of the run history. Shutdown or
// Close ends it.
func (s *Server) Start() {
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.loops.Add(3)
	go func() {
		defer s.loops.Done()
		s.sender.Run(ctx)
	}()
	go func() {
		defer s.loops.Done()
		s.scheduler.Run(ctx)
	}()
	go func() {
		defer s.loops.Done()
		s.prune(ctx)
	}()
}

// prune keeps the run history within its bounds, now and every pruneEvery.
func (s *Server) prune(ctx context.Context) {
	if s.cfg.KeepRuns <= 0 && s.cfg.KeepRunsFor <= 0 {
		return
	}
	for {
		n, err := s.Runner.Prune(ctx, s.cfg.KeepRuns, s.cfg.KeepRunsFor)
		if err != nil {
			s.cfg.Logger.Error("prune run history", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Info("pruned run history", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pruneEvery):
		}
	}
}

// Shutdown stops the scheduler and takes no new runs, lets the runs under way finish until
// ctx ends, cancels those left (their checkpoints stay), then stops the webhook sender (what
// it has not delivered stays queued for the next start) and closes the workers and the store.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.Runner != nil {
		s.Runner.Shutdown(ctx)
	}
	if s.stop != nil {
		s.stop()
		s.loops.Wait()
	}
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Close is Shutdown without waiting: runs under way are cancelled at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}
