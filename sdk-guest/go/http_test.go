package ferry

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// serve starts a loopback server with handler and returns a test host that proxies to it.
func serve(t *testing.T, handler http.HandlerFunc) *testHost {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	th := newTestHost(t)
	th.baseURL = srv.URL
	return th
}

func TestDo(t *testing.T) {
	var got *http.Request
	var gotBody string
	th := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-Request-Id", "r1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "line one\nline two")
	})
	h := newHost(th)
	resp, err := h.HTTP.Do(Request{
		Method: "POST",
		Path:   "/contacts",
		Query:  url.Values{"dry_run": {"1"}},
		Header: Header{"Content-Type": {"text/plain"}},
		Body:   []byte("hello\nworld"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/contacts" || got.URL.Query().Get("dry_run") != "1" ||
		got.Header.Get("Content-Type") != "text/plain" || gotBody != "hello\nworld" {
		t.Errorf("server got %s %s %v body %q", got.Method, got.URL, got.Header, gotBody)
	}
	if resp.Status != 201 || resp.Header.Get("x-request-id") != "r1" || string(resp.Body) != "line one\nline two" {
		t.Errorf("response = %d %v %q", resp.Status, resp.Header, resp.Body)
	}
	if err := resp.Err(); err != nil {
		t.Errorf("Err() on 201 = %v", err)
	}
}

func TestDoFailure(t *testing.T) {
	th := newTestHost(t)
	th.errs[fnHTTP] = `host "evil.example" not in allowed_hosts`
	h := newHost(th)
	_, err := h.HTTP.Get("/contacts", url.Values{"limit": {"10"}})
	want := `ferry: GET /contacts?limit=10: host "evil.example" not in allowed_hosts`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestGetJSON(t *testing.T) {
	th := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Accept") != "application/json" {
				t.Errorf("Accept = %q", r.Header.Get("Accept"))
			}
			io.WriteString(w, `{"name":"acme"}`)
		case "/broken":
			io.WriteString(w, `{"name":`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"no such thing"}`+strings.Repeat(".", 1000))
		}
	})
	h := newHost(th)

	var out struct{ Name string }
	if err := h.HTTP.GetJSON("/ok", nil, &out); err != nil || out.Name != "acme" {
		t.Errorf("GetJSON = %+v, %v", out, err)
	}

	err := h.HTTP.GetJSON("/missing", url.Values{"q": {"x"}}, &out)
	var herr *HTTPError
	if !errors.As(err, &herr) {
		t.Fatalf("error = %v, want *HTTPError", err)
	}
	if herr.Status != 404 || herr.Method != "GET" || herr.Target != "/missing?q=x" ||
		!strings.HasPrefix(herr.Body, `{"error":"no such thing"}`) || len(herr.Body) != 512+len("...") {
		t.Errorf("HTTPError = %+v", herr)
	}
	if !strings.HasPrefix(err.Error(), `GET /missing?q=x: status 404: {"error":"no such thing"}`) {
		t.Errorf("message = %q", err)
	}

	if err := h.HTTP.GetJSON("/broken", nil, &out); err == nil || !strings.Contains(err.Error(), "decode 200 response body") {
		t.Errorf("decode error = %v", err)
	}
}

func TestSendJSON(t *testing.T) {
	th := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == "DELETE" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" || string(b) != `{"email":"a@x.io"}` {
			t.Errorf("server got %v %q", r.Header, b)
		}
		io.WriteString(w, `{"id":"c9"}`)
	})
	h := newHost(th)
	var created struct{ ID string }
	if err := h.HTTP.SendJSON("POST", "/contacts", map[string]string{"email": "a@x.io"}, &created); err != nil || created.ID != "c9" {
		t.Errorf("SendJSON POST = %+v, %v", created, err)
	}
	if err := h.HTTP.SendJSON("DELETE", "/contacts/c9", nil, &created); err != nil {
		t.Errorf("SendJSON DELETE with an empty 204 = %v", err)
	}
}

func TestHeader(t *testing.T) {
	h := Header{"content-type": {"a"}, "X-Multi": {"1", "2"}}
	if h.Get("Content-Type") != "a" || h.Get("x-multi") != "1" || len(h.Values("X-MULTI")) != 2 || h.Get("none") != "" {
		t.Errorf("lookups on %v", h)
	}
	h.Set("CONTENT-TYPE", "b")
	if len(h) != 2 || h["Content-Type"][0] != "b" {
		t.Errorf("Set replaced into %v", h)
	}
	h.Add("x-new-thing", "v")
	if h["X-New-Thing"][0] != "v" {
		t.Errorf("Add stored %v", h)
	}
	var nilHeader Header
	if nilHeader.Get("a") != "" || nilHeader.Clone() == nil {
		t.Error("nil Header misbehaves")
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		res       string
		bodyFirst bool
		status    int
		body      string
	}{
		{res: "{\"status\":200}\n{\n\"a\": 1\n}\n", status: 200, body: "{\n\"a\": 1\n}\n"},
		{res: "{\n\"a\": 1\n}\n\n{\"status\":201}", bodyFirst: true, status: 201, body: "{\n\"a\": 1\n}\n"},
		{res: "{\"status\":204}\n", status: 204},
		{res: "\n{\"status\":204}", bodyFirst: true, status: 204},
	}
	for _, tt := range tests {
		resp, err := decodeResponse([]byte(tt.res), nil, tt.bodyFirst, "GET", "/x")
		if err != nil || resp.Status != tt.status || string(resp.Body) != tt.body {
			t.Errorf("decodeResponse(%q, bodyFirst %v) = %+v, %v; want status %d, body %q", tt.res, tt.bodyFirst, resp, err, tt.status, tt.body)
		}
	}
	if _, err := decodeResponse([]byte("page\nnot json"), nil, true, "GET", "/x"); err == nil || !strings.Contains(err.Error(), "ferry: GET /x: decode host response") {
		t.Errorf("a bad head: err = %v", err)
	}
}
