package benchmark

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
)

// Config says what to measure and with what.
type Config struct {
	// Ferry is the ferry binary: the server under test and its workers.
	Ferry string
	// Root is the repository's root, where `make build` has built the example plugins and the
	// benchmark's own plugins.
	Root string
	// Records is the number of contacts the sync benchmarks sync (100,000 by default).
	Records int
	// LargeRecords is the larger sync whose peak memory shows that memory does not grow with
	// the record count (500,000 by default; negative skips it).
	LargeRecords int
	// IdleConnections and IdleFor size the idle benchmark: that many connections scheduled
	// every minute, measured after that long (1,000 and 5 minutes by default; a negative
	// IdleFor skips it).
	IdleConnections int
	IdleFor         time.Duration
	// Runs is the number of repetitions of each figure, whose median is reported (3 by
	// default).
	Runs int
	// Only limits the benchmark to the figures with these keys or groups (see Groups); empty
	// measures everything.
	Only []string
	// Progress, if set, receives a line per measurement.
	Progress io.Writer
	// ServerPprof, if set, has the server under test serve its profiles (net/http/pprof) at
	// this address, to profile it while the benchmark runs.
	ServerPprof string
	// ProviderLatency, if set, delays each of the example provider's answers by this long,
	// as a provider across a network would: the targets are for loopback (zero), and this
	// shows what overlapping the round trips (the pagers' prefetch) gains elsewhere.
	ProviderLatency time.Duration
}

// providerToken is the example provider's bearer token in the benchmark.
const providerToken = "bench-token"

// bench is one benchmark run: its provider, its server and what it measured so far.
type bench struct {
	cfg      Config
	provider string // the example provider's base URL
	srv      *ferryServer
	tmp      string
	report   *Report
	seq      int // numbers connections, so each measurement starts from nothing
}

// Run measures the figures cfg asks for and returns them.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Records <= 0 {
		cfg.Records = 100_000
	}
	if cfg.LargeRecords == 0 {
		cfg.LargeRecords = 500_000
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 3
	}
	if cfg.IdleConnections <= 0 {
		cfg.IdleConnections = 1000
	}
	if cfg.IdleFor == 0 {
		cfg.IdleFor = 5 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	for _, k := range cfg.Only {
		if !slices.ContainsFunc(specs, func(s spec) bool { return s.key == k || s.group == k }) {
			return nil, fmt.Errorf("unknown figure or group %q (see ferry bench --help)", k)
		}
	}
	tmp, err := os.MkdirTemp("", "ferry-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	b := &bench{cfg: cfg, tmp: tmp, report: &Report{Records: cfg.Records, Runs: cfg.Runs}}

	stopProvider, url, err := serveProvider(cfg.Records, cfg.ProviderLatency)
	if err != nil {
		return nil, err
	}
	defer stopProvider()
	b.provider = url
	if b.srv, err = startServer(ctx, cfg.Ferry, filepath.Join(tmp, "data"), 2, cfg.ServerPprof); err != nil {
		return nil, err
	}
	defer b.srv.stop()

	for _, g := range groups {
		if !b.wants(g.name) {
			continue
		}
		b.progress("%s…", g.name)
		if err := g.run(ctx, b); err != nil {
			return b.report, fmt.Errorf("%s: %w\nserver log (last lines):\n%s", g.name, err, b.srv.logs)
		}
	}
	return b.report, nil
}

// group is a set of figures measured together.
type group struct {
	name string
	run  func(ctx context.Context, b *bench) error
}

// wants tells whether any figure of group g is asked for.
func (b *bench) wants(g string) bool {
	if len(b.cfg.Only) == 0 {
		return true
	}
	for _, s := range specs {
		if s.group == g && (slices.Contains(b.cfg.Only, s.key) || slices.Contains(b.cfg.Only, g)) {
			return true
		}
	}
	return false
}

// wantsKey tells whether figure key is asked for.
func (b *bench) wantsKey(key string) bool {
	if len(b.cfg.Only) == 0 || slices.Contains(b.cfg.Only, key) {
		return true
	}
	i := slices.IndexFunc(specs, func(s spec) bool { return s.key == key })
	return i >= 0 && slices.Contains(b.cfg.Only, specs[i].group)
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.cfg.Progress, format+"\n", args...)
}

// connection returns a new connection id.
func (b *bench) connection() string {
	b.seq++
	return fmt.Sprintf("bench-%d", b.seq)
}

// serveProvider starts the example provider on loopback with n contacts, answering each
// request after latency.
func serveProvider(n int, latency time.Duration) (stop func(), url string, err error) {
	var h http.Handler = crm.New(crm.Options{Token: providerToken, Contacts: n, Companies: 100, Seed: 1})
	if latency > 0 {
		provider := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency)
			provider.ServeHTTP(w, r)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return func() { hs.Close() }, "http://" + ln.Addr().String(), nil
}

// median returns the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile returns the p-th percentile (0 < p <= 100) of xs, nearest rank.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// groups are the measurements, in the order they run.
var groups = []group{
	{"ingest", ingest},
	{"guest", guest},
	{"start", start},
	{"runaway", runaway},
	{"read", read},
	{"large", large},
	{"idle", idle},
}
