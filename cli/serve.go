package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/server"
)

// DefaultAddr is where ferry serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

type serveOptions struct {
	addr    string
	workers int
	// shutdown bounds how long requests may take to end after SIGTERM.
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
	workerCmd, err := runtime.WorkerCommand(workerCommand)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{DataDir: g.data, Workers: opts.workers, WorkerCommand: workerCmd, Logger: logger})
	if err != nil {
		return err
	}
	defer srv.Close()
	keyPath, _ := filepath.Abs(filepath.Join(g.data, secrets.APIKeyFile))
	if srv.KeyCreated {
		logger.Info("created the secret key; clients send it as a bearer token", "path", keyPath)
	} else {
		logger.Info("using the secret key", "path", keyPath)
	}

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
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
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}
