package benchmark

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// spec describes a figure: what it measures and its target.
type spec struct {
	key   string
	group string
	unit  string
	// atLeast says whether the target is a floor (throughputs) or a ceiling (latencies, memory);
	// target 0 means the figure is reported without a target.
	atLeast bool
	target  float64
	what    string
}

// specs lists every figure in report order.
var specs = []spec{
	{"ingest_records_per_s", "ingest", "records/s", true, 50_000, "initial sync of the contacts, Rust plugin, trigger to committed run"},
	{"ingest_vs_native", "ingest", "ratio", true, 0.7, "Rust plugin's throughput over the same sync as native Go"},
	{"native_ingest_records_per_s", "ingest", "records/s", true, 0, "the same sync as native Go, in process, same store and provider"},
	{"resync_unchanged_records_per_s", "ingest", "records/s", true, 100_000, "full resync of the Rust plugin, nothing changed"},
	{"go_ingest_records_per_s", "ingest", "records/s", true, 10_000, "initial sync, Go plugin"},
	{"go_guest_only_records_per_s", "guest", "records/s", true, 0, "the Go plugin's decode and encode alone, inside WebAssembly"},
	{"go_passthrough_records_per_s", "ingest", "records/s", true, 40_000, "initial sync, Go plugin's passthrough variant"},
	{"extism_ingest_records_per_s", "ingest", "records/s", true, 0, "initial sync, AssemblyScript plugin (Extism PDK)"},
	{"cold_start_ms", "start", "ms", false, 50, "first run after a server restart, trigger to the plugin's first host call"},
	{"instantiate_ms", "start", "ms", false, 5, "instance creation of a compiled plugin in a warm worker"},
	{"host_call_us", "start", "µs", false, 50, "one trivial host call, guest to server and back"},
	{"runaway_stop_ms", "runaway", "ms", false, 200, "runaway guest's deadline to run failed and a fresh worker ready"},
	{"read_records_per_s", "read", "records/s", true, 150_000, "GET /v1/records through all records, 1,000 a page"},
	{"read_page_p99_ms", "read", "ms", false, 30, "p99 latency of those pages"},
	{"peak_run_rss_mb", "ingest", "MB", false, 300, "peak RSS of the server and its workers during the Rust sync"},
	{"peak_run_anon_mb", "ingest", "MB", false, 0, "the processes' own part of it, without the store's mapped file"},
	{"peak_run_rss_mb_large", "large", "MB", false, 300, "the same during a sync of the larger record count"},
	{"peak_run_anon_mb_large", "large", "MB", false, 0, "the processes' own part of it"},
	{"idle_connections_rss_mb", "idle", "MB", false, 400, "RSS with 1,000 connections scheduled every minute, after 5 minutes"},
}

// Report holds the measured figures.
type Report struct {
	Records int
	Runs    int
	values  map[string]float64
	notes   map[string]string
}

// set records a figure's value.
func (r *Report) set(key string, v float64) {
	if r.values == nil {
		r.values = make(map[string]float64)
	}
	r.values[key] = v
}

// note attaches a remark to a figure, shown in the table (e.g. the record count).
func (r *Report) note(key, text string) {
	if r.notes == nil {
		r.notes = make(map[string]string)
	}
	r.notes[key] = text
}

// Value returns a measured figure, and whether it was measured.
func (r *Report) Value(key string) (float64, bool) {
	v, ok := r.values[key]
	return v, ok
}

// Met tells whether every measured figure that has a target meets it, and lists those that
// do not.
func (r *Report) Met() (ok bool, missed []string) {
	for _, s := range specs {
		v, measured := r.values[s.key]
		if !measured || s.target == 0 {
			continue
		}
		if (s.atLeast && v < s.target) || (!s.atLeast && v > s.target) {
			missed = append(missed, s.key)
		}
	}
	return len(missed) == 0, missed
}

// MarshalJSON writes the figures as one flat object, in report order, with the record count
// and the repetitions.
func (r *Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"records":%d,"runs":%d`, r.Records, r.Runs)
	for _, s := range specs {
		v, ok := r.values[s.key]
		if !ok {
			continue
		}
		k, _ := json.Marshal(s.key)
		fmt.Fprintf(&b, ",%s:%s", k, formatValue(v))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// formatValue rounds a figure to what its size makes meaningful.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// WriteTable writes the figures as a table for people: value, target, whether it is met.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\ttarget\t\twhat\n")
	for _, s := range specs {
		v, ok := r.values[s.key]
		if !ok {
			continue
		}
		target, verdict := "reported", ""
		if s.target != 0 {
			op := "≤"
			if s.atLeast {
				op = "≥"
			}
			target = op + " " + formatValue(s.target)
			verdict = "ok"
			if (s.atLeast && v < s.target) || (!s.atLeast && v > s.target) {
				verdict = "MISSED"
			}
		}
		what := s.what
		if n := r.notes[s.key]; n != "" {
			what += " (" + n + ")"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.key, formatValue(v), s.unit, target, verdict, what)
	}
	fmt.Fprintf(tw, "%s\n", strings.Repeat("-", 8))
	fmt.Fprintf(tw, "%d records, median of %d runs\n", r.Records, r.Runs)
	return tw.Flush()
}
