package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
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
	// MaxModuleSize bounds an uploaded module; plugins.DefaultMaxModuleSize if zero.
	MaxModuleSize int64
	Logger        *slog.Logger
}

// Server is a Ferry server's parts, wired together.
type Server struct {
	// APIKey is the secret clients send; KeyCreated tells whether this start created it.
	APIKey     string
	KeyCreated bool
	DB         *storage.DB
	Registry   *plugins.Registry
	Runner     *syncs.Runner

	handler http.Handler
	closers []func() error
}

// New opens the data directory and starts the workers and the runner. Runs a previous server
// left unfinished are marked failed. Close releases it all.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s = &Server{}
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

	if len(cfg.WorkerCommand) == 0 {
		return nil, errors.New("no worker command")
	}
	cmd := append(append([]string(nil), cfg.WorkerCommand...), "--cache", cacheDir)
	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: cfg.Workers, Command: cmd, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, pool.Close)

	conns := connections.NewService(s.DB, sealer, s.Registry)
	s.Runner = syncs.NewRunner(syncs.Config{
		Store: s.DB, Plugins: s.Registry, Connections: conns, Pool: pool, Proxy: proxy.New(), Logger: cfg.Logger,
	})
	s.closers = append(s.closers, func() error { s.Runner.Close(); return nil })
	if err := s.Runner.Recover(ctx); err != nil {
		return nil, err
	}
	var maxUpload int64
	if cfg.MaxModuleSize > 0 {
		maxUpload = cfg.MaxModuleSize + 1<<20
	}
	s.handler = api.New(api.Config{
		APIKey: s.APIKey, Store: s.DB, Plugins: s.Registry, Connections: conns, Runner: s.Runner,
		Logger: cfg.Logger, MaxUpload: maxUpload,
	})
	return s, nil
}

// Handler is the REST API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the runs under way (they end as cancelled), the workers and the store, in that
// order.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}
