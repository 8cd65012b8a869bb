package benchmark

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/internal/workerbin"
)

// TestRun runs the whole benchmark, small: every figure must be measured and make sense. It
// says nothing of the targets, which only the full benchmark on a quiet machine can.
func TestRun(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{rustPlugin.dir, goPlugin.dir, extismPlugin.dir, filepath.Dir(probeModule)} {
		if _, err := os.Stat(filepath.Join(root, m, "plugin.wasm")); err != nil {
			t.Fatalf("%s is not built (run `make build` first): %v", m, err)
		}
	}
	bin, err := workerbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	report, err := Run(context.Background(), Config{
		Ferry: bin, Root: root, Records: 3000, LargeRecords: 6000, Runs: 1,
		IdleConnections: 20, IdleFor: 2e9, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	for _, s := range specs {
		v, ok := report.Value(s.key)
		if !ok || v <= 0 {
			t.Errorf("%s = %v (measured: %v)", s.key, v, ok)
		}
	}
	var flat map[string]float64
	out, err := json.Marshal(report)
	if err != nil || json.Unmarshal(out, &flat) != nil || flat["records"] != 3000 || len(flat) != len(specs)+2 {
		t.Errorf("JSON report %s, %v", out, err)
	}
	var table strings.Builder
	if err := report.WriteTable(&table); err != nil || !strings.Contains(table.String(), "ingest_records_per_s") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestOnlyRefusesUnknownFigures(t *testing.T) {
	_, err := Run(context.Background(), Config{Only: []string{"ingest", "warp_speed"}})
	if err == nil || !strings.Contains(err.Error(), `"warp_speed"`) {
		t.Fatalf("got %v", err)
	}
}

func TestStatistics(t *testing.T) {
	for _, tc := range []struct {
		xs          []float64
		median, p99 float64
	}{
		{[]float64{3, 1, 2}, 2, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{5}, 5, 5},
	} {
		if m := median(tc.xs); m != tc.median {
			t.Errorf("median(%v) = %v, want %v", tc.xs, m, tc.median)
		}
		if p := percentile(tc.xs, 99); p != tc.p99 {
			t.Errorf("p99(%v) = %v, want %v", tc.xs, p, tc.p99)
		}
	}
	if n := countObjects([]byte(`[{"a":"}{"},{"b":[{"c":1}]},{}]`)); n != 3 {
		t.Errorf("countObjects found %d objects, want 3", n)
	}
}
