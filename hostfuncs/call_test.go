package hostfuncs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

func newCall(t *testing.T) (*Call, *storage.DB, *[]string) {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, _, err := db.PutConnection(context.Background(), storage.Connection{Integration: "crm", ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	var (
		logs []string
		mu   sync.Mutex // queued writes log beside the guest's calls
	)
	c := &Call{
		Integration: "crm", Connection: "acme", Sync: "contacts", Models: []string{"Contact"},
		Store: db, TrackSeen: true,
		Log: func(level, msg string) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, level+": "+msg)
		},
		Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	return c, db, &logs
}

// step is one host call and what it must answer.
type step struct {
	op      Op
	arg     string
	want    string // the exact result, unless wantErr is set
	wantErr string // a part of the error
}

func runSteps(t *testing.T, c *Call, steps []step) {
	t.Helper()
	for i, s := range steps {
		got, err := c.Dispatch(context.Background(), s.op, []byte(s.arg))
		switch {
		case s.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("step %d %s(%.40q): err = %v, want it to contain %q", i, s.op, s.arg, err, s.wantErr)
			}
		case err != nil:
			t.Errorf("step %d %s(%.40q): %v", i, s.op, s.arg, err)
		case string(got) != s.want:
			t.Errorf("step %d %s(%.40q) = %q, want %q", i, s.op, s.arg, got, s.want)
		}
	}
}

func TestRecords(t *testing.T) {
	c, db, _ := newCall(t)
	runSteps(t, c, []step{
		{op: OpRecordsSave, arg: "Contact\n[{\"id\":\"a\",\"n\":1},{\"id\":\"b\",\"n\":2}]", want: `{"added":2,"updated":0,"unchanged":0}`},
		{op: OpRecordsSave, arg: "Contact\n[{\"n\":1,\"id\":\"a\"},{\"id\":\"b\",\"n\":3}]", want: `{"added":0,"updated":1,"unchanged":1}`},
		{op: OpRecordsSave, arg: "Deal\n[]", wantErr: `model "Deal" is not one of this function's models`},
		{op: OpRecordsSave, arg: "Contact\n[{\"id\":\"c\"},{\"name\":\"no id\"}]", wantErr: "record 1"},
		{op: OpRecordsSave, arg: "Contact\n[{\"id\":\"c\"},7]", wantErr: "record 1: not a JSON object"},
		{op: OpRecordsSave, arg: "Contact", wantErr: `"MODEL\nJSON"`},
		{op: OpRecordsUpdate, arg: "Contact\n[{\"id\":\"a\",\"extra\":{\"x\":1}}]", want: `{"updated":1,"unchanged":0}`},
		{op: OpRecordsUpdate, arg: "Contact\n[{\"id\":\"zz\",\"n\":1}]", wantErr: "zz"},
		{op: OpRecordsGet, arg: "Contact\n[\"nope\",\"a\",\"a\"]", want: `[{"id":"a","n":1,"extra":{"x":1}}]`},
		{op: OpRecordsGet, arg: "Deal\n[\"a\"]", wantErr: `model "Deal" is not one of this function's models`},
		{op: OpRecordsDelete, arg: "Contact\n[\"a\",{\"id\":\"b\"},\"nope\"]", want: `{"deleted":2}`},
		{op: OpRecordsDelete, arg: "Contact\n[1]", wantErr: "nothing deleted"},
		{op: OpRecordsGet, arg: "Contact\n[\"a\"]", want: `[]`},
	})
	// The refused batch with "c" stored nothing.
	live, _, err := db.CountRecords(context.Background(), storage.Scope{Integration: "crm", Connection: "acme", Model: "Contact"})
	if err != nil || live != 0 {
		t.Errorf("live records %d, %v; want 0", live, err)
	}
	want := records.Counts{Added: 2, Updated: 2, Unchanged: 1, Deleted: 2}
	if got := c.Counts()["Contact"]; got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if seen := c.Seen()["Contact"]; len(seen) != 2 {
		t.Errorf("seen %v, want a and b", seen)
	}
	if c.Fatal() != nil {
		t.Errorf("refusals made the call fail: %v", c.Fatal())
	}
	if err := c.Refused(); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("Refused() = %v, want the first refused batch", err)
	}
}

func TestState(t *testing.T) {
	c, db, logs := newCall(t)
	big := `{"x":"` + strings.Repeat("a", MaxStateSize) + `"}`
	runSteps(t, c, []step{
		{op: OpInput, want: "{}"},
		{op: OpCheckpointGet, want: ""},
		{op: OpCheckpointSave, arg: `{ "page": 2 }`},
		{op: OpCheckpointGet, want: `{"page":2}`},
		{op: OpCheckpointSave, arg: `[1]`, wantErr: "checkpoint must be a JSON object"},
		{op: OpCheckpointSave, arg: big, wantErr: "over the 1048576-byte limit"},
		{op: OpCheckpointClear},
		{op: OpCheckpointGet, want: ""},
		{op: OpMetadataGet, want: "{}"},
		{op: OpMetadataSet, arg: `{"folders":["a"]}`},
		{op: OpMetadataGet, want: `{"folders":["a"]}`},
		{op: OpMetadataSet, arg: `"x"`, wantErr: "metadata must be a JSON object"},
		{op: OpLastSyncTime, want: ""},
		{op: OpLog, arg: "warn\nslow page"},
		{op: OpLog, arg: "loud\nx", wantErr: "LEVEL one of"},
		{op: OpOutput, arg: `{"ok":true}`},
		{op: OpFail, arg: "it broke"},
		{op: Op(200), wantErr: "unknown host function"},
	})
	conn, _ := db.Connection(context.Background(), "crm", "acme")
	if string(conn.Metadata) != `{"folders":["a"]}` {
		t.Errorf("stored metadata %s", conn.Metadata)
	}
	if string(c.Output()) != `{"ok":true}` || c.Failure() != "it broke" {
		t.Errorf("output %s, failure %q", c.Output(), c.Failure())
	}
	if len(*logs) != 1 || (*logs)[0] != "warn: slow page" {
		t.Errorf("logs %q", *logs)
	}

	c.LastSuccess = time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	c.Input = []byte(`{"id":1}`)
	runSteps(t, c, []step{
		{op: OpLastSyncTime, want: "2026-02-03T04:05:06.000000007Z"},
		{op: OpInput, want: `{"id":1}`},
	})

	action := &Call{Integration: "crm", Connection: "acme", Store: db}
	runSteps(t, action, []step{
		{op: OpCheckpointGet, wantErr: "only syncs have a checkpoint"},
		{op: OpCheckpointSave, arg: "{}", wantErr: "only syncs have a checkpoint"},
	})
}

func TestArgumentLimit(t *testing.T) {
	c, _, _ := newCall(t)
	_, err := c.Dispatch(context.Background(), OpLog, make([]byte, MaxArgSize+1))
	if err == nil || !strings.Contains(err.Error(), "over the 67108864-byte limit") {
		t.Errorf("err = %v", err)
	}
}

// A write the store refuses fails the call even if the plugin ignores the error.
func TestStoreFailureIsFatal(t *testing.T) {
	c, db, _ := newCall(t)
	db.Close()
	if _, err := c.Dispatch(context.Background(), OpRecordsSave, []byte("Contact\n[{\"id\":\"a\"}]")); err == nil {
		t.Fatal("save on a closed store succeeded")
	}
	if c.Fatal() == nil {
		t.Error("the store's failure did not make the call fail")
	}
}

type fetchFunc func(context.Context, proxy.Request) (*proxy.Response, error)

func (f fetchFunc) Fetch(ctx context.Context, r proxy.Request) (*proxy.Response, error) {
	return f(ctx, r)
}

func TestHTTP(t *testing.T) {
	c, _, _ := newCall(t)
	var got proxy.Request
	c.HTTP = fetchFunc(func(_ context.Context, r proxy.Request) (*proxy.Response, error) {
		got = r
		return &proxy.Response{Status: 201, Header: map[string][]string{"X-A": {"1"}}, Body: []byte("line1\nline2")}, nil
	})
	runSteps(t, c, []step{
		{op: OpHTTP, arg: "{\"method\":\"post\",\"path\":\"/c\",\"query\":{\"a\":[\"1\"]}}\n{\"x\":\n1}", want: "{\"status\":201,\"headers\":{\"X-A\":[\"1\"]}}\nline1\nline2"},
		{op: OpHTTP, arg: `{"path":"/a","url":"http://x/"}`, wantErr: `exactly one of "path" and "url"`},
		{op: OpHTTP, arg: `{}`, wantErr: `exactly one of "path" and "url"`},
		{op: OpHTTP, arg: `nope`, wantErr: "REQUEST_JSON"},
	})
	if got.Method != "POST" || got.Path != "/c" || got.Query.Get("a") != "1" || string(got.Body) != "{\"x\":\n1}" {
		t.Errorf("request = %+v", got)
	}
	noHTTP := &Call{}
	if _, err := noHTTP.Dispatch(context.Background(), OpHTTP, []byte(`{"path":"/"}`)); err == nil {
		t.Error("a call without HTTP access fetched")
	}
}

// TestHTTPStart checks that http_start sends its request in the background, that http_wait
// answers as http does, once per request, and that Flush cancels what was never waited for.
func TestHTTPStart(t *testing.T) {
	c, _, _ := newCall(t)
	fetched := make(chan string, MaxStartedRequests+1)
	c.HTTP = fetchFunc(func(ctx context.Context, r proxy.Request) (*proxy.Response, error) {
		fetched <- r.Path
		switch r.Path {
		case "/fail":
			return nil, errors.New("connection refused")
		case "/slow":
			<-ctx.Done() // answers only once cancelled
			return nil, ctx.Err()
		}
		return &proxy.Response{Status: 200, Body: []byte("page " + r.Query.Get("page"))}, nil
	})
	runSteps(t, c, []step{
		{op: OpHTTPStart, arg: `{"path":"/p","query":{"page":["1"]}}`, want: "1"},
		{op: OpHTTPStart, arg: `{"path":"/p","query":{"page":["2"]}}`, want: "2"},
		{op: OpHTTPStart, arg: `{"path":"/fail"}`, want: "3"},
	})
	// All three were sent before any was waited for.
	for range 3 {
		<-fetched
	}
	runSteps(t, c, []step{
		{op: OpHTTPWait, arg: "2", want: "page 2\n{\"status\":200,\"headers\":null}"},
		{op: OpHTTPWait, arg: "2", wantErr: `no request with id "2" is started`},
		{op: OpHTTPWait, arg: "1", want: "page 1\n{\"status\":200,\"headers\":null}"},
		{op: OpHTTPWait, arg: "3", wantErr: "http_wait: connection refused"},
		{op: OpHTTPWait, arg: "x", wantErr: `no request with id "x"`},
		{op: OpHTTPWait, arg: "", wantErr: `no request with id ""`},
		{op: OpHTTPStart, arg: `{}`, wantErr: `exactly one of "path" and "url"`},
		{op: OpHTTPStart, arg: `nope`, wantErr: "REQUEST_JSON"},
	})

	// The most requests that may be outstanding, the last never answering unless cancelled.
	for i := range MaxStartedRequests - 1 {
		runSteps(t, c, []step{{op: OpHTTPStart, arg: `{"path":"/p"}`, want: strconv.Itoa(4 + i)}})
	}
	runSteps(t, c, []step{
		{op: OpHTTPStart, arg: `{"path":"/slow"}`, want: strconv.Itoa(3 + MaxStartedRequests)},
		{op: OpHTTPStart, arg: `{"path":"/p"}`, wantErr: fmt.Sprintf("%d requests are started and not waited for", MaxStartedRequests)},
		{op: OpHTTPWait, arg: "4", want: "page \n{\"status\":200,\"headers\":null}"},
		{op: OpHTTPStart, arg: `{"path":"/p"}`, want: strconv.Itoa(4 + MaxStartedRequests)},
	})
	// Flush returns only once every request is over: the slow one was cancelled.
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.started.byID); n != 0 {
		t.Errorf("%d requests left after Flush", n)
	}
	noHTTP := &Call{}
	if _, err := noHTTP.Dispatch(context.Background(), OpHTTPStart, []byte(`{"path":"/"}`)); err == nil {
		t.Error("a call without HTTP access started a request")
	}
}

func TestOpNames(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Ops() {
		if !op.Valid() || op.String() == "unknown" || seen[op.String()] {
			t.Errorf("op %d: name %q", op, op.String())
		}
		seen[op.String()] = true
	}
	if Op(0).Valid() || opEnd.Valid() {
		t.Error("out-of-range ops are valid")
	}
}
