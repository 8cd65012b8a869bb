package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ferrysync/ferry/benchmark"
	"github.com/ferrysync/ferry/internal/gcfloor"
)

func newBenchCmd(g *globals) *cobra.Command {
	var (
		cfg        benchmark.Config
		only       string
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Ferry end to end against the example provider and print the figures as JSON",
		Long: `Bench starts the example provider on loopback and a ferry server on a fresh data directory,
runs the example plugins' syncs, reads the records back and measures start-up, host calls
and memory. It prints one JSON object to stdout and, on a terminal, a table with the targets
to stderr. Every figure is the median of --runs repetitions. The example plugins and the
benchmark plugins must be built first (make build). docs/benchmarks.md describes each figure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.Ferry = exe
			if only != "" {
				cfg.Only = strings.Split(only, ",")
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			tty := isTerminal(g.stderr)
			if tty {
				cfg.Progress = g.stderr
			}
			// The native comparison's server runs in this process: it collects garbage as
			// ferry serve does.
			defer gcfloor.Start(serverHeapFloor)()
			report, err := benchmark.Run(cmd.Context(), cfg)
			if report != nil && tty {
				report.WriteTable(g.stderr)
			}
			if err != nil {
				return err
			}
			out, err := json.Marshal(report)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Root, "root", ".", "the repository's root, where make build built the plugins")
	f.IntVar(&cfg.Records, "records", 100_000, "contacts each sync benchmark syncs")
	f.IntVar(&cfg.LargeRecords, "large-records", 500_000, "contacts of the sync whose peak memory is compared (negative: skip)")
	f.IntVar(&cfg.IdleConnections, "idle-connections", 1000, "connections of the idle-memory figure, each scheduled every minute")
	f.DurationVar(&cfg.IdleFor, "idle-for", 5*time.Minute, "how long the idle connections run before their memory is measured (negative: skip)")
	f.IntVar(&cfg.Runs, "runs", 3, "repetitions of each figure; the median is reported")
	f.StringVar(&only, "only", "", "comma-separated figures or groups to measure (ingest, guest, start, runaway, read, large, idle)")
	f.DurationVar(&cfg.ProviderLatency, "provider-latency", 0, "delay each answer of the example provider by this long, as across a network (the targets are for loopback)")
	f.StringVar(&cfg.ServerPprof, "server-pprof", "", "have the server under test serve its profiles on `HOST:PORT` (see ferry serve --pprof-addr)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the provider and the native comparison) to `FILE`")
	return cmd
}

// isTerminal tells whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
