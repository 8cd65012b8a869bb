package syncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/internal/logbuf"
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

// openDataDir opens a store, plugin registry, one worker and a runner on the data directory,
// for a provider at url. They are closed by the function it returns, or when the test ends.
// logs, if not nil, gets the runner's log.
func openDataDir(t *testing.T, data, url string, logs io.Writer) (*env, *storage.DB, func()) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(data, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	var closers []func()
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			for _, c := range slices.Backward(closers) {
				c()
			}
		})
	}
	t.Cleanup(closeAll)
	closers = append(closers, func() { db.Close() })
	cache, err := wazero.NewCompilationCacheWithDir(worker.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := plugins.NewRegistry(ctx, db, filepath.Join(data, "modules"), cache)
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { registry.Close(ctx) })
	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: 1, Command: worker.Command()})
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { pool.Close() })
	sealer, err := secrets.LoadOrCreateSealer(data)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	runner := NewRunner(Config{Store: db, Plugins: registry, Connections: connections.NewService(db, sealer, registry),
		Pool: pool, Proxy: proxy.New(), Logger: logger})
	closers = append(closers, runner.Close)
	return &env{db: db, registry: registry, runner: runner, url: url}, db, closeAll
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
	provider := &bulkyProvider{}
	srv := httptest.NewServer(provider)
	defer srv.Close()
	e, db, _ := openDataDir(t, data, srv.URL, nil)
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

// loopFS is an ext4 filesystem in an image file, mounted through a loop device, that a test
// can turn read-only while files on it are open for writing, as the kernel does when a disk
// fails. A read-only remount cannot do that: the kernel refuses it while bbolt holds its file
// open for writing.
type loopFS struct {
	image, dir, dev string
}

// mountExt4 makes and mounts a loopFS of sizeMB, or skips the test when this environment cannot
// (no loop devices, no ext4 tools, no ext4 error trigger).
func mountExt4(t *testing.T, sizeMB int) *loopFS {
	t.Helper()
	fs := &loopFS{image: filepath.Join(t.TempDir(), "ext4.img"), dir: t.TempDir()}
	steps := [][]string{
		{"truncate", "-s", fmt.Sprintf("%dM", sizeMB), fs.image},
		{"mkfs.ext4", "-q", fs.image},
		{"losetup", "--find", "--show", fs.image},
	}
	for _, step := range steps {
		out, err := exec.Command(step[0], step[1:]...).CombinedOutput()
		if err != nil {
			t.Skipf("cannot make an ext4 filesystem on a loop device (%s: %v: %s); a data dir turning read-only is not tested here",
				step[0], err, strings.TrimSpace(string(out)))
		}
		fs.dev = strings.TrimSpace(string(out))
	}
	t.Cleanup(func() {
		exec.Command("umount", fs.dir).Run()
		if out, err := exec.Command("losetup", "-d", fs.dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", fs.dev, err, out)
		}
	})
	fs.mount(t)
	if _, err := os.Stat(fs.trigger()); err != nil {
		t.Skipf("this kernel has no ext4 error trigger (%v); a data dir turning read-only is not tested here", err)
	}
	return fs
}

func (fs *loopFS) mount(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "ext4", "-o", "errors=remount-ro", fs.dev, fs.dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount %s (%v: %s); a data dir turning read-only is not tested here", fs.dev, err, out)
	}
}

func (fs *loopFS) trigger() string {
	return filepath.Join("/sys/fs/ext4", filepath.Base(fs.dev), "trigger_fs_error")
}

// fail reports a filesystem error, on which ext4 (mounted errors=remount-ro) turns read-only
// at once: every later write, also to files already open, fails with EROFS.
func (fs *loopFS) fail() error {
	return os.WriteFile(fs.trigger(), []byte("1"), 0)
}

// repair does what an operator does after such a failure: unmount, check, mount again.
func (fs *loopFS) repair(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("umount", fs.dir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	// e2fsck exits 1 when it corrected something, which is expected after an abort.
	if out, err := exec.Command("e2fsck", "-fy", fs.dev).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck: %v: %s", err, out)
		}
	}
	fs.mount(t)
}

// storedState is what a sync has committed: its model's records and its checkpoint.
func storedState(t *testing.T, db *storage.DB, scope storage.Scope, sync string) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	recs, _, err := db.ReadRecords(ctx, scope, storage.RecordQuery{Limit: 10_000})
	if err != nil {
		t.Fatalf("read records: %v", err)
	}
	var all strings.Builder
	for _, r := range recs {
		j, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		all.Write(j)
		all.WriteByte('\n')
	}
	cp, err := db.Checkpoint(ctx, scope.Integration, scope.Connection, sync)
	if err != nil {
		t.Fatalf("read checkpoint: %v", err)
	}
	return all.String(), cp
}

// TestDataDirTurnsReadOnlyDuringARun stores a sync's records on ext4, then makes the
// filesystem read-only while the next run fetches: that run fails with the filesystem's error,
// which the server logs with the run, and the server stays up. Everything committed before is
// still served, and is on disk: after the operator's repair (unmount, fsck, mount) a new server
// finds every record and the checkpoint, marks the run interrupted and runs it again.
func TestDataDirTurnsReadOnlyDuringARun(t *testing.T) {
	fs := mountExt4(t, 64)
	provider := &bulkyProvider{}
	var failOnce sync.Once
	var failErr error
	armed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-armed:
			failOnce.Do(func() { failErr = fs.fail() })
		default:
		}
		provider.ServeHTTP(w, r)
	}))
	defer srv.Close()
	logs := &logbuf.Buffer{}
	e, db, closeAll := openDataDir(t, fs.dir, srv.URL, logs)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.connect(t, "items", "acme")
	scope := storage.Scope{Integration: "items", Connection: "acme", Model: "Item"}

	provider.set(500, 1)
	wantRun(t, e.run(t, "items", "acme", "items", TriggerOptions{}), StatusSucceeded, records.Counts{Added: 500}, "")
	committed, checkpoint := storedState(t, db, scope, "items")

	// The filesystem turns read-only when the provider is first asked for the changed records.
	provider.set(5000, 2)
	close(armed)
	run, err := e.runner.Trigger(context.Background(), "items", "acme", "items", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The run's end cannot be stored on a read-only filesystem; the server's log has it.
	var line string
	for deadline := time.Now().Add(time.Minute); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "run finished") && strings.Contains(l, run.ID) {
				line = l
			}
		}
	}
	if failErr != nil {
		t.Fatalf("make the filesystem read-only: %v", failErr)
	}
	if !strings.Contains(line, "status=failed") || !strings.Contains(line, "read-only file system") {
		t.Fatalf("run on a read-only data dir: log line %q, want failed with the filesystem's error\nlog:\n%s", line, logs)
	}
	t.Logf("logged: %s", line)
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no error logged for the run whose end could not be stored:\n%s", logs)
	}
	// The server is still up and serves what was committed.
	if got, cp := storedState(t, db, scope, "items"); got != committed || string(cp) != string(checkpoint) {
		t.Fatalf("committed state changed on the read-only filesystem: checkpoint %s, want %s", cp, checkpoint)
	}

	closeAll()
	fs.repair(t)
	e, db, _ = openDataDir(t, fs.dir, srv.URL, nil)
	if got, cp := storedState(t, db, scope, "items"); got != committed || string(cp) != string(checkpoint) {
		t.Fatalf("committed state lost after the repair: %d bytes of records, want %d; checkpoint %s, want %s",
			len(got), len(committed), cp, checkpoint)
	}
	// As a restarted server does: the run left running is marked interrupted and run again.
	ctx := context.Background()
	if err := e.runner.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := db.Run(ctx, run.ID); err != nil || left.Status != StatusFailed || !strings.Contains(left.Error, "interrupted") {
		t.Fatalf("run left by the read-only filesystem after recovery: %+v (%v)", left, err)
	}
	var rerun storage.Run
	waitFor(t, func() bool {
		runs, _ := db.Runs(ctx, storage.RunFilter{Integration: "items", Status: StatusSucceeded})
		for _, r := range runs {
			if r.ID > run.ID {
				rerun = r
			}
		}
		return rerun.ID != ""
	})
	if got := rerun.Counts["Item"]; got != (records.Counts{Added: 4500, Updated: 500}) {
		t.Fatalf("rerun after the repair counted %+v, want 4500 added and 500 updated", got)
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
