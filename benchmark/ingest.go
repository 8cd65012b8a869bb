package benchmark

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// contactsManifest deploys an example plugin's contacts sync for the benchmark: the example's
// own export and model schema, with no rate limit (the examples ask for 50 requests a second,
// which would make the provider the bottleneck) and room for the largest sync.
const contactsManifest = `integration: %s
wasm: plugin.wasm
provider:
  base_url: http://127.0.0.1:7401
  auth: {type: bearer}
  allow_private_networks: true
syncs:
  contacts: {export: %s, models: [Contact], type: incremental, frequency: 1h, auto_start: false}
models:
  Contact:
    type: object
    required: [id, email]
    properties:
      id: {type: string}
      email: {type: string}
limits: {memory_mb: 128, timeout: 30m}
`

// plugin is an example plugin the sync benchmarks deploy.
type plugin struct {
	integration string
	dir         string // under the repository's root
	export      string
}

var (
	rustPlugin        = plugin{"bench-rust", "examples/crm-rust", "sync_contacts"}
	goPlugin          = plugin{"bench-go", "examples/crm-go", "sync_contacts"}
	passthroughPlugin = plugin{"bench-go-passthrough", "examples/crm-go", "sync_contacts_passthrough"}
	extismPlugin      = plugin{"bench-extism", "examples/crm-assemblyscript", "sync_contacts"}
)

func (p plugin) manifest() []byte {
	return fmt.Appendf(nil, contactsManifest, p.integration, p.export)
}

func (b *bench) deploy(ctx context.Context, p plugin) error {
	return b.srv.deploy(ctx, p.manifest(), filepath.Join(b.cfg.Root, p.dir, "plugin.wasm"))
}

// ingest measures the sync figures, in interleaved rounds: the Rust plugin, its unchanged
// resync and the native Go sync back to back, so that their ratio compares neighbours in
// time, then the other plugins.
func ingest(ctx context.Context, b *bench) error {
	rust := b.wantsKey("ingest_records_per_s") || b.wantsKey("ingest_vs_native") ||
		b.wantsKey("resync_unchanged_records_per_s") || b.wantsKey("peak_run_rss_mb")
	native := b.wantsKey("ingest_vs_native") || b.wantsKey("native_ingest_records_per_s")
	others := []struct {
		plugin
		key string
	}{{goPlugin, "go_ingest_records_per_s"}, {passthroughPlugin, "go_passthrough_records_per_s"}, {extismPlugin, "extism_ingest_records_per_s"}}
	others = slices.DeleteFunc(others, func(o struct {
		plugin
		key string
	}) bool {
		return !b.wantsKey(o.key)
	})
	deploy := slices.Collect(func(yield func(plugin) bool) {
		if rust {
			yield(rustPlugin)
		}
		for _, o := range others {
			if !yield(o.plugin) {
				return
			}
		}
	})
	for _, p := range deploy {
		if err := b.deploy(ctx, p); err != nil {
			return fmt.Errorf("deploy %s (%s): %w", p.dir, p.export, err)
		}
	}
	var ns *nativeServer
	if native {
		var err error
		if ns, err = startNative(ctx, b); err != nil {
			return err
		}
		defer ns.close()
	}

	rates := map[string][]float64{}
	add := func(key string, v float64) { rates[key] = append(rates[key], v) }
	var peak peakMemory
	for i := range b.cfg.Runs {
		var rustRate float64
		if rust {
			conn := b.connection()
			var resync float64
			rss, err := watchRSS(b.srv, func() error {
				var err error
				if rustRate, err = b.timeSync(ctx, rustPlugin.integration, conn, false, "added"); err != nil {
					return err
				}
				resync, err = b.timeSync(ctx, rustPlugin.integration, conn, true, "unchanged")
				return err
			})
			if err != nil {
				return fmt.Errorf("rust plugin: %w", err)
			}
			if err := b.srv.deleteConnection(ctx, rustPlugin.integration, conn); err != nil {
				return err
			}
			peak.rss, peak.anon = max(peak.rss, rss.rss), max(peak.anon, rss.anon)
			add("ingest_records_per_s", rustRate)
			add("resync_unchanged_records_per_s", resync)
		}
		if native {
			nat, err := ns.timeSync(ctx, b)
			if err != nil {
				return fmt.Errorf("native: %w", err)
			}
			add("native_ingest_records_per_s", nat)
			if rust {
				add("ingest_vs_native", rustRate/nat)
			}
		}
		for _, o := range others {
			conn := b.connection()
			r, err := b.timeSync(ctx, o.integration, conn, false, "added")
			if err != nil {
				return fmt.Errorf("%s (%s): %w", o.dir, o.export, err)
			}
			if err := b.srv.deleteConnection(ctx, o.integration, conn); err != nil {
				return err
			}
			add(o.key, r)
		}
		line := fmt.Sprintf("  round %d:", i+1)
		for _, s := range specs {
			if xs := rates[s.key]; len(xs) > i {
				line += fmt.Sprintf(" %s %s", s.key, formatValue(xs[i]))
			}
		}
		b.progress("%s", line)
	}
	for k, xs := range rates {
		b.report.set(k, median(xs))
	}
	if rust {
		b.report.set("peak_run_rss_mb", peak.rss)
		b.report.set("peak_run_anon_mb", peak.anon)
	}
	return nil
}

// timeSync creates connection conn if needed, runs the contacts sync of integration on it
// and returns the records per second, from trigger to committed run. The run must count
// every contact under action (added, or unchanged for a resync).
func (b *bench) timeSync(ctx context.Context, integration, conn string, full bool, action string) (float64, error) {
	if !full {
		if err := b.srv.putConnection(ctx, integration, conn, b.provider, providerToken); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	r, err := b.srv.sync(ctx, integration, conn, "contacts", full)
	if err != nil {
		return 0, err
	}
	if got := r.Counts["Contact"][action]; got != b.cfg.Records {
		return 0, fmt.Errorf("run %s counted %d contacts %s, want %d (counts %v)", r.ID, got, action, b.cfg.Records, r.Counts)
	}
	return syncRate(r.ID, b.cfg.Records, start, r.EndedAt)
}

// syncRate is the records per second of run id, triggered at start, which ended at ended.
func syncRate(id string, records int, start, ended time.Time) (float64, error) {
	if !ended.After(start) {
		return 0, fmt.Errorf("run %s: ended at %v, not after it was triggered at %v", id, ended, start)
	}
	return float64(records) / ended.Sub(start).Seconds(), nil
}
