package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/runtime"
)

// workerCommand is the hidden subcommand `ferry serve` starts its workers with.
const workerCommand = "worker"

func newWorkerCmd() *cobra.Command {
	var opts runtime.WorkerOptions
	cmd := &cobra.Command{
		Use:    workerCommand,
		Short:  "Run plugin calls for a server (started by ferry serve; speaks on stdin and stdout)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runtime.ServeWorker(cmd.Context(), os.Stdin, os.Stdout, opts)
		},
	}
	cmd.Flags().StringVar(&opts.CacheDir, "cache", "", "compilation cache directory")
	return cmd
}
