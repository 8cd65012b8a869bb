package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deployAs deploys a test plugin with a manifest from testdata and connects "acme".
func (s *testServer) deployAs(t *testing.T, manifest, plugin string) {
	t.Helper()
	yaml, err := os.ReadFile(filepath.Join("testdata", manifest))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "runtime", "testdata", "plugins", plugin, "plugin.wasm"))
	if err != nil {
		t.Fatalf("test plugin %s is not built (run `make build` first): %v", plugin, err)
	}
	if status, body := s.deploy(t, yaml, wasm); status != 201 {
		t.Fatalf("deploy %s: %d %s", manifest, status, body)
	}
	var m struct{ Integration string }
	for _, line := range strings.Split(string(yaml), "\n") {
		if v, ok := strings.CutPrefix(line, "integration: "); ok {
			m.Integration = v
		}
	}
	if status, body := s.json(t, "PUT", "/v1/connections/"+m.Integration+"/acme", `{}`); status != 201 {
		t.Fatalf("connect: %d %s", status, body)
	}
}

func TestActions(t *testing.T) {
	s := newServer(t, 0)
	s.deployAs(t, "actions.yaml", "kitchen")
	s.deployAs(t, "action-fail.yaml", "fail")
	s.deployAs(t, "action-loop.yaml", "loop")
	s.deployAs(t, "action-membomb.yaml", "membomb")
	s.deployAs(t, "action-panic.yaml", "panic")
	tests := []struct {
		name, path, input string
		status            int
		want              string // the output, or a part of the error message
		code              string // the error code, for errors
	}{
		{"ok", "acts/acme/echo", `{"email": "a@b.c", "name": "Ann"}`, 200, `{"email":"a@b.c","name":"Ann"}`, ""},
		{"wrong type", "acts/acme/echo", `{"email": 7}`, 400, "/email", "invalid_input"},
		{"missing field", "acts/acme/echo", `{"name": "x"}`, 400, "email", "invalid_input"},
		{"not JSON", "acts/acme/echo", `{email`, 400, "JSON", "invalid_request"},
		{"output refused", "acts/acme/bad-output", `{"x": 1}`, 502, "output does not match", "invalid_output"},
		{"plugin error", "act-fail/acme/run", `{}`, 422, "provider said no", "action_failed"},
		{"plugin panic", "act-panic/acme/run", `{}`, 422, "panic: boom from plugin", "action_failed"},
		{"timeout", "act-loop/acme/run", `{}`, 504, "exceeded its time limit of 2s", "timeout"},
		{"trap", "act-membomb/acme/run", `{}`, 500, "plugin crashed", "plugin_crashed"},
		{"unknown action", "acts/acme/nope", `{}`, 404, `action "nope"`, "not_found"},
		{"unknown connection", "acts/nobody/echo", `{"email": "x"}`, 404, "nobody", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.json(t, "POST", "/v1/actions/"+tt.path, tt.input)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code == "" {
				if strings.TrimSpace(string(body)) != tt.want {
					t.Errorf("output %s, want %s", body, tt.want)
				}
				return
			}
			code, msg := apiError(t, body)
			if code != tt.code || !strings.Contains(msg, tt.want) {
				t.Errorf("error %s %q, want %s containing %q", code, msg, tt.code, tt.want)
			}
		})
	}
	// Every call that ran is logged like a run.
	status, body := s.do(t, "GET", "/v1/runs?integration=act-fail", nil, "")
	var runs struct {
		Runs []struct {
			ID, Kind, Status, Error string
		}
	}
	json.Unmarshal(body, &runs)
	if status != 200 || len(runs.Runs) != 1 || runs.Runs[0].Kind != "action" || runs.Runs[0].Status != "failed" {
		t.Fatalf("runs of act-fail: %d %s", status, body)
	}
	if status, body := s.do(t, "GET", "/v1/runs/"+runs.Runs[0].ID+"/log", nil, ""); status != 200 || !strings.Contains(string(body), "provider said no") {
		t.Errorf("log of the failed call: %d %s", status, body)
	}
}

func TestAsyncActions(t *testing.T) {
	s := newServer(t, 0)
	s.deployAs(t, "actions.yaml", "kitchen")
	s.deployAs(t, "action-fail.yaml", "fail")
	call := func(path, input string) (status string, attempts int, output string) {
		t.Helper()
		code, body := s.json(t, "POST", "/v1/actions/"+path+"?async=true&max_attempts=2", input)
		var q struct{ ID, Status string }
		if err := json.Unmarshal(body, &q); code != 202 || err != nil || q.ID == "" || q.Status != "queued" {
			t.Fatalf("enqueue %s: %d %s", path, code, body)
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			_, body := s.do(t, "GET", "/v1/actions/calls/"+q.ID, nil, "")
			var c struct {
				Status   string
				Attempts int
				Output   json.RawMessage
			}
			json.Unmarshal(body, &c)
			if c.Status == "succeeded" || c.Status == "failed" {
				return c.Status, c.Attempts, string(c.Output)
			}
		}
		t.Fatalf("call %s did not end", q.ID)
		return
	}
	if status, attempts, out := call("acts/acme/echo", `{"email":"q@r.s"}`); status != "succeeded" || attempts != 1 || out != `{"email":"q@r.s"}` {
		t.Errorf("echo: %s after %d attempts, output %s", status, attempts, out)
	}
	if status, attempts, _ := call("act-fail/acme/run", `{}`); status != "failed" || attempts != 2 {
		t.Errorf("fail: %s after %d attempts, want failed after 2", status, attempts)
	}
	// Bad input is refused at once, queued for nothing.
	if status, body := s.json(t, "POST", "/v1/actions/acts/acme/echo?async=true", `{"email":1}`); status != 400 {
		t.Errorf("async with bad input: %d %s", status, body)
	}
}

func TestLinks(t *testing.T) {
	s := newServer(t, 0)
	s.deployAs(t, "actions.yaml", "kitchen")
	base := "/v1/links/acts/acme/Item/"
	steps := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", base + "u1", "", 404, "not_found"},
		{"PUT", base + "u1", `{"external_id":"c-1"}`, 200, `"external_id":"c-1"`},
		{"GET", base + "u1", "", 200, `"app_id":"u1"`},
		{"GET", "/v1/links/acts/acme/Item?external_id=c-1", "", 200, `"app_id":"u1"`},
		{"PUT", base + "u2", `{"external_id":"c-1"}`, 200, `"app_id":"u2"`},
		{"GET", base + "u1", "", 404, "not_found"},
		{"PUT", base + "u3", `{}`, 400, "external_id"},
		{"PUT", "/v1/links/acts/acme/Deal/u1", `{"external_id":"c-9"}`, 404, "Deal"},
		{"PUT", "/v1/links/acts/nobody/Item/u1", `{"external_id":"c-9"}`, 404, "nobody"},
		{"GET", "/v1/links/acts/acme/Item", "", 400, "external_id"},
		{"DELETE", base + "u2", "", 204, ""},
		{"DELETE", base + "u2", "", 404, "not_found"},
	}
	for i, st := range steps {
		status, body := s.json(t, st.method, st.path, st.body)
		if status != st.status || !strings.Contains(string(body), st.want) {
			t.Errorf("step %d %s %s: %d %s; want %d containing %s", i, st.method, st.path, status, body, st.status, st.want)
		}
	}
}
