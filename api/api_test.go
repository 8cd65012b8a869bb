package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/internal/apiclient"
	"github.com/ferrysync/ferry/internal/workerbin"
	"github.com/ferrysync/ferry/server"
)

// worker is the ferry binary the servers' pools start, with a compilation cache shared by the
// tests.
var worker workerbin.Worker

func TestMain(m *testing.M) { os.Exit(workerbin.Main(m, &worker)) }

type testServer struct {
	*httptest.Server
	key  string
	data string
}

func newServer(t *testing.T, maxModule int64) *testServer {
	t.Helper()
	data := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: data, CacheDir: worker.CacheDir, Workers: 1, WorkerCommand: []string{worker.Bin, "worker"},
		MaxModuleSize: maxModule,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &testServer{Server: hs, key: srv.APIKey, data: data}
}

// do sends a request with the key and returns the status and body.
func (s *testServer) do(t *testing.T, method, path string, body io.Reader, contentType string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *testServer) json(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return s.do(t, method, path, strings.NewReader(body), "application/json")
}

// deploy uploads a manifest and a module.
func (s *testServer) deploy(t *testing.T, manifest, wasm []byte) (int, []byte) {
	t.Helper()
	body, contentType, err := apiclient.DeployForm(manifest, "plugin.wasm", wasm, false, false)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, http.MethodPost, "/v1/integrations", body, contentType)
}

// apiError decodes the error shape every error has, failing the test if it has another.
func apiError(t *testing.T, body []byte) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body is not an API error: %s", body)
	}
	return e.Error.Code, e.Error.Message
}

func kitchen(t *testing.T) (manifest, wasm []byte) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join("testdata", "kitchen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err = os.ReadFile(filepath.Join("..", "runtime", "testdata", "plugins", "kitchen", "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin kitchen is not built (run `make build` first): %v", err)
	}
	return manifest, wasm
}

func TestEveryRouteButHealthzNeedsTheKey(t *testing.T) {
	s := newServer(t, 0)
	routes := []struct{ method, path string }{
		{"POST", "/v1/integrations"},
		{"GET", "/v1/integrations"},
		{"GET", "/v1/integrations/x"},
		{"GET", "/v1/integrations/x/versions"},
		{"POST", "/v1/integrations/x/rollback"},
		{"GET", "/v1/connections"},
		{"PUT", "/v1/connections/x/y"},
		{"GET", "/v1/connections/x/y"},
		{"DELETE", "/v1/connections/x/y"},
		{"POST", "/v1/syncs/x/y/z/trigger"},
		{"GET", "/v1/syncs/x/y/z"},
		{"GET", "/v1/runs"},
		{"GET", "/v1/runs/r"},
		{"GET", "/v1/runs/r/log"},
		{"GET", "/v1/records?integration=x&connection=y&model=z"},
		{"GET", "/v1/no-such-route"},
	}
	for _, r := range routes {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + s.key, s.key} {
			req, _ := http.NewRequest(r.method, s.URL+r.path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %q: status %d, want 401", r.method, r.path, auth, resp.StatusCode)
				continue
			}
			if code, _ := apiError(t, body); code != "unauthorized" {
				t.Errorf("%s %s: code %q", r.method, r.path, code)
			}
		}
	}
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}

func TestDeployRefusals(t *testing.T) {
	s := newServer(t, 4<<20)
	manifest, wasm := kitchen(t)
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(manifest), old, new, 1)) }
	tests := []struct {
		name           string
		manifest, wasm []byte
		status         int
		code, message  string
	}{
		{"yaml does not parse", []byte("integration: [kitchen"), wasm, 400, "invalid_plugin", "ferry.yaml"},
		{"unknown sync type", replace("type: incremental", "type: sometimes"), wasm, 400, "invalid_plugin", `syncs.everything.type: unknown sync type "sometimes"`},
		{"bad frequency", replace("frequency: 1h", "frequency: 5x"), wasm, 400, "invalid_plugin", "syncs.everything.frequency"},
		{"bad integration id", replace("integration: kitchen", "integration: Kitchen_CRM"), wasm, 400, "invalid_plugin", "integration"},
		{"missing export", replace("export: everything", "export: sync_nothing"), wasm, 400, "invalid_plugin", `export "sync_nothing"`},
		{"not WebAssembly", manifest, []byte("#!/bin/sh\necho hi\n"), 400, "invalid_plugin", "not valid WebAssembly"},
		{"over the size limit", manifest, bytes.Repeat([]byte{0}, 6<<20), 413, "too_large", "limit"},
		{"module a bit over the size limit", manifest, append([]byte("\x00asm"), bytes.Repeat([]byte{0}, 4<<20)...), 400, "invalid_plugin", "over the 4194304-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.deploy(t, tt.manifest, tt.wasm)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			code, msg := apiError(t, body)
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("error %s %q, want %s containing %q", code, msg, tt.code, tt.message)
			}
		})
	}
	// Nothing of any refused deploy was stored.
	status, body := s.do(t, "GET", "/v1/integrations", nil, "")
	if status != 200 || string(bytes.TrimSpace(body)) != `{"integrations":[]}` {
		t.Errorf("after refusals: %d %s", status, body)
	}
	entries, _ := os.ReadDir(filepath.Join(s.data, server.ModulesDir))
	if len(entries) != 0 {
		t.Errorf("refused modules left files: %v", entries)
	}
}

func TestDeployVersionsAndRollback(t *testing.T) {
	s := newServer(t, 0)
	manifest, wasm := kitchen(t)
	for v := 1; v <= 2; v++ {
		status, body := s.deploy(t, manifest, wasm)
		var out struct {
			Integration string `json:"integration"`
			Version     int    `json:"version"`
			ABI         string `json:"abi"`
		}
		json.Unmarshal(body, &out)
		if status != 201 || out.Integration != "kitchen" || out.Version != v || out.ABI != "ferry" {
			t.Fatalf("deploy %d: %d %s", v, status, body)
		}
	}
	status, body := s.json(t, "POST", "/v1/integrations/kitchen/rollback", `{"version":1}`)
	if status != 200 || !strings.Contains(string(body), `"active_version":1`) {
		t.Fatalf("rollback: %d %s", status, body)
	}
	status, body = s.json(t, "POST", "/v1/integrations/kitchen/rollback", `{"version":7}`)
	if code, _ := apiError(t, body); status != 404 || code != "not_found" {
		t.Errorf("rollback to a missing version: %d %s", status, body)
	}
	status, body = s.do(t, "GET", "/v1/integrations/kitchen/versions", nil, "")
	if status != 200 || strings.Count(string(body), `"version":`) != 2 {
		t.Errorf("versions: %d %s", status, body)
	}
}

func TestConnections(t *testing.T) {
	s := newServer(t, 0)
	manifest, wasm := kitchen(t)
	if status, body := s.deploy(t, manifest, wasm); status != 201 {
		t.Fatalf("deploy: %d %s", status, body)
	}
	const token = "tok-5f3e9a7c1b"
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown integration", "PUT", "/v1/connections/nope/acme", `{"credentials":{"token":"x"}}`, 404, "not_found"},
		{"missing credential", "PUT", "/v1/connections/kitchen/acme", `{"credentials":{}}`, 400, `missing credential \"token\"`},
		{"unknown credential", "PUT", "/v1/connections/kitchen/acme", `{"credentials":{"token":"x","tokn":"y"}}`, 400, `unknown credential \"tokn\"`},
		{"metadata not an object", "PUT", "/v1/connections/kitchen/acme", `{"credentials":{"token":"x"},"metadata":[1]}`, 400, "metadata: must be a JSON object"},
		{"bad base url", "PUT", "/v1/connections/kitchen/acme", `{"credentials":{"token":"x"},"base_url":"ftp://x"}`, 400, "base_url"},
		{"bad id", "PUT", "/v1/connections/kitchen/a%20b", `{"credentials":{"token":"x"}}`, 400, "id"},
		{"unknown field", "PUT", "/v1/connections/kitchen/acme", `{"creds":{"token":"x"}}`, 400, "unknown field"},
		{"create", "PUT", "/v1/connections/kitchen/acme", `{"credentials":{"token":"` + token + `"},"metadata":{"region":"eu"}}`, 201, `"metadata":{"region":"eu"}`},
		{"update keeps credentials", "PUT", "/v1/connections/kitchen/acme", `{"base_url":"http://127.0.0.1:9"}`, 200, `"base_url":"http://127.0.0.1:9"`},
		{"get", "GET", "/v1/connections/kitchen/acme", "", 200, `"connection":"acme"`},
		{"list", "GET", "/v1/connections?integration=kitchen", "", 200, `"connection":"acme"`},
		{"missing", "GET", "/v1/connections/kitchen/nobody", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.json(t, tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("%d %s; want %d containing %s", status, body, tt.status, tt.want)
			}
			if strings.Contains(string(body), token) {
				t.Errorf("the answer shows the token: %s", body)
			}
		})
	}
	db, err := os.ReadFile(filepath.Join(s.data, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(token)) {
		t.Error("the database file holds the token in plain text")
	}
	if status, _ := s.do(t, "DELETE", "/v1/connections/kitchen/acme", nil, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := s.do(t, "GET", "/v1/connections/kitchen/acme", nil, ""); status != 404 {
		t.Errorf("get after delete: %d", status)
	}
}

func TestRequestRefusals(t *testing.T) {
	s := newServer(t, 0)
	manifest, wasm := kitchen(t)
	s.deploy(t, manifest, wasm)
	s.json(t, "PUT", "/v1/connections/kitchen/acme", `{"credentials":{"token":"x"}}`)
	records := "/v1/records?integration=kitchen&connection=acme&model=Item"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"records without model", "GET", "/v1/records?integration=kitchen&connection=acme", "", 400, "invalid_request", "model"},
		{"bad cursor", "GET", records + "&cursor=abc", "", 400, "invalid_request", "cursor"},
		{"limit zero", "GET", records + "&limit=0", "", 400, "invalid_request", "limit"},
		{"limit too big", "GET", records + "&limit=1000000", "", 400, "invalid_request", "limit"},
		{"bad filter", "GET", records + "&filter=added,gone", "", 400, "invalid_request", `unknown action "gone"`},
		{"unknown model", "GET", "/v1/records?integration=kitchen&connection=acme&model=Deal", "", 404, "not_found", `model "Deal"`},
		{"unknown connection", "GET", "/v1/records?integration=kitchen&connection=nobody&model=Item", "", 404, "not_found", "nobody"},
		{"unknown sync", "POST", "/v1/syncs/kitchen/acme/nope/trigger", "{}", 404, "not_found", `no such sync "nope"`},
		{"trigger body not JSON", "POST", "/v1/syncs/kitchen/acme/everything/trigger", "{full", 400, "invalid_request", "request body"},
		{"unknown run", "GET", "/v1/runs/nope", "", 404, "not_found", "nope"},
		{"bad runs limit", "GET", "/v1/runs?limit=x", "", 400, "invalid_request", "limit"},
		{"rollback without version", "POST", "/v1/integrations/kitchen/rollback", "{}", 400, "invalid_request", "version"},
		{"body too large", "PUT", "/v1/connections/kitchen/acme", `{"metadata":{"x":"` + strings.Repeat("a", 5<<20) + `"}}`, 413, "too_large", "limit"},
		{"wrong method", "DELETE", "/v1/runs", "", 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.json(t, tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			code, msg := apiError(t, body)
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("error %s %q, want %s containing %q", code, msg, tt.code, tt.message)
			}
		})
	}
	status, body := s.json(t, "GET", records, "")
	if status != 200 || string(bytes.TrimSpace(body)) != `{"records":[],"next_cursor":""}` {
		t.Errorf("empty records: %d %s", status, body)
	}
}
