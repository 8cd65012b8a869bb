package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/storage"
)

// The Extism modules under test: the AssemblyScript example and the Extism test plugin, both
// built by `make as-plugins`.
var (
	crmAS      = filepath.Join("..", "examples", "crm-assemblyscript")
	extismTest = filepath.Join("testdata", "extism")
)

// extismJob is a job for the Extism module built in dir.
func extismJob(t testing.TB, dir, export string, timeout time.Duration, host Host) Job {
	t.Helper()
	path := filepath.Join(dir, "plugin.wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s is not built (run `make as-plugins` first): %v", path, err)
	}
	sum := sha256.Sum256(wasm)
	return Job{ModulePath: path, ModuleID: hex.EncodeToString(sum[:]), Export: export, ABI: abiExtism,
		MemoryMB: 64, Timeout: timeout, Host: host}
}

// crmHost is a real host for the AssemblyScript example: a bbolt store and the example
// provider on loopback, reached through the proxy with the provider's token.
type crmHost struct {
	db       *storage.DB
	provider *crm.Server
	server   *httptest.Server
	proxy    *proxy.Client

	// fail, when set, makes the proxy fail every request whose query it matches.
	mu   sync.Mutex
	fail func(q url.Values) bool
}

func newCRMHost(t *testing.T, contacts, companies int) *crmHost {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	provider := crm.New(crm.Options{Contacts: contacts, Companies: companies, Seed: 7})
	t.Cleanup(provider.Close)
	server := httptest.NewServer(provider)
	t.Cleanup(server.Close)
	if _, _, err := db.PutConnection(context.Background(), storage.Connection{Integration: "crm-assemblyscript", ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	return &crmHost{db: db, provider: provider, server: server, proxy: proxy.New()}
}

func (h *crmHost) setFail(fail func(q url.Values) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = fail
}

func (h *crmHost) call(sync, model string, lines *[]string) *hostfuncs.Call {
	base, _ := url.Parse(h.server.URL)
	target := &proxy.Target{Key: "crm-assemblyscript/acme", BaseURL: base, AllowPrivate: true,
		Auth: proxy.Auth{Type: "bearer"}, Credentials: map[string]string{"token": crm.DefaultToken}}
	return &hostfuncs.Call{
		Integration: "crm-assemblyscript", Connection: "acme", Sync: sync, Models: []string{model},
		Store: h.db,
		HTTP: fetchFunc(func(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
			h.mu.Lock()
			fail := h.fail
			h.mu.Unlock()
			if fail != nil && fail(req.Query) {
				return nil, errors.New("injected network failure")
			}
			resp, _, err := h.proxy.Do(ctx, target, req)
			return resp, err
		}),
		Log: func(level, msg string) {
			if lines != nil {
				*lines = append(*lines, level+" "+msg)
			}
		},
	}
}

// listing returns the provider's objects of a listing exactly as it serves them, compacted,
// following its pagination, and the newest updated_at among them.
func (h *crmHost) listing(t *testing.T, path string) (objects map[string]string, newest time.Time) {
	t.Helper()
	objects = map[string]string{}
	next := h.server.URL + path
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+crm.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor string            `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Data {
			var head struct {
				ID        string    `json:"id"`
				UpdatedAt time.Time `json:"updated_at"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			objects[head.ID] = compact.String()
			if head.UpdatedAt.After(newest) {
				newest = head.UpdatedAt
			}
		}
		next = ""
		if page.NextCursor != "" {
			u, _ := url.Parse(h.server.URL + path)
			q := u.Query()
			q.Set("cursor", page.NextCursor)
			u.RawQuery = q.Encode()
			next = u.String()
		} else if link := resp.Header.Get("Link"); strings.Contains(link, `rel="next"`) {
			next = link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
		}
	}
	return objects, newest
}

// stored returns the cached records of model by id, with their stored bytes.
func (h *crmHost) stored(t *testing.T, model string, ids []string) map[string]string {
	t.Helper()
	recs, err := h.db.GetRecords(context.Background(), storage.Scope{Integration: "crm-assemblyscript", Connection: "acme", Model: model}, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(recs))
	for _, r := range recs {
		out[r.ID] = string(r.Data)
	}
	return out
}

func (h *crmHost) checkpoint(t *testing.T, sync string) string {
	t.Helper()
	cp, err := h.db.Checkpoint(context.Background(), "crm-assemblyscript", "acme", sync)
	if err != nil {
		t.Fatal(err)
	}
	return string(cp)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sameRecords fails unless got holds exactly want's ids, each with the provider's bytes.
func sameRecords(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d records stored, want %d", len(got), len(want))
	}
	bad := 0
	for id, w := range want {
		if g := got[id]; g != w && bad < 3 {
			bad++
			t.Errorf("record %s:\n got  %s\n want %s", id, g, w)
		}
	}
}

// The AssemblyScript example's contacts sync, run through the Extism SDK against the example
// provider: a page whose HTTP host call fails fails the run with the host's message and keeps
// the checkpoint at that page; the next run resumes there; records are the provider's own
// JSON; an incremental run after changes fetches the changes and applies the deletion feed.
func TestExtismContactsSync(t *testing.T) {
	ctx := context.Background()
	h := newCRMHost(t, 2500, 0) // three pages of at most 1,000
	pool := newPool(t, 1, "")
	run := func(lines *[]string) (Result, *hostfuncs.Call, error) {
		call := h.call("contacts", "Contact", lines)
		res, err := pool.Run(ctx, extismJob(t, crmAS, "sync_contacts", time.Minute, call))
		return res, call, err
	}

	// Run 1: the request for the second page fails.
	h.setFail(func(q url.Values) bool { return q.Get("cursor") != "" })
	res, call, err := run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 1 || !strings.Contains(call.Failure(), "ferry: GET /contacts") || !strings.Contains(call.Failure(), "injected network failure") {
		t.Fatalf("run 1: status %d, failure %q; want the failed request and the host's error", res.Status, call.Failure())
	}
	var cp struct {
		UpdatedAfter string `json:"updated_after"`
		Cursor       string `json:"cursor"`
		MaxUpdatedAt string `json:"max_updated_at"`
	}
	if err := json.Unmarshal([]byte(h.checkpoint(t, "contacts")), &cp); err != nil || cp.Cursor == "" || cp.UpdatedAfter != "" || cp.MaxUpdatedAt == "" {
		t.Fatalf("run 1: checkpoint %s (%v); want the second page's cursor and the first page's newest time", h.checkpoint(t, "contacts"), err)
	}
	if got := call.Counts()["Contact"].Added; got != 1000 {
		t.Errorf("run 1: added %d, want the first page's 1000", got)
	}

	// Run 2: resumes at the second page and finishes the listing.
	h.setFail(nil)
	var lines []string
	res, call, err = run(&lines)
	if err != nil || res.Status != 0 {
		t.Fatalf("run 2: %v, status %d, failure %q", err, res.Status, call.Failure())
	}
	if !strings.Contains(strings.Join(lines, "\n"), "info resuming the contacts listing updated after \"\" at cursor "+cp.Cursor) {
		t.Errorf("run 2 did not log its resumption:\n%s", strings.Join(lines, "\n"))
	}
	if got := call.Counts()["Contact"].Added; got != 1500 {
		t.Errorf("run 2: added %d, want the last 1500", got)
	}
	want, newest := h.listing(t, "/contacts?limit=1000")
	sameRecords(t, h.stored(t, "Contact", keys(want)), want)
	wantCP := fmt.Sprintf(`{"updated_after":%q,"cursor":""}`, newest.UTC().Format(time.RFC3339Nano))
	if got := h.checkpoint(t, "contacts"); got != wantCP {
		t.Errorf("run 2: checkpoint %s, want %s", got, wantCP)
	}

	// Run 3: after changes at the provider, only the changes.
	changed, err := h.provider.Mutate(crm.Mutation{Model: "contacts", Add: 5, Update: 20, Delete: 2})
	if err != nil {
		t.Fatal(err)
	}
	res, call, err = run(nil)
	if err != nil || res.Status != 0 {
		t.Fatalf("run 3: %v, status %d, failure %q", err, res.Status, call.Failure())
	}
	if c := call.Counts()["Contact"]; c.Added != 5 || c.Updated != 20 || c.Deleted != 2 || c.Unchanged != 0 {
		t.Errorf("run 3: counts %+v, want 5 added, 20 updated, 2 deleted", c)
	}
	want, newest = h.listing(t, "/contacts?limit=1000")
	sameRecords(t, h.stored(t, "Contact", append(keys(want), changed.Deleted...)), want)
	wantCP = fmt.Sprintf(`{"updated_after":%q,"cursor":""}`, newest.UTC().Format(time.RFC3339Nano))
	if got := h.checkpoint(t, "contacts"); got != wantCP {
		t.Errorf("run 3: checkpoint %s, want %s", got, wantCP)
	}
}

// The companies sync follows the provider's Link headers through every page.
func TestExtismCompaniesSync(t *testing.T) {
	h := newCRMHost(t, 0, 230) // three pages of at most 100
	pool := newPool(t, 1, "")
	var lines []string
	call := h.call("companies", "Company", &lines)
	res, err := pool.Run(context.Background(), extismJob(t, crmAS, "sync_companies", time.Minute, call))
	if err != nil || res.Status != 0 {
		t.Fatalf("%v, status %d, failure %q", err, res.Status, call.Failure())
	}
	want, _ := h.listing(t, "/companies?per_page=100")
	sameRecords(t, h.stored(t, "Company", keys(want)), want)
	if log := strings.Join(lines, "\n"); !strings.Contains(log, "info companies synced: 3 pages, 230 companies: 230 added") {
		t.Errorf("log:\n%s", log)
	}
}

// The Extism test plugin's exports, each on one part of the Extism variant of the ABI.
func TestExtismABI(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, 2, "")
	tests := []struct {
		export string
		input  string
		// wantStatus, wantOutput and wantFailure are checked when the export returns;
		// wantErr (a TrapError's message) or wantTimeout when it does not.
		wantStatus  int32
		wantOutput  string
		wantFailure string
		wantLog     []string
		wantErr     string
		wantTimeout bool
		memoryMB    int
	}{
		{export: "echo", input: `{"to":"echo"}`, wantOutput: `{"to":"echo"}`},
		{export: "extism_error", wantStatus: 1, wantFailure: "provider said no"},
		{export: "extism_error_zero", wantStatus: 1, wantFailure: "failed quietly"},
		{export: "ferry_way", wantOutput: `{"via":"ferry"}`},
		{export: "logs", wantLog: []string{"info info through extism", "warn warn through extism",
			"debug debug through extism", "error error through ferry"}},
		{export: "blocks", wantOutput: "save: status 1: records_save: Item batch refused, nothing saved: record 0: \"id\" must be a non-empty string\n" +
			"checkpoint before: none\nsave checkpoint: none\ncheckpoint after: status 0: {\"n\":1}"},
		{export: "oversize", memoryMB: 80, wantOutput: "status 1: records_save: argument of 67108865 bytes is over the 67108864-byte limit"},
		{export: "boom", wantErr: "wasm error: unreachable (plugin error: boom from plugin)"},
		{export: "extism_http", wantErr: "HTTP request to 'http://127.0.0.1:1/' is not allowed"},
		{export: "grow", memoryMB: 16, wantErr: "unreachable"},
		{export: "spin", wantTimeout: true},
		{export: "no_such_export", wantErr: `export "no_such_export" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.export, func(t *testing.T) {
			db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, _, err := db.PutConnection(ctx, storage.Connection{Integration: "extism-test", ID: "c"}); err != nil {
				t.Fatal(err)
			}
			var lines []string
			call := &hostfuncs.Call{Integration: "extism-test", Connection: "c", Sync: tt.export, Models: []string{"Item"},
				Store: db, Log: func(level, msg string) { lines = append(lines, level+" "+msg) }}
			if tt.input != "" {
				call.Input = []byte(tt.input)
			}
			timeout := 30 * time.Second
			if tt.wantTimeout {
				timeout = time.Second
			}
			j := extismJob(t, extismTest, tt.export, timeout, call)
			if tt.memoryMB != 0 {
				j.MemoryMB = tt.memoryMB
			}
			res, err := pool.Run(ctx, j)
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
				t.Logf("trap: %v", err)
			default:
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != tt.wantStatus || call.Failure() != tt.wantFailure || string(call.Output()) != tt.wantOutput {
					t.Errorf("status %d, failure %q, output %q; want %d, %q, %q",
						res.Status, call.Failure(), call.Output(), tt.wantStatus, tt.wantFailure, tt.wantOutput)
				}
				if tt.wantLog != nil && strings.Join(lines, "\n") != strings.Join(tt.wantLog, "\n") {
					// Exactly these: none of the Extism SDK's own debug lines.
					t.Errorf("log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tt.wantLog, "\n"))
				}
			}
		})
	}
	// Whatever happened above, the pool still runs Extism plugins.
	call := &hostfuncs.Call{Input: []byte("again")}
	if res, err := pool.Run(ctx, extismJob(t, extismTest, "echo", 30*time.Second, call)); err != nil || res.Status != 0 || string(call.Output()) != "again" {
		t.Fatalf("after the failures: %v, status %d, output %q", err, res.Status, call.Output())
	}
}

// A worker compiles an Extism module once and instantiates it afresh for every call.
func TestExtismCompilesOnce(t *testing.T) {
	pool := newPool(t, 1, "")
	for n := 1; n <= 3; n++ {
		call := &hostfuncs.Call{Input: []byte(fmt.Sprint(n))}
		res, err := pool.Run(context.Background(), extismJob(t, extismTest, "echo", 30*time.Second, call))
		if err != nil || string(call.Output()) != fmt.Sprint(n) {
			t.Fatalf("run %d: %v, output %q", n, err, call.Output())
		}
		if res.Compiled != (n == 1) {
			t.Errorf("run %d: Compiled = %v", n, res.Compiled)
		}
	}
}

// The deploy check recognises the Extism modules and accepts them with their manifests.
func TestExtismModulesDeploy(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, dir := range []string{crmAS, extismTest, filepath.Join(extismTest, "kitchen")} {
		var m *plugins.Manifest // the kitchen has none: its ABI alone is checked
		if manifest, err := os.ReadFile(filepath.Join(dir, "ferry.yaml")); err == nil {
			if m, err = plugins.Parse(manifest); err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		wasm, err := os.ReadFile(filepath.Join(dir, "plugin.wasm"))
		if err != nil {
			t.Fatalf("%s is not built (run `make as-plugins` first): %v", dir, err)
		}
		abi, err := plugins.CheckModule(ctx, rt, wasm, m)
		if err != nil || abi != plugins.ABIExtism {
			t.Errorf("%s: CheckModule = %q, %v; want %q", dir, abi, err, plugins.ABIExtism)
		}
	}
}

// The AssemblyScript wrapper's every function, through the kitchen test plugin, against a
// real host: a bbolt store and a provider on loopback.
func TestExtismWrapperKitchen(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.PutConnection(ctx, storage.Connection{Integration: "kitchen-as", ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/items":
			w.Header().Set("X-Echo-Query", r.URL.RawQuery)
			w.Header().Set("X-Echo-Test", r.Header.Get("X-Test"))
			w.Header().Add("Link", `<http://`+r.Host+`/items?page=1>; rel="first", <http://`+r.Host+`/items?page=2>; rel="next"`)
			fmt.Fprint(w, `[{"id":"a","n":1},{"id":"b","n":2}]`)
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), body)
		default:
			http.Error(w, `{"error":"nope"}`, http.StatusNotFound)
		}
	}))
	defer provider.Close()
	base, _ := url.Parse(provider.URL)
	client := proxy.New()
	var lines, triggered []string
	call := &hostfuncs.Call{
		Integration: "kitchen-as", Connection: "c1", Sync: "everything", Models: []string{"Item"},
		Input: []byte(`{"hello":"wörld <&>"}`), Metadata: json.RawMessage(`{"k":"v"}`),
		LastSuccess: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Store:       db,
		HTTP: fetchFunc(func(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
			resp, _, err := client.Do(ctx, &proxy.Target{Key: "c1", BaseURL: base, AllowPrivate: true}, req)
			return resp, err
		}),
		Log:         func(level, msg string) { lines = append(lines, level+" "+msg) },
		TriggerSync: func(_ context.Context, sync string) error { triggered = append(triggered, sync); return nil },
	}
	pool := newPool(t, 1, "")
	res, err := pool.Run(ctx, extismJob(t, filepath.Join(extismTest, "kitchen"), "everything", 30*time.Second, call))
	if err != nil || res.Status != 0 {
		t.Fatalf("%v, status %d, failure %q", err, res.Status, call.Failure())
	}
	want := strings.Join([]string{
		`input hello: wörld <&>`,
		`metadata: {"k":"v"}`,
		`last sync: 2026-01-02T03:04:05.000000006Z`,
		`checkpoint: null`,
		`GET /items: 200, 2 items, X-Echo-Query q=a+b%26c, X-Echo-Test yes, next ` + provider.URL + `/items?page=2`,
		`POST /echo: 201 POST application/json {"x":"é"}`,
		`GET /missing: ok true, success false, err GET /missing: status 404: {"error":"nope"}`,
		`save: 2 added, 0 updated, 0 unchanged, 0 deleted`,
		`save refused: ferry: save Item: records_save: Item batch refused, nothing saved: record 0: "id" must be a non-empty string`,
		`save empty: 0 added, 0 updated, 0 unchanged, 0 deleted, error null`,
		`update: 0 added, 1 updated, 0 unchanged, 0 deleted`,
		`get: [{"id":"a","n":1,"extra":{"deep":true}},{"id":"b","n":2}]`,
		`delete: 0 added, 0 updated, 0 unchanged, 1 deleted`,
		`delete objects: 0 added, 0 updated, 0 unchanged, 1 deleted`,
		`checkpoint saved: {"n":1,"s":"\u003ctab\u003e\t\"q\""}`,
		`checkpoint cleared: null`,
		`checkpoint refused: ferry: save checkpoint: checkpoint_save: checkpoint must be a JSON object`,
		`metadata set: {"seen":true}`,
		`link by app: app-1 -> a; by external: app-1 -> a`,
		`link deleted: none`,
		`trigger: null`,
	}, "\n")
	if got := string(call.Output()); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	// The host logs the batch it refused, then come the plugin's own lines.
	if got, want := strings.Join(lines, "\n"), "error Item batch refused, nothing saved: record 0: \"id\" must be a non-empty string\n"+
		"debug kitchen debug\ninfo kitchen info\nwarn kitchen warn\nerror kitchen error"; got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
	if len(triggered) != 1 || triggered[0] != "other" {
		t.Errorf("triggered %q, want [other]", triggered)
	}
	conn, err := db.Connection(ctx, "kitchen-as", "c1")
	if err != nil || string(conn.Metadata) != `{"seen":true}` {
		t.Errorf("stored metadata %s, %v", conn.Metadata, err)
	}
	if recs, err := db.GetRecords(ctx, storage.Scope{Integration: "kitchen-as", Connection: "c1", Model: "Item"}, []string{"a", "b"}); err != nil || len(recs) != 0 {
		t.Errorf("records left: %v, %v; want both deleted", recs, err)
	}

	// The wrapper's run fails the call with the message; its abort handler traps with its own.
	failing := &hostfuncs.Call{}
	res, err = pool.Run(ctx, extismJob(t, filepath.Join(extismTest, "kitchen"), "failing", 30*time.Second, failing))
	if err != nil || res.Status != 1 || failing.Failure() != "it failed on purpose" {
		t.Errorf("failing: %v, status %d, failure %q", err, res.Status, failing.Failure())
	}
	_, err = pool.Run(ctx, extismJob(t, filepath.Join(extismTest, "kitchen"), "aborting", 30*time.Second, &hostfuncs.Call{}))
	var trap *TrapError
	if !errors.As(err, &trap) || !strings.Contains(err.Error(), "(plugin error: abort: Index out of range at ~lib/") {
		t.Errorf("aborting: err = %v, want a trap with the abort's message", err)
	}
}
