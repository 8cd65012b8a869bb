package syncs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// deployHostile deploys the hostile test plugin with a manifest from testdata, or with its
// own ferry.yaml when manifest is "", and returns the manifest.
func (e *env) deployHostile(t *testing.T, manifest string) *plugins.Manifest {
	t.Helper()
	return e.deployWith(t, manifest, "hostile")
}

// deployWith deploys test plugin with a manifest from testdata, or with the plugin's own
// ferry.yaml when manifest is "", and returns the manifest.
func (e *env) deployWith(t *testing.T, manifest, plugin string) *plugins.Manifest {
	t.Helper()
	dir := filepath.Join("..", "runtime", "testdata", "plugins", plugin)
	path := filepath.Join(dir, "ferry.yaml")
	if manifest != "" {
		path = filepath.Join("testdata", manifest)
	}
	yaml, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin %s is not built (run `make build` first): %v", plugin, err)
	}
	d, err := e.registry.Deploy(context.Background(), yaml, wasm)
	if err != nil {
		t.Fatalf("deploy %s with %s: %v", plugin, path, err)
	}
	return d.Manifest
}

// connectWith creates a connection to the test provider with the credentials its auth type
// wants and the given metadata.
func (e *env) connectWith(t *testing.T, m *plugins.Manifest, connection string, metadata string) {
	t.Helper()
	var creds map[string]string
	if m.Provider.Auth.Type == plugins.AuthBearer {
		creds = map[string]string{"token": "test-token"}
	}
	put := connections.Put{Credentials: creds, BaseURL: &e.url, Metadata: json.RawMessage(metadata)}
	if _, _, err := e.runner.cfg.Connections.Put(context.Background(), m.Integration, connection, put); err != nil {
		t.Fatal(err)
	}
}

// state is everything stored for a connection that a run may change: its records of a model
// (with their _ferry metadata and cursors), a sync's checkpoint and its metadata.
type state struct {
	records    []string
	checkpoint string
	metadata   string
}

func (e *env) state(t *testing.T, integration, connection, model, sync string) state {
	t.Helper()
	ctx := context.Background()
	recs, _, err := e.db.ReadRecords(ctx, storage.Scope{Integration: integration, Connection: connection, Model: model},
		storage.RecordQuery{Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	var s state
	for _, r := range recs {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		s.records = append(s.records, string(b))
	}
	cp, err := e.db.Checkpoint(ctx, integration, connection, sync)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := e.db.Connection(ctx, integration, connection)
	if err != nil {
		t.Fatal(err)
	}
	s.checkpoint, s.metadata = string(cp), string(conn.Metadata)
	return s
}

// TestHostilePlugins runs one misbehaving plugin export per case. Each run must end with an error
// that names the fault, within the plugin's time limit plus a margin, and leave the faulty
// connection's records, checkpoint and metadata as they were, while a run of another
// connection at the same time completes with the right records; the worker pool outlives
// them all.
func TestHostilePlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen faulty plugins")
	}
	e := newEnv(t)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.provider.set("a", "b", "c")

	// Every fault is an export of one module (runtime/testdata/plugins/hostile), compiled
	// once, deployed under the manifests that give each fault the limits it needs.
	tests := []struct {
		manifest string // in testdata; "" for the plugin's own ferry.yaml
		// sync or action to run
		sync, action string
		want         []string // substrings of the run's error
	}{
		// The runtime's own limits.
		{manifest: "hostile-small.yaml", sync: "spin", want: []string{"run exceeded its time limit of 2s (limits.timeout) and was stopped"}},
		{manifest: "hostile-small.yaml", sync: "grow", want: []string{"plugin crashed", "out of memory"}},
		// Go grows its goroutine stacks in linear memory, so endless recursion runs out of it
		// (runtime's TestEndlessRecursionTraps covers recursion on the engine's own stack).
		{sync: "recurse", want: []string{"plugin crashed", "fatal error: out of memory"}},
		{sync: "boom", want: []string{"plugin failed: panic: boom from plugin"}},
		{sync: "fail", want: []string{"plugin failed: provider said no"}},
		// Host calls no SDK would make.
		{sync: "bad-pointer", want: []string{"plugin crashed", "ferry.records_save: argument (ptr=4294901760, len=22) is outside the module's"}},
		{sync: "huge-length", want: []string{"plugin crashed", "ferry.records_save: argument (ptr=", "len=4294967280) is outside the module's"}},
		{sync: "bad-result-buffer", want: []string{"plugin crashed", "ferry.result: buffer (ptr=4294967040, len=13) is outside the module's"}},
		// Arguments over their limits.
		{manifest: "hostile-limits.yaml", sync: "batch-over-limit", want: []string{"records_save: argument of", "bytes is over the 67108864-byte limit"}},
		{manifest: "hostile-limits.yaml", sync: "record-over-limit", want: []string{`Item batch refused, nothing saved: record 0 (id "r0"):`, "over the 4 MiB limit"}},
		{manifest: "hostile-limits.yaml", sync: "too-many-records", want: []string{"Item batch refused, nothing saved: batch has more than 100000 records"}},
		{manifest: "hostile-limits.yaml", sync: "checkpoint-over-limit", want: []string{"checkpoint_save: checkpoint of", "bytes is over the 1048576-byte limit"}},
		{manifest: "hostile-limits.yaml", sync: "metadata-over-limit", want: []string{"metadata_set: metadata of", "bytes is over the 1048576-byte limit"}},
		{manifest: "hostile-limits.yaml", action: "output-over-limit", want: []string{"output: output of", "bytes is over the 16777216-byte limit"}},
		// Batches refused whole: the valid record before the bad one is not saved either.
		{sync: "no-id", want: []string{`Item batch refused, nothing saved: record 1: "id" must be a non-empty string`}},
		{sync: "numeric-id", want: []string{`Item batch refused, nothing saved: record 1: "id" must be a non-empty string`}},
		{sync: "not-objects", want: []string{"Item batch refused, nothing saved: record 1: not a JSON object"}},
		{sync: "broken-json", want: []string{"Item batch refused, nothing saved: record 1: invalid JSON"}},
		{sync: "unknown-model", want: []string{`model "Secret" is not one of this function's models`}},
		// The network.
		{sync: "elsewhere", want: []string{`host "evil.example.com" is not in the allowed hosts`}},
		{manifest: "hostile-strict.yaml", sync: "loopback", want: []string{"address 127.0.0.1 is a loopback address", "provider.allow_private_networks"}},
		// A full sync that saves nothing would delete the whole cache.
		{manifest: "hostile-full.yaml", sync: "nothing", want: []string{"full sync would delete 3 of 3 records (100%), over the 50% limit"}},
	}
	manifests := map[string]*plugins.Manifest{}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.sync+tt.action, func(t *testing.T) {
			m := manifests[tt.manifest]
			if m == nil {
				m = e.deployHostile(t, tt.manifest)
				manifests[tt.manifest] = m
			}
			victim, neighbour := "victim-"+strconv.Itoa(i), "neighbour-"+strconv.Itoa(i)
			e.connectWith(t, m, victim, `{"seed":true}`)
			seed, err := records.ParseBatch([]byte(`[{"id":"s1","v":1},{"id":"s2","v":2},{"id":"s3","v":3}]`))
			if err != nil {
				t.Fatal(err)
			}
			scope := storage.Scope{Integration: m.Integration, Connection: victim, Model: "Item"}
			if _, err := e.db.SaveRecords(ctx, scope, seed, time.Now()); err != nil {
				t.Fatal(err)
			}
			if tt.sync != "" {
				if err := e.db.SaveCheckpoint(ctx, m.Integration, victim, tt.sync, json.RawMessage(`{"seed":1}`)); err != nil {
					t.Fatal(err)
				}
			}
			before := e.state(t, m.Integration, victim, "Item", tt.sync)

			// The faulty call, and beside it a sound run of another connection.
			start := time.Now()
			done := make(chan storage.Run, 1)
			if tt.action != "" {
				go func() {
					run, _ := e.runner.Invoke(ctx, Invocation{Kind: storage.KindAction, Integration: m.Integration,
						Connection: victim, Name: tt.action, Input: []byte(`{}`)})
					done <- run
				}()
			} else {
				run, err := e.runner.Trigger(ctx, m.Integration, victim, tt.sync, TriggerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				go func() { done <- e.wait(t, run.ID) }()
			}
			e.connect(t, "items", neighbour)
			wantRun(t, e.run(t, "items", neighbour, "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 3}, "")
			if got := e.live(t, "items", neighbour, "Item"); !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("neighbour's records %v", got)
			}

			run := <-done
			took := time.Since(start)
			if run.Status != StatusFailed {
				t.Fatalf("run %s, error %q; want failed", run.Status, run.Error)
			}
			t.Logf("run error: %s", run.Error)
			for _, want := range tt.want {
				if !strings.Contains(run.Error, want) {
					t.Errorf("run error %q\nwant it to contain %q", run.Error, want)
				}
			}
			// Generous: loading a module and the neighbour's run come on top of the limit.
			if limit := m.Limits.Timeout.Duration + 30*time.Second; took > limit {
				t.Errorf("the run took %s, over its limit plus margin (%s)", took, limit)
			}
			after := e.state(t, m.Integration, victim, "Item", tt.sync)
			if !slices.Equal(after.records, before.records) {
				t.Errorf("records changed:\nbefore %v\nafter  %v", before.records, after.records)
			}
			if tt.sync != "" && m.Syncs[tt.sync].Type == plugins.SyncFull {
				// A full run starts by clearing its checkpoint, which lasts one run.
				before.checkpoint = ""
			}
			if after.checkpoint != before.checkpoint || after.metadata != before.metadata {
				t.Errorf("checkpoint %s → %s, metadata %s → %s", before.checkpoint, after.checkpoint, before.metadata, after.metadata)
			}
		})
	}

	// Ten thousand tiny batches, each followed by a checkpoint, are a storm, not a fault: the
	// run completes with every record, and others' runs go on meanwhile.
	t.Run("tiny-batches", func(t *testing.T) {
		m := e.deployHostile(t, "hostile-storm.yaml")
		e.connectWith(t, m, "storm", `{}`)
		stormRun, err := e.runner.Trigger(ctx, m.Integration, "storm", "tiny-batches", TriggerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.connect(t, "items", "beside-the-storm")
		wantRun(t, e.run(t, "items", "beside-the-storm", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 3}, "")
		run := e.waitLong(t, stormRun.ID, m.Limits.Timeout.Duration)
		if run.Status != StatusSucceeded || run.Counts["Item"] != (records.Counts{Added: 10_000}) {
			t.Fatalf("storm run: %s %q, counts %+v", run.Status, run.Error, run.Counts["Item"])
		}
		if cp, _ := e.db.Checkpoint(ctx, m.Integration, "storm", "tiny-batches"); string(cp) != `{"done":10000}` {
			t.Errorf("checkpoint %s", cp)
		}
	})

	// The pool is whole after all that: both workers take runs.
	for i := range 2 {
		e.connect(t, "items", "after-"+strconv.Itoa(i))
	}
	first, _ := e.runner.Trigger(ctx, "items", "after-0", "items", TriggerOptions{})
	second, _ := e.runner.Trigger(ctx, "items", "after-1", "items", TriggerOptions{})
	for _, id := range []string{first.ID, second.ID} {
		wantRun(t, e.wait(t, id), StatusSucceeded, records.Counts{Added: 3}, "")
	}
}

// waitLong waits for a run that may take up to limit (the race detector slows the server's
// side of each host call).
func (e *env) waitLong(t *testing.T, id string, limit time.Duration) storage.Run {
	t.Helper()
	for deadline := time.Now().Add(limit + time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		run, err := e.db.Run(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != StatusQueued && run.Status != StatusRunning {
			return run
		}
	}
	t.Fatalf("run %s did not end within its limit of %s and a minute", id, limit)
	return storage.Run{}
}

// A plugin may handle a refused batch and carry on: its run then succeeds without those
// records, and its log says what was refused, so the operator sees what was left out.
func TestIgnoredRefusalIsLogged(t *testing.T) {
	e := newEnv(t)
	m := e.deployHostile(t, "")
	e.connectWith(t, m, "acme", `{}`)
	run := e.run(t, m.Integration, "acme", "ignores-refusal", TriggerOptions{})
	wantRun(t, run, StatusSucceeded, records.Counts{}, "")
	log, err := e.db.RunLog(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := `Item batch refused, nothing saved: record 1: "id" must be a non-empty string`
	if !slices.ContainsFunc(log, func(l storage.LogEntry) bool { return l.Level == "error" && strings.Contains(l.Message, want) }) {
		t.Errorf("no error line %q in the run's log: %+v", want, log)
	}
	if got := e.live(t, m.Integration, "acme", "Item"); len(got) != 0 {
		t.Errorf("records %v, want none", got)
	}
}
