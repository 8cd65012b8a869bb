package scheduler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/internal/workerbin"
	"github.com/ferrysync/ferry/server"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

var worker workerbin.Worker

func TestMain(m *testing.M) { os.Exit(workerbin.Main(m, &worker)) }

// start runs a server with the items plugin and one connection whose provider takes delay to
// answer each request.
func start(t *testing.T, delay time.Duration) *server.Server {
	t.Helper()
	ctx := context.Background()
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		fmt.Fprint(w, `[{"id":"a"}]`)
	}))
	t.Cleanup(provider.Close)
	srv, err := server.New(ctx, server.Config{
		DataDir: t.TempDir(), CacheDir: worker.CacheDir, Workers: 2, WorkerCommand: []string{worker.Bin, "worker"},
		SchedulerTick: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	manifest, err := os.ReadFile(filepath.Join("testdata", "items.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "runtime", "testdata", "plugins", "kitchen", "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin kitchen is not built (run `make build` first): %v", err)
	}
	if _, err := srv.Registry.Deploy(ctx, manifest, wasm); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Connections.Put(ctx, "items", "acme", connections.Put{BaseURL: &provider.URL}); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	return srv
}

func runsOf(t *testing.T, db *storage.DB, sync string) []storage.Run {
	t.Helper()
	runs, err := db.Runs(context.Background(), storage.RunFilter{Integration: "items", Connection: "acme", Sync: sync, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// waitFor polls cond until it holds, failing the test after a generous minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func finished(runs []storage.Run) (n int) {
	for _, r := range runs {
		if r.EndedAt != nil {
			n++
		}
	}
	return n
}

func TestSchedule(t *testing.T) {
	srv := start(t, 0)
	ctx := context.Background()
	waitFor(t, "three scheduled runs of the auto_start sync", func() bool { return finished(runsOf(t, srv.DB, "auto")) >= 3 })
	for _, r := range runsOf(t, srv.DB, "auto") {
		if r.Trigger != syncs.TriggerSchedule || (r.EndedAt != nil && r.Status != syncs.StatusSucceeded) {
			t.Errorf("run %+v", r)
		}
	}
	if n := len(runsOf(t, srv.DB, "manual")); n != 0 {
		t.Fatalf("the sync without auto_start ran %d times on its own", n)
	}

	// Paused, the sync is triggered no more; started, it runs again. The manual sync, started,
	// runs on its schedule.
	if err := srv.DB.SetPaused(ctx, "items", "acme", "auto", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the runs under way to end", func() bool {
		runs := runsOf(t, srv.DB, "auto")
		return finished(runs) == len(runs)
	})
	paused := len(runsOf(t, srv.DB, "auto"))
	if err := srv.DB.SetPaused(ctx, "items", "acme", "manual", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two scheduled runs of the started sync", func() bool { return finished(runsOf(t, srv.DB, "manual")) >= 2 })
	if n := len(runsOf(t, srv.DB, "auto")); n != paused {
		t.Fatalf("the paused sync ran: %d runs, %d when paused", n, paused)
	}
	if err := srv.DB.SetPaused(ctx, "items", "acme", "auto", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a run after the restart of the schedule", func() bool { return len(runsOf(t, srv.DB, "auto")) > paused })
}

// A provider slower than the frequency: runs queue up behind each other, one at most waiting,
// and never overlap.
func TestScheduledRunsNeverOverlap(t *testing.T) {
	srv := start(t, 1500*time.Millisecond)
	var max atomic.Int32
	waitFor(t, "three finished runs", func() bool {
		runs := runsOf(t, srv.DB, "auto")
		queued := 0
		for _, r := range runs {
			if r.Status == syncs.StatusQueued {
				queued++
			}
		}
		if int32(queued) > max.Load() {
			max.Store(int32(queued))
		}
		return finished(runs) >= 3
	})
	if max.Load() > 1 {
		t.Errorf("%d runs were queued at once, want at most one", max.Load())
	}
	runs := runsOf(t, srv.DB, "auto")
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	for i := 1; i < len(runs); i++ {
		prev := runs[i-1]
		if prev.EndedAt != nil && runs[i].Status != syncs.StatusQueued && runs[i].StartedAt.Before(*prev.EndedAt) {
			t.Errorf("run %s started at %v, before run %s ended at %v", runs[i].ID, runs[i].StartedAt, prev.ID, *prev.EndedAt)
		}
	}
}

func TestStatusShowsTheSchedule(t *testing.T) {
	srv := start(t, 0)
	waitFor(t, "a run", func() bool { return finished(runsOf(t, srv.DB, "auto")) >= 1 })
	st, err := srv.DB.SyncState(context.Background(), "items", "acme", "auto")
	if err != nil {
		t.Fatal(err)
	}
	if st.NextRunAt.IsZero() || st.LastRunID == "" || !st.Scheduled(true) {
		t.Errorf("state %+v", st)
	}
}
