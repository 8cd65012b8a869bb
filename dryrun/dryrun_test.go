package dryrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferrysync/ferry/dryrun"
	"github.com/ferrysync/ferry/internal/workerbin"
	"github.com/ferrysync/ferry/records"
)

var worker workerbin.Worker

func TestMain(m *testing.M) { os.Exit(workerbin.Main(m, &worker)) }

const token = "test-token"

// provider serves GET /items, the items it holds, to the bearer token; it counts requests.
type provider struct {
	items    []string
	requests atomic.Int64
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/items" {
		http.Error(w, `{"error":"no such route"}`, http.StatusNotFound)
		return
	}
	out := make([]map[string]string, len(p.items))
	for i, id := range p.items {
		out[i] = map[string]string{"id": id, "name": "item " + id}
	}
	json.NewEncoder(w).Encode(out)
}

func startProvider(t *testing.T, ids ...string) (*provider, string) {
	t.Helper()
	p := &provider{items: ids}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// pluginDir makes a plugin directory: the kitchen test plugin with a manifest whose one sync,
// items, has the given type.
func pluginDir(t *testing.T, syncType string) string {
	t.Helper()
	wasm, err := os.ReadFile("../runtime/testdata/plugins/kitchen/plugin.wasm")
	if err != nil {
		t.Fatalf("the kitchen test plugin is not built (run `make build` first): %v", err)
	}
	dir := t.TempDir()
	manifest := `integration: items
wasm: plugin.wasm
provider:
  base_url: http://127.0.0.1:1
  auth: {type: bearer}
  allow_private_networks: true
syncs:
  items: {export: everything, models: [Item], type: ` + syncType + `, frequency: 1h}
models:
  Item: {}
limits: {memory_mb: 64, timeout: 30s}
`
	if err := os.WriteFile(filepath.Join(dir, "ferry.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs a dry run with TMPDIR pointed at an empty directory, and checks that it leaves
// nothing there.
func run(t *testing.T, opt dryrun.Options) (*dryrun.Result, error) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	opt.WorkerCommand = []string{worker.Bin, "worker"}
	opt.CacheDir = worker.CacheDir
	res, err := dryrun.Run(context.Background(), opt)
	left, rerr := os.ReadDir(tmp)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if len(left) > 0 {
		t.Errorf("the dry run left %d files in its temporary directory: %v", len(left), left[0].Name())
	}
	return res, err
}

func recordIDs(res *dryrun.Result, model string) []string {
	var ids []string
	for _, r := range res.Records[model] {
		var v struct{ ID string }
		json.Unmarshal(r, &v)
		ids = append(ids, v.ID)
	}
	return ids
}

func TestDryRunIncremental(t *testing.T) {
	_, url := startProvider(t, "a", "b", "c")
	res, err := run(t, dryrun.Options{
		Dir: pluginDir(t, "incremental"), Sync: "items",
		Credentials: map[string]string{"token": token}, BaseURL: url,
		Metadata: json.RawMessage(`{"region": "eu"}`), Checkpoint: json.RawMessage(`{"n": 4}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if got := recordIDs(res, "Item"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("records %v, want a, b, c", got)
	}
	if string(res.Records["Item"][0]) != `{"id":"a","name":"item a"}` {
		t.Errorf("record %s", res.Records["Item"][0])
	}
	if want := (map[string]records.Counts{"Item": {Added: 3}}); !reflect.DeepEqual(res.Counts, want) {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	if string(res.Checkpoint) != `{"n":5}` {
		t.Errorf("checkpoint %s, want {\"n\":5} (the run started from n=4)", res.Checkpoint)
	}
	if res.Requests != 1 || res.Type != "incremental" || res.Integration != "items" || res.BaseURL != url {
		t.Errorf("result %+v", res)
	}
	var sawHTTP, sawLine bool
	for _, e := range res.Log {
		if e.HTTP != nil && e.HTTP.Method == "GET" && e.HTTP.URL == url+"/items" && e.HTTP.Status == 200 {
			sawHTTP = true
		}
		if strings.Contains(e.Message, "kitchen run 5: metadata has 1 keys") {
			sawLine = true
		}
		if strings.Contains(e.Message, token) || (e.HTTP != nil && strings.Contains(e.HTTP.URL, token)) {
			t.Errorf("the log shows the token: %+v", e)
		}
	}
	if !sawHTTP || !sawLine {
		t.Errorf("log lacks the request (%v) or the plugin's line about the metadata (%v): %+v", sawHTTP, sawLine, res.Log)
	}
}

func TestDryRunFullSyncStartsAfresh(t *testing.T) {
	_, url := startProvider(t, "x")
	res, err := run(t, dryrun.Options{
		Dir: pluginDir(t, "full"), Sync: "items", Credentials: map[string]string{"token": token}, BaseURL: url,
		Checkpoint: json.RawMessage(`{"n": 9}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() || string(res.Checkpoint) != `{"n":1}` {
		t.Errorf("status %s %s, checkpoint %s: a full run must ignore the checkpoint given", res.Status, res.Error, res.Checkpoint)
	}
}

func TestDryRunRecordThenReplay(t *testing.T) {
	p, url := startProvider(t, "a", "b")
	dir := pluginDir(t, "incremental")
	exchanges := filepath.Join(t.TempDir(), "exchanges")
	recorded, err := run(t, dryrun.Options{Dir: dir, Sync: "items", Credentials: map[string]string{"token": token},
		BaseURL: url, Record: exchanges})
	if err != nil || !recorded.Succeeded() {
		t.Fatalf("record: %v %+v", err, recorded)
	}
	files, _ := os.ReadDir(exchanges)
	if len(files) != 1 || files[0].Name() != "0001-GET-items.json" {
		t.Fatalf("recorded files %v", files)
	}
	data, _ := os.ReadFile(filepath.Join(exchanges, files[0].Name()))
	if strings.Contains(string(data), token) {
		t.Errorf("the recording holds the token:\n%s", data)
	}

	before := p.requests.Load()
	replayed, err := run(t, dryrun.Options{Dir: dir, Sync: "items", Replay: exchanges}) // no credentials needed
	if err != nil {
		t.Fatal(err)
	}
	if p.requests.Load() != before {
		t.Errorf("the replay reached the provider")
	}
	for name, pair := range map[string][2]any{
		"status":     {replayed.Status, recorded.Status},
		"records":    {replayed.Records, recorded.Records},
		"deleted":    {replayed.Deleted, recorded.Deleted},
		"counts":     {replayed.Counts, recorded.Counts},
		"checkpoint": {string(replayed.Checkpoint), string(recorded.Checkpoint)},
		"requests":   {replayed.Requests, recorded.Requests},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("replayed %s %v, recorded %v", name, pair[0], pair[1])
		}
	}
}

func TestDryRunReplayFailsOnAnUnrecordedRequest(t *testing.T) {
	exchanges := t.TempDir()
	other := `{"request": {"method": "GET", "path": "/other", "url": "http://x/other"}, "response": {"status": 200, "body_json": []}}`
	if err := os.WriteFile(filepath.Join(exchanges, "0001-GET-other.json"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := run(t, dryrun.Options{Dir: pluginDir(t, "incremental"), Sync: "items", Replay: exchanges})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "failed" || !strings.Contains(res.Error, "GET /items: request not recorded in "+exchanges) {
		t.Fatalf("status %s, error %q: want a failure naming GET /items", res.Status, res.Error)
	}
	if len(res.Records["Item"]) != 0 || res.Checkpoint != nil {
		t.Errorf("a failed run left records %v or checkpoint %s", res.Records, res.Checkpoint)
	}
	last := res.Log[len(res.Log)-1]
	if last.Level != "warn" || !strings.Contains(last.Message, "1 recorded exchange(s)") {
		t.Errorf("last log entry %+v: want a warning about the unused recording", last)
	}
}

func TestDryRunRefusesBadSetups(t *testing.T) {
	_, url := startProvider(t, "a")
	dir := pluginDir(t, "incremental")
	noWasm := t.TempDir()
	manifest, _ := os.ReadFile(filepath.Join(dir, "ferry.yaml"))
	os.WriteFile(filepath.Join(noWasm, "ferry.yaml"), manifest, 0o644)
	creds := map[string]string{"token": token}
	tests := []struct {
		name string
		opt  dryrun.Options
		want string
	}{
		{"unknown sync", dryrun.Options{Dir: dir, Sync: "nope", Credentials: creds}, `has no sync "nope" (it has [items])`},
		{"no plugin", dryrun.Options{Dir: t.TempDir(), Sync: "items"}, "read the plugin's manifest"},
		{"no module", dryrun.Options{Dir: noWasm, Sync: "items"}, "build the plugin first"},
		{"credentials missing", dryrun.Options{Dir: dir, Sync: "items", BaseURL: url}, `"token"`},
		{"bad checkpoint", dryrun.Options{Dir: dir, Sync: "items", Credentials: creds, Checkpoint: json.RawMessage(`[1]`)}, "checkpoint: must be a JSON object"},
		{"bad metadata", dryrun.Options{Dir: dir, Sync: "items", Credentials: creds, Metadata: json.RawMessage(`"x"`)}, "metadata"},
		{"record and replay", dryrun.Options{Dir: dir, Sync: "items", Record: t.TempDir(), Replay: t.TempDir()}, "exclusive"},
		{"replay dir missing", dryrun.Options{Dir: dir, Sync: "items", Replay: filepath.Join(t.TempDir(), "none")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := run(t, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (result %+v), want one containing %q", err, res, tt.want)
			}
		})
	}
}

func TestDryRunReportsAFailedRun(t *testing.T) {
	_, url := startProvider(t)
	res, err := run(t, dryrun.Options{Dir: pluginDir(t, "incremental"), Sync: "items",
		Credentials: map[string]string{"token": "wrong"}, BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if res.Succeeded() || !strings.Contains(res.Error, "401") {
		t.Errorf("status %s, error %q: want a failure on the provider's 401", res.Status, res.Error)
	}
	var warned bool
	for _, e := range res.Log {
		warned = warned || (e.HTTP != nil && e.HTTP.Status == 401 && e.Level == "warn")
	}
	if !warned {
		t.Errorf("the log lacks the 401: %+v", res.Log)
	}
}

func TestDryRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := dryrun.Run(ctx, dryrun.Options{Dir: pluginDir(t, "incremental"), Sync: "items",
		Credentials: map[string]string{"token": token}, WorkerCommand: []string{worker.Bin, "worker"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
