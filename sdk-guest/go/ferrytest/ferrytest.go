// Package ferrytest runs a plugin's sync in a Go test, against recorded HTTP exchanges, and
// returns what it saved for the test to assert: the records per model, the counts and the
// checkpoint.
//
// It runs `ferry dryrun --json` on the plugin's directory, so the plugin runs exactly as a
// Ferry server runs it: the module built for WebAssembly, in a worker process, with the
// host's own record store, checkpoint rules and counts. Build the module first (the test
// runs the module it finds, it does not build it). The ferry binary is found through the
// FERRY_BIN environment variable, else on PATH.
//
// Record the exchanges once against the real provider:
//
//	ferry dryrun . contacts --cred token=... --record testdata/exchanges
//
// then test against them, offline, with plain go test (the test file needs the build
// constraint //go:build !wasip1, since the plugin's package is built for wasip1 too):
//
//	func TestContacts(t *testing.T) {
//		res := ferrytest.DryRun(t, ".", "contacts", ferrytest.Options{Replay: "testdata/exchanges"})
//		if res.Counts["Contact"].Added != 30 { ... }
//		var contacts []Contact
//		res.Decode(t, "Contact", &contacts)
//	}
//
// A request the recording does not hold fails the run (and so the test) with an error that
// names it. The package has no dependencies outside the standard library.
package ferrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Options say how to run the sync. Relative paths are relative to the test's working
// directory (the package's directory under go test).
type Options struct {
	// Replay is a directory of recorded exchanges that answer the plugin's requests instead
	// of the network. Empty means the plugin reaches the real provider.
	Replay string
	// Record, instead, records the exchanges of a run against the real provider into a
	// directory (replacing a previous recording there).
	Record string
	// Credentials, Metadata and BaseURL are the connection's. Replaying needs no credentials.
	// Metadata is marshalled to JSON (a json.RawMessage is taken as it is).
	Credentials map[string]string
	Metadata    any
	BaseURL     string
	// Checkpoint is the checkpoint the sync starts from, marshalled to JSON; nil for none.
	Checkpoint any
	// AllowFailure returns the Result of a run that failed instead of failing the test; the
	// test then checks Result.Status and Result.Error itself.
	AllowFailure bool
}

// Counts are a model's record changes in the run.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// LogEntry is a line of the run's log: a plugin log line or captured output (Message), or an
// HTTP exchange (HTTP).
type LogEntry struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message,omitempty"`
	HTTP    *HTTPLog  `json:"http,omitempty"`
}

// HTTPLog is one HTTP exchange of the run.
type HTTPLog struct {
	Method     string  `json:"method"`
	URL        string  `json:"url"`
	Status     int     `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Retries    int     `json:"retries"`
	Error      string  `json:"error,omitempty"`
}

// Result is what the run did, as `ferry dryrun --json` prints it.
type Result struct {
	Integration string `json:"integration"`
	Sync        string `json:"sync"`
	Type        string `json:"type"`
	// Status is "succeeded", "failed" or "cancelled"; Error says why a run did not succeed.
	Status string `json:"status"`
	Error  string `json:"error"`
	// Records are the records the run left per model, in the order they were last saved.
	Records map[string][]json.RawMessage `json:"records"`
	// Deleted are the ids the run deleted, per model.
	Deleted map[string][]string `json:"deleted"`
	Counts  map[string]Counts   `json:"counts"`
	// Checkpoint is the checkpoint the run left, nil if none.
	Checkpoint json.RawMessage `json:"checkpoint"`
	Log        []LogEntry      `json:"log"`
	Requests   int             `json:"requests"`
}

// Decode decodes the records of model into out, a pointer to a slice, failing the test if
// they do not decode.
func (r *Result) Decode(t testing.TB, model string, out any) {
	t.Helper()
	recs := r.Records[model]
	if recs == nil {
		recs = []json.RawMessage{}
	}
	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatalf("ferrytest: records of %s: %v", model, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("ferrytest: decode the records of %s: %v", model, err)
	}
}

// DecodeCheckpoint decodes the checkpoint into out, failing the test if there is none or it
// does not decode.
func (r *Result) DecodeCheckpoint(t testing.TB, out any) {
	t.Helper()
	if len(r.Checkpoint) == 0 || string(r.Checkpoint) == "null" {
		t.Fatalf("ferrytest: the run left no checkpoint")
	}
	if err := json.Unmarshal(r.Checkpoint, out); err != nil {
		t.Fatalf("ferrytest: decode the checkpoint %s: %v", r.Checkpoint, err)
	}
}

// IDs returns the ids of the records of model, in order.
func (r *Result) IDs(model string) []string {
	ids := make([]string, 0, len(r.Records[model]))
	for _, rec := range r.Records[model] {
		var v struct {
			ID string `json:"id"`
		}
		json.Unmarshal(rec, &v)
		ids = append(ids, v.ID)
	}
	return ids
}

// Binary returns the ferry binary DryRun runs: $FERRY_BIN, else ferry on PATH. It fails the
// test when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("FERRY_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("ferrytest: FERRY_BIN=%s: %v", bin, err)
		}
		return bin
	}
	bin, err := exec.LookPath("ferry")
	if err != nil {
		t.Fatalf("ferrytest: no ferry binary: set FERRY_BIN to its path or put it on PATH (%v)", err)
	}
	return bin
}

// DryRun runs sync of the plugin in dir with `ferry dryrun --json` and returns the result.
// It fails the test when the dry run cannot start (a bad plugin, a missing module) and, unless
// opt.AllowFailure, when the run fails, showing the run's error and log.
func DryRun(t testing.TB, dir, sync string, opt Options) *Result {
	t.Helper()
	args := []string{"dryrun", dir, sync, "--json"}
	if opt.Replay != "" {
		args = append(args, "--replay", opt.Replay)
	}
	if opt.Record != "" {
		args = append(args, "--record", opt.Record)
	}
	for name, value := range opt.Credentials {
		args = append(args, "--cred", name+"="+value)
	}
	if opt.BaseURL != "" {
		args = append(args, "--base-url", opt.BaseURL)
	}
	for flag, v := range map[string]any{"--metadata": opt.Metadata, "--checkpoint": opt.Checkpoint} {
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("ferrytest: %s: %v", strings.TrimPrefix(flag, "--"), err)
		}
		args = append(args, flag, string(b))
	}

	bin := Binary(t)
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("ferrytest: %s %s: %v\n%s", bin, strings.Join(args, " "), runErr, strings.TrimSpace(stderr.String()))
	}
	if res.Status != "succeeded" && !opt.AllowFailure {
		t.Fatalf("ferrytest: sync %s %s: %s\nlog:\n%s", sync, res.Status, res.Error, res.formatLog())
	}
	return &res
}

// formatLog writes the log as `ferry logs` does.
func (r *Result) formatLog() string {
	var b strings.Builder
	for _, e := range r.Log {
		ts := e.Time.Local().Format("15:04:05.000")
		if h := e.HTTP; h != nil {
			result := fmt.Sprint(h.Status)
			if h.Error != "" {
				result = "error: " + h.Error
			}
			fmt.Fprintf(&b, "%s %-5s http %s %s -> %s\n", ts, e.Level, h.Method, h.URL, result)
			continue
		}
		fmt.Fprintf(&b, "%s %-5s %s\n", ts, e.Level, e.Message)
	}
	return b.String()
}
