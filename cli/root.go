package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Defaults for the global flags.
const (
	DefaultURL  = "http://127.0.0.1:7400"
	DefaultData = "./.ferry"
)

// globals are the flags every command shares.
type globals struct {
	url  string
	key  string
	data string

	stdin          io.Reader
	stdout, stderr io.Writer
}

// exitError carries a specific exit code (e.g. a failed run under --wait).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Main runs the ferry command with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "ferry:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "Ferry runs sync and action functions compiled to WebAssembly",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.url, "url", envOr("FERRY_URL", DefaultURL), "server address (env FERRY_URL)")
	pf.StringVar(&g.key, "key", os.Getenv("FERRY_SECRET_KEY"), "secret key (env FERRY_SECRET_KEY; default: secret_key in the data dir)")
	pf.StringVar(&g.data, "data", envOr("FERRY_DATA", DefaultData), "data directory (env FERRY_DATA)")

	root.AddCommand(
		newServeCmd(g),
		newWorkerCmd(),
		newDeployCmd(g),
		newIntegrationsCmd(g),
		newConnectionCmd(g),
		newSyncCmd(g),
		newRecordsCmd(g),
		newRunsCmd(g),
		newLogsCmd(g),
		newActionCmd(g),
		newLinksCmd(g),
		newWebhookCmd(g),
		newDryrunCmd(g),
		newInitCmd(g),
		newBenchCmd(g),
	)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
