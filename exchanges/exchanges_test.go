package exchanges_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferrysync/ferry/exchanges"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/proxy"
)

const token = "s3cret-token"

// provider is a real HTTP server on loopback: /items answers a page that changes on every
// call, /echo answers the request's body, /bin answers bytes that are not UTF-8.
func provider(t *testing.T) *httptest.Server {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/items":
			n := calls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/items?page=2>; rel="next"`, r.Host))
			fmt.Fprintf(w, `{"data":[{"id":"i-%d","page":%q,"note":"<b>&</b>"}]}`, n, r.URL.Query().Get("page"))
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusCreated)
			w.Write(body)
		case "/bin":
			w.Write([]byte{0xff, 0x00, 0xfe})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fetchFunc turns a function into a hostfuncs.Fetcher.
type fetchFunc func(ctx context.Context, req proxy.Request) (*proxy.Response, error)

func (f fetchFunc) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	return f(ctx, req)
}

// proxied is the connection's real HTTP access: the proxy, adding the bearer token.
func proxied(t *testing.T, base string) hostfuncs.Fetcher {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	client := proxy.New()
	target := &proxy.Target{Key: "test/acme", BaseURL: u, Auth: proxy.Auth{Type: "bearer"},
		Credentials: map[string]string{"token": token}, AllowPrivate: true}
	return fetchFunc(func(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
		resp, _, err := client.Do(ctx, target, req)
		return resp, err
	})
}

// result is what a plugin got for one request.
type result struct {
	Status int
	Body   string
	Link   string
	Err    string
}

func do(f hostfuncs.Fetcher, reqs []proxy.Request) []result {
	var out []result
	for _, req := range reqs {
		resp, err := f.Fetch(context.Background(), req)
		if err != nil {
			out = append(out, result{Err: err.Error()})
			continue
		}
		out = append(out, result{Status: resp.Status, Body: string(resp.Body), Link: resp.Header.Get("Link")})
	}
	return out
}

func TestRecordThenReplay(t *testing.T) {
	srv := provider(t)
	dir := filepath.Join(t.TempDir(), "exchanges")
	reqs := []proxy.Request{
		{Method: "GET", Path: "/items", Query: url.Values{"limit": {"2"}}, Header: http.Header{"Authorization": {"Bearer plugin-set"}, "Accept": {"application/json"}}},
		{Method: "GET", Path: "/items", Query: url.Values{"limit": {"2"}}}, // the same request: another answer
		{Method: "GET", URL: srv.URL + "/items?page=2"},
		{Method: "POST", Path: "/echo", Body: []byte(`{"b":1,"a":[true,null]}`)},
		{Method: "GET", Path: "/bin"},
		{Method: "GET", Path: "/missing"},
		{Method: "GET", URL: "http://elsewhere.example/items"}, // not allowed: an error, recorded too
	}

	rec, err := exchanges.NewRecorder(dir, exchanges.RecordOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	live := do(rec.Wrap(proxied(t, srv.URL)), reqs)
	if rec.Count() != len(reqs) {
		t.Fatalf("recorded %d exchanges, want %d", rec.Count(), len(reqs))
	}
	if live[0].Body == live[1].Body {
		t.Fatalf("the provider answered the same twice; the test needs changing answers: %q", live[0].Body)
	}
	if live[6].Err == "" {
		t.Fatalf("a request to a host not allowed succeeded: %+v", live[6])
	}

	names := fileNames(t, dir)
	wantNames := []string{"0001-GET-items.json", "0002-GET-items.json", "0003-GET-items.json", "0004-POST-echo.json",
		"0005-GET-bin.json", "0006-GET-missing.json", "0007-GET-items.json"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("files %v, want %v", names, wantNames)
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(token)) || bytes.Contains(data, []byte("plugin-set")) {
			t.Errorf("%s holds a credential:\n%s", name, data)
		}
	}
	first, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"url": "` + srv.URL + `/items?limit=2"`, `"path": "/items"`, `"body_json": {`, `"<b>&</b>"`} {
		if !strings.Contains(string(first), want) {
			t.Errorf("%s lacks %s:\n%s", names[0], want, first)
		}
	}

	rep, err := exchanges.NewReplayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The replay answers the same requests identically, though the JSON body's keys come in
	// another order.
	reqs[3].Body = []byte(`{"a": [true, null], "b": 1}`)
	replayed := do(rep, reqs)
	if !reflect.DeepEqual(replayed[:6], live[:6]) {
		t.Errorf("replay differs from the recording:\n got %+v\nwant %+v", replayed, live)
	}
	if replayed[6].Err != live[6].Err {
		t.Errorf("replayed error %q, want %q", replayed[6].Err, live[6].Err)
	}
	if unused := rep.Unused(); len(unused) != 0 {
		t.Errorf("%d recordings unused", len(unused))
	}
}

func TestReplayRefusesWhatWasNotRecorded(t *testing.T) {
	srv := provider(t)
	dir := t.TempDir()
	rec, err := exchanges.NewRecorder(dir, exchanges.RecordOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	do(rec.Wrap(proxied(t, srv.URL)), []proxy.Request{
		{Method: "GET", Path: "/items", Query: url.Values{"page": {"1"}}},
		{Method: "POST", Path: "/echo", Body: []byte(`{"a":1}`)},
	})

	tests := []struct {
		name string
		req  proxy.Request
		want []string // in the error message
	}{
		{"another query", proxy.Request{Method: "GET", Path: "/items", Query: url.Values{"page": {"2"}}},
			[]string{"GET /items?page=2", "not recorded", dir, "recorded to the same path: /items?page=1"}},
		{"another path", proxy.Request{Method: "GET", Path: "/other"}, []string{"GET /other", "not recorded"}},
		{"another method", proxy.Request{Method: "DELETE", Path: "/items", Query: url.Values{"page": {"1"}}},
			[]string{"DELETE /items?page=1", "not recorded"}},
		{"another body", proxy.Request{Method: "POST", Path: "/echo", Body: []byte(`{"a":2}`)},
			[]string{"POST /echo", "(another body)"}},
		{"an absolute URL", proxy.Request{Method: "GET", URL: srv.URL + "/items?page=1"},
			[]string{"GET " + srv.URL + "/items?page=1", "not recorded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := exchanges.NewReplayer(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rep.Fetch(context.Background(), tt.req)
			if !errors.Is(err, exchanges.ErrNotRecorded) {
				t.Fatalf("err = %v, want ErrNotRecorded", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("replayed more often than recorded", func(t *testing.T) {
		rep, err := exchanges.NewReplayer(dir)
		if err != nil {
			t.Fatal(err)
		}
		req := proxy.Request{Method: "GET", Path: "/items?page=1"} // the query in the path matches too
		if _, err := rep.Fetch(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		_, err = rep.Fetch(context.Background(), req)
		if !errors.Is(err, exchanges.ErrNotRecorded) || !strings.Contains(err.Error(), "recorded 1 time(s)") {
			t.Fatalf("second replay: %v", err)
		}
		if unused := rep.Unused(); len(unused) != 1 || unused[0].Request.Method != "POST" {
			t.Errorf("unused = %+v, want the POST", unused)
		}
	})
}

func TestRecordingAgainReplacesTheRecording(t *testing.T) {
	srv := provider(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 1} {
		rec, err := exchanges.NewRecorder(dir, exchanges.RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			do(rec.Wrap(proxied(t, srv.URL)), []proxy.Request{{Method: "GET", Path: "/items"}})
		}
	}
	want := []string{"0001-GET-items.json", "README.md"}
	if got := fileNames(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

func TestReplayerRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"request":{"method":"GET","path":"/a","url":""},"response":{"status":200},"extra":1}`, `unknown field "extra"`},
		{"no response nor error", `{"request":{"method":"GET","path":"/a","url":""}}`, "exactly one of response and error"},
		{"no method", `{"request":{"path":"/a","url":""},"response":{"status":200}}`, "needs a method"},
		{"bad base64", `{"request":{"method":"GET","path":"/a","url":""},"response":{"status":200,"body_base64":"%%"}}`, "body_base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "0001-GET-a.json"), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := exchanges.NewReplayer(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "0001-GET-a.json") {
				t.Errorf("err = %v, want one naming the file and %q", err, tt.want)
			}
		})
	}
	if _, err := exchanges.NewReplayer(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: err = %v, want ErrNotExist", err)
	}
}

func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
