package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/spf13/cobra"
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

// DefaultAddr is where ferry serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

type serveOptions struct {
	addr    string
	workers int
	// shutdown bounds how long runs may take to end after SIGTERM.
	shutdown time.Duration
}

func newServeCmd(g *globals) *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: REST API, runner and workers, with embedded storage in the data dir",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.addr, "addr", DefaultAddr, "address to listen on (HOST:PORT)")
	f.IntVar(&opts.workers, "workers", max(2, goruntime.NumCPU()), "worker processes, hence plugin calls at once")
	f.DurationVar(&opts.shutdown, "shutdown-timeout", 30*time.Second, "how long to wait for requests to end on shutdown")
	return cmd
}

func serve(ctx context.Context, g *globals, opts serveOptions) error {
	logger := slog.New(slog.NewTextHandler(g.stderr, nil))
	if err := os.MkdirAll(g.data, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	key, created, err := secrets.LoadOrCreateAPIKey(g.data)
	if err != nil {
		return err
	}
	keyPath, _ := filepath.Abs(filepath.Join(g.data, "secret_key"))
	if created {
		logger.Info("created the secret key; clients send it as a bearer token", "path", keyPath)
	} else {
		logger.Info("using the secret key", "path", keyPath)
	}
	_ = key
	sealer, err := secrets.LoadOrCreateSealer(g.data)
	if err != nil {
		return err
	}
	db, err := storage.Open(filepath.Join(g.data, "ferry.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	cacheDir := filepath.Join(g.data, "cache")
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return fmt.Errorf("open compilation cache: %w", err)
	}
	defer cache.Close(context.Background())
	registry, err := plugins.NewRegistry(ctx, db, filepath.Join(g.data, "modules"), cache)
	if err != nil {
		return err
	}
	defer registry.Close(context.Background())

	workerCmd, err := runtime.WorkerCommand(workerCommand, "--cache", cacheDir)
	if err != nil {
		return err
	}
	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: opts.workers, Command: workerCmd, Logger: logger})
	if err != nil {
		return err
	}
	defer pool.Close()

	conns := connections.NewService(db, sealer, registry)
	runner := syncs.NewRunner(syncs.Config{
		Store: db, Plugins: registry, Connections: conns, Pool: pool, Proxy: proxy.New(), Logger: logger,
	})
	if err := runner.Recover(ctx); err != nil {
		return err
	}
	defer runner.Close()

	handler := api.New(api.Config{
		APIKey: key, Store: db, Plugins: registry, Connections: conns, Runner: runner, Logger: logger,
	})
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("ferry listening", "url", "http://"+ln.Addr().String(), "data", g.data, "workers", opts.workers)
	fmt.Fprintf(g.stdout, "ferry listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), opts.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}
