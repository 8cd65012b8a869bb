package syncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
)

// mountTmpfs mounts a tmpfs of sizeMB at a new directory and returns it, or skips the test
// when this environment cannot mount one (not root, no CAP_SYS_ADMIN). File permissions do
// not stop root, so a small filesystem is how a test can run out of disk.
func mountTmpfs(t *testing.T, sizeMB int, opts ...string) string {
	t.Helper()
	dir := t.TempDir()
	o := append([]string{fmt.Sprintf("size=%dm", sizeMB), "mode=0700"}, opts...)
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", strings.Join(o, ","), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs for the data dir (%v: %s); storage faults not tested here", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the filesystem is full, and returns a function that
// deletes it.
func fill(t *testing.T, dir string) func() {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// bulkyProvider serves GET /items: n records of about 2 KiB each, with version v.
type bulkyProvider struct {
	mu   sync.Mutex
	n, v int
}

func (p *bulkyProvider) set(n, v int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.v = n, v
}

func (p *bulkyProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	n, v := p.n, p.v
	p.mu.Unlock()
	pad := strings.Repeat("p", 2000)
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("item-%05d", i), "v": v, "pad": pad}
	}
	json.NewEncoder(w).Encode(items)
}

// TestDiskFullDuringARun puts the store on a 64 MiB filesystem, syncs, fills the disk, and
// syncs again with more data than fits: that run fails with an error that says the disk is
// full, and everything committed before (records, checkpoint) is intact. Once space returns,
// the same server syncs again and ends with every record.
func TestDiskFullDuringARun(t *testing.T) {
	ctx := context.Background()
	data := mountTmpfs(t, 64)
	db, err := storage.Open(filepath.Join(data, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cache, err := wazero.NewCompilationCacheWithDir(worker.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := plugins.NewRegistry(ctx, db, filepath.Join(data, "modules"), cache)
	if err != nil {
		t.Fatal(err)
	}
	defer registry.Close(ctx)
	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: 1, Command: worker.Command()})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sealer, err := secrets.LoadOrCreateSealer(data)
	if err != nil {
		t.Fatal(err)
	}
	runner := NewRunner(Config{Store: db, Plugins: registry, Connections: connections.NewService(db, sealer, registry),
		Pool: pool, Proxy: proxy.New()})
	defer runner.Close()
	provider := &bulkyProvider{}
	srv := httptest.NewServer(provider)
	defer srv.Close()
	e := &env{db: db, registry: registry, runner: runner, url: srv.URL}
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	scope := storage.Scope{Integration: "items", Connection: "acme", Model: "Item"}

	// 500 records, committed.
	provider.set(500, 1)
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 500}, "")
	committed, _, err := db.ReadRecords(ctx, scope, storage.RecordQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	checkpoint, err := db.Checkpoint(ctx, "items", "acme", "items")
	if err != nil || string(checkpoint) != `{"n":1}` {
		t.Fatalf("checkpoint %s, %v", checkpoint, err)
	}

	// The disk fills up; the provider has 5,000 changed records (about 10 MiB), which do not fit.
	free := fill(t, data)
	provider.set(5000, 2)
	run := e.run(t, "items", "acme", "items", TriggerOptions{})
	if run.Status != StatusFailed || !strings.Contains(run.Error, "no space left on device") {
		t.Fatalf("run on a full disk: %s %q, want failed with the disk's error", run.Status, run.Error)
	}
	t.Logf("run on a full disk: %s", run.Error)
	after, _, err := db.ReadRecords(ctx, scope, storage.RecordQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(after, committed, func(a, b records.Record) bool {
		ja, _ := a.MarshalJSON()
		jb, _ := b.MarshalJSON()
		return string(ja) == string(jb)
	}) {
		t.Fatalf("committed records changed: %d before, %d after", len(committed), len(after))
	}
	if cp, err := db.Checkpoint(ctx, "items", "acme", "items"); err != nil || string(cp) != string(checkpoint) {
		t.Fatalf("checkpoint %s (%v), want %s", cp, err, checkpoint)
	}

	// Space returns: the same runner, store and workers carry on.
	free()
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 4500, Updated: 500}, "")
	if got := e.live(t, "items", "acme", "Item"); len(got) != 1000 { // live() reads at most 1,000
		t.Fatalf("%d live records", len(got))
	}
	last, _, err := db.ReadRecords(ctx, scope, storage.RecordQuery{Limit: 10_000})
	if err != nil || len(last) != 5000 {
		t.Fatalf("%d records (%v), want 5000", len(last), err)
	}
	for _, r := range last {
		if !strings.Contains(string(r.Data), `"v":2`) {
			t.Fatalf("record %s is stale: %.80s", r.ID, r.Data)
		}
	}
}

// A data directory on a read-only filesystem is refused at once, with the filesystem's error.
func TestReadOnlyDataDir(t *testing.T) {
	data := mountTmpfs(t, 1, "ro")
	_, err := storage.Open(filepath.Join(data, "ferry.db"))
	if err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Open on a read-only filesystem: %v", err)
	}
}
