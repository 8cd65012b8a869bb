package runtime

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/internal/workerbin"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/storage"
)

// worker is the ferry binary the pools start, with a compilation cache shared by the tests.
var worker workerbin.Worker

func TestMain(m *testing.M) { os.Exit(workerbin.Main(m, &worker)) }

// plugin returns the built test plugin NAME and its content id.
func plugin(t testing.TB, name string) (path, id string) {
	t.Helper()
	path = filepath.Join("testdata", "plugins", name, "plugin.wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test plugin %s is not built (run `make build` first): %v", name, err)
	}
	sum := sha256.Sum256(wasm)
	return path, hex.EncodeToString(sum[:])
}

// newPool starts size workers that share cacheDir ("" for the tests' shared cache).
func newPool(t testing.TB, size int, cacheDir string) *Pool {
	t.Helper()
	w := worker
	if cacheDir != "" {
		w.CacheDir = cacheDir
	}
	p, err := NewPool(context.Background(), PoolConfig{Size: size, Command: w.Command()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func testJob(t testing.TB, name, export string, timeout time.Duration, host Host) Job {
	path, id := plugin(t, name)
	return Job{ModulePath: path, ModuleID: id, Export: export, MemoryMB: 64, Timeout: timeout, Host: host}
}

// kitchen is a real host for the kitchen plugin: a bbolt store and a provider on loopback.
type kitchen struct {
	db       *storage.DB
	provider *httptest.Server
	proxy    *proxy.Client
}

func newKitchen(t testing.TB) *kitchen {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/items" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `[{"id":"a","n":1},{"id":"b","n":2}]`)
	}))
	t.Cleanup(provider.Close)
	ctx := context.Background()
	if _, _, err := db.PutConnection(ctx, storage.Connection{Integration: "kitchen", ID: "c1", Metadata: json.RawMessage(`{"k":"v"}`)}); err != nil {
		t.Fatal(err)
	}
	return &kitchen{db: db, provider: provider, proxy: proxy.New()}
}

type logLine struct{ level, msg string }

func (k *kitchen) call(t testing.TB, connection string, lines *[]logLine) *hostfuncs.Call {
	base, _ := url.Parse(k.provider.URL)
	var mu sync.Mutex
	return &hostfuncs.Call{
		Integration: "kitchen", Connection: connection, Sync: "everything", Models: []string{"Item"},
		Store: k.db, Metadata: json.RawMessage(`{"k":"v"}`),
		HTTP: fetchFunc(func(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
			resp, _, err := k.proxy.Do(ctx, &proxy.Target{Key: connection, BaseURL: base, AllowPrivate: true}, req)
			return resp, err
		}),
		Log: func(level, msg string) {
			mu.Lock()
			defer mu.Unlock()
			if lines != nil {
				*lines = append(*lines, logLine{level, msg})
			}
		},
	}
}

type fetchFunc func(ctx context.Context, req proxy.Request) (*proxy.Response, error)

func (f fetchFunc) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	return f(ctx, req)
}

func TestRunUsesEveryHostFunction(t *testing.T) {
	ctx := context.Background()
	k := newKitchen(t)
	pool := newPool(t, 1, "")

	for n := 1; n <= 2; n++ {
		var lines []logLine
		call := k.call(t, "c1", &lines)
		res, err := pool.Run(ctx, testJob(t, "kitchen", "everything", 30*time.Second, call))
		if err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
		if res.Status != 0 {
			t.Fatalf("run %d: status %d, failure %q, stderr %s", n, res.Status, call.Failure(), res.Stderr)
		}
		// One worker: the first run compiles, the second finds the module compiled.
		if res.Compiled != (n == 1) {
			t.Errorf("run %d: Compiled = %v", n, res.Compiled)
		}
		cp, err := k.db.Checkpoint(ctx, "kitchen", "c1", "everything")
		if err != nil || string(cp) != fmt.Sprintf(`{"n":%d}`, n) {
			t.Errorf("run %d: checkpoint %s, %v", n, cp, err)
		}
		conn, _ := k.db.Connection(ctx, "kitchen", "c1")
		if string(conn.Metadata) != fmt.Sprintf(`{"seen":%d}`, n) {
			t.Errorf("run %d: metadata %s", n, conn.Metadata)
		}
		levels := map[string]bool{}
		for _, l := range lines {
			levels[l.level] = true
		}
		if len(levels) != 4 {
			t.Errorf("run %d: log levels %v, want all four", n, levels)
		}
		counts := call.Counts()["Item"]
		if n == 1 && counts.Added != 2 || n == 2 && counts.Unchanged != 2 {
			t.Errorf("run %d: counts %+v", n, counts)
		}
	}
	recs, err := k.db.GetRecords(ctx, storage.Scope{Integration: "kitchen", Connection: "c1", Model: "Item"}, []string{"a", "b"})
	if err != nil || len(recs) != 2 || string(recs[1].Data) != `{"id":"b","n":2}` {
		t.Errorf("stored records %v, %v", recs, err)
	}
}

func TestRunFailures(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, 2, "")
	tests := []struct {
		plugin, export string
		// wantStatus is the export's status when it returns; wantErr the error when it does not.
		wantStatus  int32
		wantFailure string
		wantErr     string
		wantTimeout bool
		timeout     time.Duration // 30s if zero
	}{
		{plugin: "fail", export: "fail", wantStatus: 1, wantFailure: "provider said no"},
		{plugin: "panic", export: "boom", wantStatus: 1, wantFailure: "panic: boom from plugin"},
		{plugin: "membomb", export: "grow", wantErr: "out of memory"},
		{plugin: "loop", export: "spin", wantTimeout: true, timeout: time.Second},
		{plugin: "kitchen", export: "no_such_export", wantErr: `export "no_such_export" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			call := &hostfuncs.Call{Integration: tt.plugin, Connection: "c", Sync: "s"}
			timeout := cmp.Or(tt.timeout, 30*time.Second)
			res, err := pool.Run(ctx, testJob(t, tt.plugin, tt.export, timeout, call))
			switch {
			case tt.wantTimeout:
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
			case tt.wantErr != "":
				var trap *TrapError
				if !errors.As(err, &trap) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a TrapError containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != tt.wantStatus || !strings.Contains(call.Failure(), tt.wantFailure) {
					t.Errorf("status %d, failure %q; want %d, %q", res.Status, call.Failure(), tt.wantStatus, tt.wantFailure)
				}
			}
		})
	}
	// Whatever happened above, the pool still runs plugins.
	k := newKitchen(t)
	if res, err := pool.Run(ctx, testJob(t, "kitchen", "everything", 30*time.Second, k.call(t, "c1", nil))); err != nil || res.Status != 0 {
		t.Fatalf("after the failures: %v, status %d", err, res.Status)
	}
}

func TestRunawayDoesNotStopOthers(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, 2, "")
	k := newKitchen(t)
	loopDone := make(chan error, 1)
	go func() {
		_, err := pool.Run(ctx, testJob(t, "loop", "spin", 2*time.Second, &hostfuncs.Call{}))
		loopDone <- err
	}()
	// While the loop spins in one worker, the other serves run after run.
	for i := range 3 {
		conn := fmt.Sprintf("other-%d", i)
		if _, _, err := k.db.PutConnection(ctx, storage.Connection{Integration: "kitchen", ID: conn}); err != nil {
			t.Fatal(err)
		}
		res, err := pool.Run(ctx, testJob(t, "kitchen", "everything", 30*time.Second, k.call(t, conn, nil)))
		if err != nil || res.Status != 0 {
			t.Fatalf("neighbour run %d: %v, status %d", i, err, res.Status)
		}
	}
	if err := <-loopDone; !errors.Is(err, ErrTimeout) {
		t.Fatalf("loop: err = %v, want ErrTimeout", err)
	}
}

// A worker killed at a runaway's deadline is replaced by the spare, which has the modules of
// the latest calls loaded already: the next call, on a one-worker pool, compiles nothing.
func TestSpareReplacesAKilledWorker(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, 1, "")
	k := newKitchen(t)
	run := func() Result {
		t.Helper()
		res, err := pool.Run(ctx, testJob(t, "kitchen", "everything", 30*time.Second, k.call(t, "c1", nil)))
		if err != nil || res.Status != 0 {
			t.Fatalf("run: %v, status %d", err, res.Status)
		}
		return res
	}
	run()
	for deadline := time.Now().Add(time.Minute); len(pool.spare) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no spare worker a minute after the first call")
		}
	}
	if _, err := pool.Run(ctx, testJob(t, "loop", "spin", 500*time.Millisecond, &hostfuncs.Call{})); !errors.Is(err, ErrTimeout) {
		t.Fatalf("loop: err = %v, want ErrTimeout", err)
	}
	if res := run(); res.Compiled {
		t.Error("the call after the runaway compiled its module: it did not run in the loaded spare")
	}
	// A new spare is made for the next death.
	for deadline := time.Now().Add(time.Minute); len(pool.spare) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no new spare worker a minute after the first was taken")
		}
	}
}

func TestCancelStopsTheCall(t *testing.T) {
	pool := newPool(t, 1, "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := pool.Run(ctx, testJob(t, "loop", "spin", time.Minute, &hostfuncs.Call{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// A module compiled once is never compiled again, even by new worker processes: they load it
// from the compilation cache on disk.
func TestCompilationCacheOnDisk(t *testing.T) {
	ctx := context.Background()
	cacheDir := t.TempDir()
	k := newKitchen(t)
	run := func(pool *Pool) Result {
		t.Helper()
		res, err := pool.Run(ctx, testJob(t, "kitchen", "everything", 30*time.Second, k.call(t, "c1", nil)))
		if err != nil || res.Status != 0 {
			t.Fatalf("run: %v, status %d", err, res.Status)
		}
		return res
	}
	first := newPool(t, 1, cacheDir)
	run(first)
	first.Close()
	before := cacheFiles(t, cacheDir)
	if len(before) == 0 {
		t.Fatal("the first run left nothing in the compilation cache")
	}

	second := newPool(t, 1, cacheDir)
	if res := run(second); !res.Compiled {
		t.Error("a fresh worker reported the module as already in its memory")
	}
	if after := cacheFiles(t, cacheDir); !equalMaps(before, after) {
		t.Errorf("the cache changed on the second run, so the module was compiled again:\nbefore %v\nafter  %v", before, after)
	}
}

// cacheFiles lists the files under dir with their modification times.
func cacheFiles(t *testing.T, dir string) map[string]time.Time {
	files := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalMaps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

// pageHost serves the bigpages plugin 1 MiB pages, and takes its saves by only counting them:
// what is under test is the guest's memory, not the store.
type pageHost struct {
	pages int
	saved int
}

func (h *pageHost) Dispatch(_ context.Context, op hostfuncs.Op, arg []byte) ([]byte, error) {
	switch op {
	case hostfuncs.OpHTTP:
		req, err := hostfuncs.DecodeRequest(arg)
		if err != nil {
			return nil, err
		}
		n := req.Query.Get("n")
		if i, _ := strconv.Atoi(n); i >= h.pages {
			return hostfuncs.EncodeResponse(&proxy.Response{Status: 200, Body: []byte("[]")}), nil
		}
		var b strings.Builder
		b.WriteByte('[')
		// 1 MiB a page in 100 records: the guest's JSON decoding, not the test, sets the pace.
		for j := range 100 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"p%s-%d","pad":"%s"}`, n, j, strings.Repeat("x", 10<<10))
		}
		b.WriteByte(']')
		return hostfuncs.EncodeResponse(&proxy.Response{Status: 200, Body: []byte(b.String())}), nil
	case hostfuncs.OpRecordsSave:
		h.saved += strings.Count(string(arg), `"id":`)
		return []byte(`{"added":0,"updated":0,"unchanged":0}`), nil
	}
	return nil, nil
}

// A standard-Go guest that moves 100 MiB through 32 MiB of memory finishes: its garbage is
// collected during the run.
func TestLongSyncKeepsMemoryBounded(t *testing.T) {
	pool := newPool(t, 1, "")
	host := &pageHost{pages: 100}
	j := testJob(t, "bigpages", "pages", 5*time.Minute, host)
	j.MemoryMB = 32
	res, err := pool.Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 {
		t.Fatalf("status %d, stderr %s", res.Status, res.Stderr)
	}
	if host.saved != 100*100 {
		t.Errorf("saved %d records, want 10000", host.saved)
	}
}

// slowHost answers every call but HTTP at once; an HTTP call waits for its context, as a
// request to a provider that never answers would.
type slowHost struct {
	cancelled chan error
}

func (h *slowHost) Dispatch(ctx context.Context, op hostfuncs.Op, arg []byte) ([]byte, error) {
	if op != hostfuncs.OpHTTP {
		return nil, nil
	}
	select {
	case <-ctx.Done():
		h.cancelled <- context.Cause(ctx)
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		h.cancelled <- nil
		return nil, errors.New("not cancelled")
	}
}

// The deadline ends a call even while the server is busy with one of its host calls: the
// host call's context is cancelled with the call.
func TestDeadlineEndsHostCalls(t *testing.T) {
	pool := newPool(t, 1, "")
	host := &slowHost{cancelled: make(chan error, 1)}
	_, err := pool.Run(context.Background(), testJob(t, "kitchen", "everything", 500*time.Millisecond, host))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if cause := <-host.cancelled; !errors.Is(cause, ErrTimeout) {
		t.Errorf("the host call ended with %v, want its context cancelled by the deadline", cause)
	}
	// The pool has replaced the killed worker.
	k := newKitchen(t)
	if res, err := pool.Run(context.Background(), testJob(t, "kitchen", "everything", 30*time.Second, k.call(t, "c1", nil))); err != nil || res.Status != 0 {
		t.Fatalf("next run: %v, status %d", err, res.Status)
	}
}

func TestRunAfterClose(t *testing.T) {
	pool := newPool(t, 1, "")
	pool.Close()
	if _, err := pool.Run(context.Background(), testJob(t, "kitchen", "everything", time.Second, &hostfuncs.Call{})); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
}

// The pool's first workers compile the preloaded modules as they start, so the first call
// finds its module compiled; a module that cannot load is logged, not fatal.
func TestPreload(t *testing.T) {
	ctx := context.Background()
	k := newKitchen(t)
	job := testJob(t, "kitchen", "everything", 30*time.Second, nil)
	missing := Job{ModulePath: filepath.Join(t.TempDir(), "gone.wasm"), ModuleID: "gone", MemoryMB: 64}
	pool, err := NewPool(ctx, PoolConfig{Size: 2, Command: worker.Command(), Preload: []Job{missing, job}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for n := 1; n <= 2; n++ { // idle workers queue in order: one call each
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var lines []logLine
			job.Host = k.call(t, "c1", &lines)
			res, err := pool.Run(ctx, job)
			if err != nil || res.Status != 0 {
				t.Fatalf("run: %+v, %v", res, err)
			}
			if res.Compiled {
				t.Error("the preloaded module was compiled again")
			}
			if res.Instantiate <= 0 {
				t.Errorf("Instantiate = %v", res.Instantiate)
			}
		})
	}
}
