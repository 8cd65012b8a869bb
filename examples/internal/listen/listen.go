// Package listen holds what the example commands (the provider and the receiver) share: serving
// a handler on loopback until a signal, announcing the address for scripts, and the exit codes
// of a command line.
package listen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ErrUsage marks a bad command line; Main then exits with status 2.
var ErrUsage = errors.New("usage")

// Main runs a command until SIGINT or SIGTERM and exits as a command should: 0 on success or
// -h, 2 on an ErrUsage, 1 on any other error, which it prints after the command's name.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, ErrUsage):
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Serve serves h on addr until ctx is done, then shuts down, letting requests in flight finish
// for up to five seconds. Once it listens it prints exactly one line to stdout, "NAME
// listening on http://ADDR" with the real port when addr asks for port 0: scripts and tests
// wait for that line. The server's own errors go to log.
func Serve(ctx context.Context, name, addr string, h http.Handler, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "%s listening on http://%s\n", name, ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
