package syncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/internal/workerbin"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
)

// worker is the ferry binary the runner's pools start, with a compilation cache shared by
// the tests.
var worker workerbin.Worker

func TestMain(m *testing.M) { os.Exit(workerbin.Main(m, &worker)) }

// itemsProvider serves GET /items: the items it holds, or 500 while failing.
type itemsProvider struct {
	mu      sync.Mutex
	items   []string // ids
	failing bool
	// gate, when set, holds each request until it is closed.
	gate chan struct{}
}

func (p *itemsProvider) set(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = ids
}

func (p *itemsProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	gate, failing := p.gate, p.failing
	items := slices.Clone(p.items)
	p.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if r.Header.Get("Authorization") != "Bearer test-token" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if failing || r.URL.Path != "/items" {
		http.Error(w, "provider down", http.StatusInternalServerError)
		return
	}
	out := make([]map[string]string, len(items))
	for i, id := range items {
		out[i] = map[string]string{"id": id, "name": "item " + id}
	}
	json.NewEncoder(w).Encode(out)
}

type env struct {
	db       *storage.DB
	registry *plugins.Registry
	runner   *Runner
	provider *itemsProvider
	url      string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := storage.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cache, err := wazero.NewCompilationCacheWithDir(worker.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := plugins.NewRegistry(ctx, db, filepath.Join(dir, "modules"), cache)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.Close(ctx) })
	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: 2, Command: worker.Command()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	sealer, err := secrets.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	provider := &itemsProvider{}
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)
	runner := NewRunner(Config{Store: db, Plugins: registry, Connections: connections.NewService(db, sealer, registry),
		Pool: pool, Proxy: proxy.New()})
	t.Cleanup(runner.Close)
	return &env{db: db, registry: registry, runner: runner, provider: provider, url: srv.URL}
}

// deploy deploys a test plugin with a manifest from testdata.
func (e *env) deploy(t *testing.T, manifest, plugin string) {
	t.Helper()
	yaml, err := os.ReadFile(filepath.Join("testdata", manifest))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "runtime", "testdata", "plugins", plugin, "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin %s is not built (run `make build` first): %v", plugin, err)
	}
	if _, err := e.registry.Deploy(context.Background(), yaml, wasm); err != nil {
		t.Fatal(err)
	}
}

func (e *env) connect(t *testing.T, integration, connection string) {
	t.Helper()
	svc := e.runner.cfg.Connections
	creds := map[string]string{"token": "test-token"}
	if integration == "loop" {
		creds = nil
	}
	if _, _, err := svc.Put(context.Background(), integration, connection, connections.Put{Credentials: creds, BaseURL: &e.url}); err != nil {
		t.Fatal(err)
	}
}

// run triggers a run and waits for it to end.
func (e *env) run(t *testing.T, integration, connection, sync string, opt TriggerOptions) storage.Run {
	t.Helper()
	run, err := e.runner.Trigger(context.Background(), integration, connection, sync, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e.wait(t, run.ID)
}

func (e *env) wait(t *testing.T, id string) storage.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		run, err := e.db.Run(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != StatusQueued && run.Status != StatusRunning {
			return run
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s did not end within a minute", id)
	return storage.Run{}
}

// live returns the ids of the live records of a model, sorted.
func (e *env) live(t *testing.T, integration, connection, model string) []string {
	t.Helper()
	recs, _, err := e.db.ReadRecords(context.Background(), storage.Scope{Integration: integration, Connection: connection, Model: model},
		storage.RecordQuery{Limit: 1000, Actions: []records.Action{records.Added, records.Updated}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func wantRun(t *testing.T, run storage.Run, status string, counts records.Counts, errPart string) {
	t.Helper()
	if run.Status != status || run.Counts["Item"] != counts || !strings.Contains(run.Error, errPart) {
		t.Fatalf("run: status %s, counts %+v, error %q; want %s, %+v, error containing %q",
			run.Status, run.Counts["Item"], run.Error, status, counts, errPart)
	}
}

func TestIncrementalSync(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	e.provider.set("a", "b")

	run := e.run(t, "items", "acme", "items", TriggerOptions{})
	wantRun(t, run, StatusSucceeded, records.Counts{Added: 2}, "")
	if run.Trigger != TriggerManual || run.Version != 1 || run.EndedAt == nil {
		t.Errorf("run = %+v", run)
	}
	// An incremental sync deletes nothing by itself: b stays when the provider drops it.
	e.provider.set("a", "c")
	run = e.run(t, "items", "acme", "items", TriggerOptions{})
	wantRun(t, run, StatusSucceeded, records.Counts{Added: 1, Unchanged: 1}, "")
	if got := e.live(t, "items", "acme", "Item"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("live records %v", got)
	}
	cp, _ := e.db.Checkpoint(context.Background(), "items", "acme", "items")
	if string(cp) != `{"n":2}` {
		t.Errorf("checkpoint %s, want the second run's", cp)
	}

	// A full resync clears the checkpoint and reconciles deletes like a full sync.
	run = e.run(t, "items", "acme", "items", TriggerOptions{Full: true})
	wantRun(t, run, StatusSucceeded, records.Counts{Unchanged: 2, Deleted: 1}, "")
	if cp, _ := e.db.Checkpoint(context.Background(), "items", "acme", "items"); string(cp) != `{"n":1}` {
		t.Errorf("checkpoint after the full resync %s, want a fresh one", cp)
	}

	log, err := e.db.RunLog(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sawHTTP, sawPlugin bool
	for _, entry := range log {
		if entry.HTTP != nil && entry.HTTP.Method == "GET" && strings.HasSuffix(entry.HTTP.URL, "/items") && entry.HTTP.Status == 200 {
			sawHTTP = true
		}
		if strings.Contains(entry.Message, "kitchen run 1: saved 2 items") {
			sawPlugin = true
		}
		if strings.Contains(entry.Message, "test-token") || (entry.HTTP != nil && strings.Contains(entry.HTTP.URL, "test-token")) {
			t.Errorf("log shows the token: %+v", entry)
		}
	}
	if !sawHTTP || !sawPlugin {
		t.Errorf("log misses the request (%v) or the plugin's line (%v): %+v", sawHTTP, sawPlugin, log)
	}
}

func TestFullSync(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "items-full.yaml", "kitchen")
	e.connect(t, "items", "acme")
	ids := []string{"a", "b", "c", "d", "e", "f"}
	e.provider.set(ids...)
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 6}, "")

	// What a successful full run did not see is deleted.
	e.provider.set("a", "b", "c", "d", "e")
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Unchanged: 5, Deleted: 1}, "")

	// A failed run deletes nothing.
	e.provider.mu.Lock()
	e.provider.failing = true
	e.provider.mu.Unlock()
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusFailed, records.Counts{}, "500")
	if got := e.live(t, "items", "acme", "Item"); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("after a failed run, live records %v", got)
	}
	e.provider.mu.Lock()
	e.provider.failing = false
	e.provider.mu.Unlock()

	// A run that would delete more than half the cache is held as failed, deleting nothing...
	e.provider.set("a", "b")
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusFailed, records.Counts{Unchanged: 2},
		"full sync would delete 3 of 5 records (60%), over the 50% limit")
	if got := e.live(t, "items", "acme", "Item"); len(got) != 5 {
		t.Fatalf("the guard let records go: %v", got)
	}
	// ...unless forced.
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{Force: true}), StatusSucceeded, records.Counts{Unchanged: 2, Deleted: 3}, "")
	if got := e.live(t, "items", "acme", "Item"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after the forced run, live records %v", got)
	}
}

// Runs of one sync for one connection never overlap: a trigger during a run queues one
// follow-up, and further triggers join it.
func TestRunsDoNotOverlap(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	e.provider.set("a")
	gate := make(chan struct{})
	e.provider.mu.Lock()
	e.provider.gate = gate
	e.provider.mu.Unlock()

	ctx := context.Background()
	first, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || third.ID != second.ID {
		t.Fatalf("runs %s, %s, %s: want the third trigger to join the queued second", first.ID, second.ID, third.ID)
	}
	if queued, _ := e.db.Run(ctx, second.ID); queued.Status != StatusQueued || !queued.Full {
		t.Errorf("second run %+v, want queued and made a full resync", queued)
	}
	close(gate)
	a, b := e.wait(t, first.ID), e.wait(t, second.ID)
	if a.Status != StatusSucceeded || b.Status != StatusSucceeded {
		t.Fatalf("statuses %s, %s", a.Status, b.Status)
	}
	if b.StartedAt.Before(*a.EndedAt) {
		t.Errorf("the second run started at %v, before the first ended at %v", b.StartedAt, a.EndedAt)
	}
}

func TestRunawayRunFailsAtItsDeadline(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "loop.yaml", "loop")
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "loop", "stuck")
	e.connect(t, "items", "acme")
	e.provider.set("a")

	stuck, err := e.runner.Trigger(context.Background(), "loop", "stuck", "spin", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another connection's run at the same time completes.
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 1}, "")
	run := e.wait(t, stuck.ID)
	if run.Status != StatusFailed || !strings.Contains(run.Error, "run exceeded its time limit of 1s (limits.timeout) and was stopped") {
		t.Fatalf("runaway run: %s %q", run.Status, run.Error)
	}
}

func TestTriggerRefusals(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	tests := []struct {
		integration, connection, sync string
		want                          string
	}{
		{"nope", "acme", "items", "not found"},
		{"items", "nobody", "items", "not found"},
		{"items", "acme", "nosync", `no such sync "nosync"`},
	}
	for _, tt := range tests {
		_, err := e.runner.Trigger(context.Background(), tt.integration, tt.connection, tt.sync, TriggerOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Trigger(%s, %s, %s) = %v, want %q", tt.integration, tt.connection, tt.sync, err, tt.want)
		}
	}
}

// Shutdown lets a run under way finish when it can, and cancels what it must: the run still
// under way at the deadline, and every run that had not started.
func TestShutdown(t *testing.T) {
	ctx := context.Background()
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("runs finish=%v", finish), func(t *testing.T) {
			e := newEnv(t)
			e.deploy(t, "items-incremental.yaml", "kitchen")
			e.connect(t, "items", "acme")
			e.provider.set("a")
			gate := make(chan struct{})
			e.provider.mu.Lock()
			e.provider.gate = gate
			e.provider.mu.Unlock()
			first, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			waitStatus(t, e, first.ID, StatusRunning)

			sctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				e.runner.Shutdown(sctx)
				close(done)
			}()
			// Once shutting down, the runner takes no new run.
			waitFor(t, func() bool {
				_, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
				return errors.Is(err, ErrStopping)
			})
			if finish {
				close(gate)
			} else {
				cancel()
			}
			<-done
			cancel()
			if !finish {
				close(gate)
			}
			want := StatusSucceeded
			if !finish {
				want = StatusCancelled
			}
			if run, _ := e.db.Run(ctx, first.ID); run.Status != want {
				t.Errorf("run under way: %s %q, want %s", run.Status, run.Error, want)
			}
			if run, _ := e.db.Run(ctx, second.ID); run.Status != StatusCancelled || !strings.Contains(run.Error, "before the run started") {
				t.Errorf("queued run: %s %q, want cancelled", run.Status, run.Error)
			}
		})
	}
}

// A run triggered on another goroutine (the scheduler's) just before Shutdown, with nothing
// else ordering the two, is waited for: Shutdown returns only once it has ended. Under -race
// this also checks that the trigger's count of runs under way never races Shutdown's wait for
// them (it once did, when Shutdown closed the runner without its lock).
func TestShutdownWaitsForARunTriggeredElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	e.provider.set("a")
	gate := make(chan struct{})
	e.provider.mu.Lock()
	e.provider.gate = gate // the run stays under way until cancelled
	e.provider.mu.Unlock()
	defer close(gate)

	triggered := make(chan storage.Run, 1)
	stay := make(chan struct{})
	defer close(stay)
	go func() {
		run, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{Trigger: TriggerSchedule})
		if err != nil {
			t.Error(err)
		}
		triggered <- run
		<-stay // the goroutine lives on, as the scheduler's does, so the detector keeps its history
	}()
	// No synchronisation with the trigger: time passes, as when a test's last poll of the
	// store returns before the scheduler's Trigger has returned.
	time.Sleep(20 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	e.runner.Shutdown(cctx) // as Server.Close does

	run, err := e.db.Run(ctx, (<-triggered).ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.EndedAt == nil {
		t.Errorf("Shutdown returned with run %s still %s", run.ID, run.Status)
	}
}

// A run a dead server left running is marked failed and run again, from its checkpoint.
func TestRecoverRerunsInterruptedRuns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	e.provider.set("a", "b")
	if err := e.db.SaveCheckpoint(ctx, "items", "acme", "items", json.RawMessage(`{"n":41}`)); err != nil {
		t.Fatal(err)
	}
	left := storage.Run{ID: "0000-interrupted", Integration: "items", Connection: "acme", Sync: "items",
		Trigger: TriggerSchedule, Status: StatusRunning, StartedAt: time.Now().UTC()}
	if err := e.db.PutRun(ctx, left); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	run, _ := e.db.Run(ctx, left.ID)
	if run.Status != StatusFailed || !strings.Contains(run.Error, "interrupted") || run.EndedAt == nil {
		t.Errorf("interrupted run after recovery: %+v", run)
	}
	var rerun storage.Run
	waitFor(t, func() bool {
		runs, _ := e.db.Runs(ctx, storage.RunFilter{Integration: "items", Status: StatusSucceeded})
		if len(runs) == 1 {
			rerun = runs[0]
		}
		return len(runs) == 1
	})
	if rerun.Trigger != TriggerSchedule || rerun.Counts["Item"].Added != 2 {
		t.Errorf("rerun %+v", rerun)
	}
	// The kitchen plugin counts its runs in its checkpoint: the rerun resumed from it.
	if cp, _ := e.db.Checkpoint(ctx, "items", "acme", "items"); string(cp) != `{"n":42}` {
		t.Errorf("checkpoint after the rerun %s, want {\"n\":42}", cp)
	}
}

func waitStatus(t *testing.T, e *env, id, status string) {
	t.Helper()
	waitFor(t, func() bool {
		run, err := e.db.Run(context.Background(), id)
		return err == nil && run.Status == status
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// A record an inbound webhook (or an action) writes while a run is under way is newer than the
// run's copy: the run neither overwrites it nor, as a full sync, deletes it.
func TestNewerWritesAreKept(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.deploy(t, "items-keep.yaml", "kitchen")
	e.connect(t, "items", "acme")
	e.provider.set("a", "b")
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 2}, "")

	gate := make(chan struct{})
	e.provider.mu.Lock()
	e.provider.gate = gate
	e.provider.mu.Unlock()
	run, err := e.runner.Trigger(ctx, "items", "acme", "items", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, run.ID, StatusRunning)
	scope := storage.Scope{Integration: "items", Connection: "acme", Model: "Item"}
	webhookWrite := mustItems(t, `[{"id":"a","name":"renamed at the provider"},{"id":"z","name":"created at the provider"}]`)
	if _, err := e.db.SaveRecords(ctx, scope, webhookWrite, time.Now(), storage.External()); err != nil {
		t.Fatal(err)
	}
	close(gate) // the run now saves what it fetched before: a and b as they were
	got := e.wait(t, run.ID)
	wantRun(t, got, StatusSucceeded, records.Counts{Unchanged: 2}, "")
	recs, err := e.db.GetRecords(ctx, scope, []string{"a", "z"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %v, %v; want a and z kept", recs, err)
	}
	if !strings.Contains(string(recs[0].Data), "renamed at the provider") {
		t.Errorf("the run overwrote the newer write: %s", recs[0].Data)
	}
	// The next run, started after the write, does overwrite and delete as usual.
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Updated: 1, Unchanged: 1, Deleted: 1}, "")
}

func mustItems(t *testing.T, batch string) []records.Item {
	t.Helper()
	items, err := records.ParseBatch([]byte(batch))
	if err != nil {
		t.Fatal(err)
	}
	return items
}
