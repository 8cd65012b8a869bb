package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/internal/apiclient"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/server"
	"github.com/ferrysync/ferry/storage"
)

// tinyKitchen is a hand-assembled module that serves the kitchen manifest: its export
// "everything" returns 0 at once, and it declares Ferry's ABI. Deploying it costs next to
// nothing, so the fuzzer can deploy it again and again.
var tinyKitchen = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x08, 0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x00, 0x00, // types: () -> i32, () -> ()
	0x03, 0x03, 0x02, 0x00, 0x01, // functions
	0x07, 0x1f, 0x02, // exports
	0x0a, 'e', 'v', 'e', 'r', 'y', 't', 'h', 'i', 'n', 'g', 0x00, 0x00,
	0x0e, '_', '_', 'f', 'e', 'r', 'r', 'y', '_', 'a', 'b', 'i', '_', 'v', '1', 0x00, 0x01,
	0x0a, 0x09, 0x02, 0x04, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x0b, // code: i32.const 0; (nothing)
}

// fuzzServer is a server for fuzzing its handlers: the kitchen integration deployed (as
// tinyKitchen), connections acme and canary, and canary holding records that no request
// may change.
type fuzzServer struct {
	srv    *server.Server
	h      http.Handler
	canary string
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: f.TempDir(), CacheDir: worker.CacheDir, Workers: 1, WorkerCommand: []string{worker.Bin, "worker"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	s := &fuzzServer{srv: srv, h: srv.Handler()}
	manifest, err := os.ReadFile(filepath.Join("testdata", "kitchen.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	if rec := s.serve(deployRequest(manifest, tinyKitchen)); rec.Code != http.StatusCreated {
		f.Fatalf("deploy: %d %s", rec.Code, rec.Body)
	}
	for _, conn := range []string{"acme", "canary"} {
		rec := s.serve(s.request("PUT", "/v1/connections/kitchen/"+conn, "application/json", strings.NewReader(`{"credentials":{"token":"t0k3n-fuzz"}}`)))
		if rec.Code != http.StatusCreated {
			f.Fatalf("put connection: %d %s", rec.Code, rec.Body)
		}
	}
	items, _ := records.ParseBatch([]byte(`[{"id":"a","n":1},{"id":"b","n":{"x":[1,2]}}]`))
	if _, err := srv.DB.SaveRecords(context.Background(), storage.Scope{Integration: "kitchen", Connection: "canary", Model: "Item"}, items, time.Now()); err != nil {
		f.Fatal(err)
	}
	if s.canary, err = s.readCanary(); err != nil {
		f.Fatal(err)
	}
	return s
}

func (s *fuzzServer) request(method, target, contentType string, body *strings.Reader) *http.Request {
	r := httptest.NewRequest(method, "http://ferry"+target, body)
	r.Header.Set("Authorization", "Bearer "+s.srv.APIKey)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// serve runs one request through the handler in this goroutine, so a panic fails the fuzz
// target rather than vanishing into net/http's recovery.
func (s *fuzzServer) serve(r *http.Request) *httptest.ResponseRecorder {
	if r.Header.Get("Authorization") == "" {
		r.Header.Set("Authorization", "Bearer "+s.srv.APIKey)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec
}

func (s *fuzzServer) readCanary() (string, error) {
	recs, _, err := s.srv.DB.ReadRecords(context.Background(), storage.Scope{Integration: "kitchen", Connection: "canary", Model: "Item"},
		storage.RecordQuery{Limit: 100})
	var b bytes.Buffer
	for _, r := range recs {
		j, _ := r.MarshalJSON()
		b.Write(j)
	}
	return b.String(), err
}

// check asserts what every answer must be: not a server error, an error in the API's shape,
// and the canary's records as they were.
func (s *fuzzServer) check(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s: %d with a body that is not an API error: %s", what, rec.Code, rec.Body)
		}
	}
	if got, err := s.readCanary(); err != nil || got != s.canary {
		t.Fatalf("%s changed the canary's records (%v):\n%s\nwant\n%s", what, err, got, s.canary)
	}
}

func deployRequest(manifest, wasm []byte) *http.Request {
	body, contentType, _ := apiclient.DeployForm(manifest, "plugin.wasm", wasm, false, false) // fails only on a write to memory
	r := httptest.NewRequest("POST", "http://ferry/v1/integrations", body)
	r.Header.Set("Content-Type", contentType)
	return r
}

// FuzzDeploy uploads any manifest and module as a well-formed multipart body.
func FuzzDeploy(f *testing.F) {
	manifest, err := os.ReadFile(filepath.Join("testdata", "kitchen.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(manifest, tinyKitchen)
	f.Add([]byte("integration: kitchen\n"), tinyKitchen)
	f.Add(manifest, []byte("\x00asm\x01\x00\x00\x00"))
	f.Add(manifest, []byte("not wasm"))
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, manifest, wasm []byte) {
		s.check(t, "deploy", s.serve(deployRequest(manifest, wasm)))
	})
}

// FuzzDeployBody uploads any body as a multipart deploy.
func FuzzDeployBody(f *testing.F) {
	manifest, err := os.ReadFile(filepath.Join("testdata", "kitchen.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	r := deployRequest(manifest, tinyKitchen)
	_, params, _ := strings.Cut(r.Header.Get("Content-Type"), "boundary=")
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	f.Add(params, body.Bytes())
	f.Add("x", []byte("--x\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\nintegration: kitchen\r\n--x--\r\n"))
	f.Add("x", []byte("--x\r\n\r\n"))
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		r := s.request("POST", "/v1/integrations", "multipart/form-data; boundary="+boundary, strings.NewReader(string(body)))
		s.check(t, "deploy", s.serve(r))
	})
}

// FuzzPutConnection creates or updates any connection with any body.
func FuzzPutConnection(f *testing.F) {
	for _, seed := range []struct{ integration, connection, body string }{
		{"kitchen", "acme", `{"credentials":{"token":"x"},"metadata":{"a":1},"base_url":"https://api.example.com"}`},
		{"kitchen", "new-one", `{"credentials":{"token":"x"}}`},
		{"kitchen", "acme", `{"metadata":[1]}`},
		{"kitchen", "acme", `{"base_url":"ftp://x"}`},
		{"kitchen", "acme", `{"credentials":{"password":"x"}}`},
		{"kitchen", "acme", `{"webhook_secret":"0123456789abcdef"}`},
		{"nope", "acme", `{}`},
		{"kitchen", "bad id!", `{}`},
		{"kitchen", "acme", `{"unknown":1}`},
		{"kitchen", "acme", `{`},
	} {
		f.Add(seed.integration, seed.connection, []byte(seed.body))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, integration, connection string, body []byte) {
		if integration == "" || connection == "" {
			return // another route
		}
		target := "/v1/connections/" + url.PathEscape(integration) + "/" + url.PathEscape(connection)
		s.check(t, "put connection", s.serve(s.request("PUT", target, "application/json", strings.NewReader(string(body)))))
	})
}

// FuzzTriggerBody triggers the sync with any body.
func FuzzTriggerBody(f *testing.F) {
	for _, body := range []string{``, `{}`, `{"full_resync":true}`, `{"full_resync":true,"force":true}`, `{"full_resync":"yes"}`, `[]`, `{"x":1}`, `null`, `{`} {
		f.Add([]byte(body))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := s.request("POST", "/v1/syncs/kitchen/acme/everything/trigger", "application/json", strings.NewReader(string(body)))
		s.check(t, "trigger", s.serve(r))
	})
}

// FuzzRecordsQuery reads records with any query.
func FuzzRecordsQuery(f *testing.F) {
	for _, q := range []string{
		"integration=kitchen&connection=canary&model=Item",
		"integration=kitchen&connection=canary&model=Item&cursor=1&limit=1",
		"integration=kitchen&connection=canary&model=Item&filter=added,deleted&ids=a,b,,c",
		"integration=kitchen&connection=canary&model=Item&cursor=zzz",
		"integration=kitchen&connection=canary&model=Item&limit=-1",
		"integration=kitchen&connection=canary&model=Nope",
		"integration=kitchen&connection=nobody&model=Item",
		"integration=%zz", "",
	} {
		f.Add(q)
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "http://ferry/v1/records", nil)
		r.URL.RawQuery = query
		rec := s.serve(r)
		s.check(t, "records", rec)
		if rec.Code == http.StatusOK {
			var page struct {
				Records    []json.RawMessage `json:"records"`
				NextCursor *string           `json:"next_cursor"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.NextCursor == nil {
				t.Fatalf("records ?%s: %s (%v)", query, rec.Body, err)
			}
		}
	})
}
