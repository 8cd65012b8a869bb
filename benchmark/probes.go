package benchmark

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// probeManifest deploys the benchmark's probe plugin (benchmark/plugin), whose syncs do next
// to nothing: what is timed is around them. %s are the integration and the call timeout.
const probeManifest = `integration: %s
wasm: plugin.wasm
provider:
  base_url: http://127.0.0.1:1
  auth: {type: none}
  allow_private_networks: true
syncs:
  first-call: {export: first_call, models: [Item], type: incremental, frequency: 1h, auto_start: false}
  host-calls: {export: host_calls, models: [Item], type: incremental, frequency: 1h, auto_start: false}
  runaway: {export: runaway, models: [Item], type: incremental, frequency: 1h, auto_start: false}
  guest-only: {export: guest_only, models: [Item], type: incremental, frequency: 1h, auto_start: false}
  idle: {export: idle, models: [Item], type: incremental, frequency: 1m, auto_start: true}
models:
  Item: {}
limits: {memory_mb: 64, timeout: %s}
`

// probeModule is the probe plugin's module, under the repository's root.
const probeModule = "benchmark/plugin/plugin.wasm"

// hostCallsPerRun is how many host calls the host_calls sync makes, enough for the call's own
// start to vanish in the average.
const hostCallsPerRun = 20_000

func (b *bench) deployProbe(ctx context.Context, srv *ferryServer, integration, timeout string) error {
	manifest := fmt.Appendf(nil, probeManifest, integration, timeout)
	if err := srv.deploy(ctx, manifest, filepath.Join(b.cfg.Root, probeModule)); err != nil {
		return fmt.Errorf("deploy the probe plugin: %w", err)
	}
	return nil
}

var (
	instanceLine = regexp.MustCompile(`^plugin instance made in ([0-9.]+) ms`)
	hostCallLine = regexp.MustCompile(`^\{"host_call_ns":([0-9]+)\}$`)
	guestLine    = regexp.MustCompile(`^\{"guest_records_per_s":([0-9]+)\}$`)
)

// probeRun is what a probe run's log tells.
type probeRun struct {
	firstCall   time.Time     // when the plugin first reached the host
	instantiate time.Duration // how long making its instance took
	hostCall    time.Duration // one host call, for the host-calls sync
	guestRate   float64       // records decoded and encoded a second, for the guest-only sync
}

// runProbe triggers a probe sync, waits for its run to end and reads its log.
func runProbe(ctx context.Context, srv *ferryServer, integration, conn, sync string) (probeRun, time.Time, error) {
	start := time.Now()
	id, err := srv.trigger(ctx, integration, conn, sync, false)
	if err != nil {
		return probeRun{}, start, err
	}
	if _, err := srv.wait(ctx, id, sync != "runaway"); err != nil {
		return probeRun{}, start, err
	}
	entries, err := srv.runLog(ctx, id)
	if err != nil {
		return probeRun{}, start, err
	}
	var p probeRun
	for _, e := range entries {
		switch {
		case e.Message == "probe" && p.firstCall.IsZero():
			p.firstCall = e.Time
		case instanceLine.MatchString(e.Message):
			ms, _ := strconv.ParseFloat(instanceLine.FindStringSubmatch(e.Message)[1], 64)
			p.instantiate = time.Duration(ms * float64(time.Millisecond))
		case guestLine.MatchString(e.Message):
			p.guestRate, _ = strconv.ParseFloat(guestLine.FindStringSubmatch(e.Message)[1], 64)
		case hostCallLine.MatchString(e.Message):
			ns, _ := strconv.ParseInt(hostCallLine.FindStringSubmatch(e.Message)[1], 10, 64)
			p.hostCall = time.Duration(ns)
		}
	}
	return p, start, nil
}

// start measures instance creation and host calls in warm workers, then the cold start
// after server restarts.
func start(ctx context.Context, b *bench) error {
	const integration, conn = "bench-probe", "probe"
	if err := b.deployProbe(ctx, b.srv, integration, "1m"); err != nil {
		return err
	}
	if err := b.srv.putProbeConnection(ctx, integration, conn, map[string]int{"calls": hostCallsPerRun}); err != nil {
		return err
	}
	// Warm both workers first: every worker compiles the module once.
	for range 4 {
		if _, _, err := runProbe(ctx, b.srv, integration, conn, "first-call"); err != nil {
			return err
		}
	}
	var inst, calls, cold []float64
	for range max(b.cfg.Runs, 5) {
		p, _, err := runProbe(ctx, b.srv, integration, conn, "first-call")
		if err != nil {
			return err
		}
		inst = append(inst, ms(p.instantiate))
		if p, _, err = runProbe(ctx, b.srv, integration, conn, "host-calls"); err != nil {
			return err
		}
		if p.hostCall == 0 {
			return fmt.Errorf("the host-calls run logged no time")
		}
		calls = append(calls, float64(p.hostCall.Nanoseconds())/1000)
	}
	b.report.set("instantiate_ms", median(inst))
	b.report.set("host_call_us", median(calls))
	for range b.cfg.Runs {
		if err := b.srv.restart(ctx); err != nil {
			return err
		}
		p, trigger, err := runProbe(ctx, b.srv, integration, conn, "first-call")
		if err != nil {
			return err
		}
		if p.firstCall.IsZero() {
			return fmt.Errorf("the first-call run logged no probe line")
		}
		cold = append(cold, ms(p.firstCall.Sub(trigger)))
	}
	b.report.set("cold_start_ms", median(cold))
	b.progress("  instantiate %v ms, host call %v µs, cold start %v ms", inst, calls, cold)
	return nil
}

// runaway measures how long a runaway guest costs past its deadline: from the deadline (its
// first host call plus the one-second timeout) to a fresh worker running the next call, on a
// server of its own with a single worker, so the next call must wait for the replacement.
func runaway(ctx context.Context, b *bench) error {
	srv, err := startServer(ctx, b.cfg.Ferry, filepath.Join(b.tmp, "runaway"), 1, "")
	if err != nil {
		return err
	}
	defer srv.stop()
	const integration, conn = "bench-runaway", "probe"
	if err := b.deployProbe(ctx, srv, integration, "1s"); err != nil {
		return err
	}
	if err := srv.putProbeConnection(ctx, integration, conn, map[string]int{}); err != nil {
		return err
	}
	if _, _, err := runProbe(ctx, srv, integration, conn, "first-call"); err != nil { // compile
		return err
	}
	var stops []float64
	for range b.cfg.Runs {
		p, _, err := runProbe(ctx, srv, integration, conn, "runaway")
		if err != nil {
			return err
		}
		if p.firstCall.IsZero() {
			return fmt.Errorf("the runaway run logged no probe line")
		}
		next, _, err := runProbe(ctx, srv, integration, conn, "first-call")
		if err != nil {
			return err
		}
		deadline := p.firstCall.Add(time.Second)
		ready := next.firstCall.Add(-next.instantiate)
		stops = append(stops, ms(ready.Sub(deadline)))
	}
	b.report.set("runaway_stop_ms", median(stops))
	b.progress("  runaway stops %v ms", stops)
	return nil
}

// guest measures the Go plugin's own decoding and encoding, inside WebAssembly.
func guest(ctx context.Context, b *bench) error {
	const integration, conn = "bench-probe", "guest"
	if err := b.deployProbe(ctx, b.srv, integration, "10m"); err != nil {
		return err
	}
	if err := b.srv.putProbeConnection(ctx, integration, conn, map[string]int{"pages": max(b.cfg.Records/1000, 1)}); err != nil {
		return err
	}
	var rates []float64
	for range b.cfg.Runs {
		p, _, err := runProbe(ctx, b.srv, integration, conn, "guest-only")
		if err != nil {
			return err
		}
		if p.guestRate == 0 {
			return fmt.Errorf("the guest-only run logged no rate")
		}
		rates = append(rates, p.guestRate)
	}
	b.report.set("go_guest_only_records_per_s", median(rates))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
