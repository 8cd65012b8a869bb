package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/internal/gcfloor"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/server"
)

// profileHandler serves net/http/pprof's handlers, on a mux of its own so that they never
// reach the API's.
func profileHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// DefaultAddr is where ferry serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

type serveOptions struct {
	server.Config
	addr string
	// shutdown bounds how long runs may take to end after SIGTERM.
	shutdown time.Duration
	// pprofAddr, if set, serves Go's profiles (net/http/pprof) there.
	pprofAddr string
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
	f.IntVar(&opts.Workers, "workers", max(2, goruntime.NumCPU()), "worker processes, hence plugin calls at once")
	f.IntVar(&opts.MaxRuns, "max-runs", 0, "runs under way at once, the rest wait in order (default: --workers)")
	f.IntVar(&opts.KeepRuns, "keep-runs", 100, "runs kept in the history of each sync of each connection (0: all)")
	f.DurationVar(&opts.KeepRunsFor, "keep-runs-for", 30*24*time.Hour, "how long runs are kept in the history (0: forever)")
	f.StringVar(&opts.pprofAddr, "pprof-addr", "", "serve Go's runtime profiles (/debug/pprof/) on this `HOST:PORT`, apart from the API; keep it on loopback")
	f.DurationVar(&opts.shutdown, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long runs under way may take to finish before they are cancelled")
	return cmd
}

// serverHeapFloor is the heap the server lets grow before it collects garbage, however little
// of it is live (see gcfloor): a sync allocates a few buffers of a page's size per page,
// and collecting every few pages took a tenth of the server's CPU.
const serverHeapFloor = 64 << 20

func serve(ctx context.Context, g *globals, opts serveOptions) error {
	defer gcfloor.Start(serverHeapFloor)()
	logger := slog.New(slog.NewTextHandler(g.stderr, nil))
	workerCmd, err := runtime.WorkerCommand(workerCommand)
	if err != nil {
		return err
	}
	cfg := opts.Config
	cfg.DataDir, cfg.WorkerCommand, cfg.Logger = g.data, workerCmd, logger
	srv, err := server.New(ctx, cfg)
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

	if opts.pprofAddr != "" {
		pln, err := net.Listen("tcp", opts.pprofAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for profiles: %w", opts.pprofAddr, err)
		}
		ps := &http.Server{Handler: profileHandler(), ReadHeaderTimeout: 10 * time.Second}
		go ps.Serve(pln)
		defer ps.Close()
		logger.Info("serving profiles", "url", "http://"+pln.Addr().String()+"/debug/pprof/")
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	srv.Start()
	logger.Info("ferry listening", "url", "http://"+ln.Addr().String(), "data", g.data, "workers", cfg.Workers)
	fmt.Fprintf(g.stdout, "ferry listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: no new runs; waiting for the runs under way", "timeout", opts.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), opts.shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
