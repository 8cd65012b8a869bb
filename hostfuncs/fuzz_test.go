package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// FuzzDecodeRequest checks that any argument of ferry.http is refused or decoded into a
// request with a method and exactly one of a path and a URL, its body copied.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		"{\"path\":\"/contacts\"}\n", "{\"method\":\"post\",\"url\":\"https://api.example.com/x\",\"headers\":{\"A\":[\"b\"]}}\n{\"a\":1}",
		"{\"path\":\"/x\",\"query\":{\"limit\":[\"100\"]}}", "{}", "{\"path\":\"/a\",\"url\":\"https://b\"}\n", "not json\n", "",
		"{\"path\":\"/x\",\"query\":{\"a\":\"not a list\"}}\n", "{\"path\":\"/x\"}\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, arg []byte) {
		req, err := DecodeRequest(arg)
		if err != nil {
			return
		}
		if req.Method == "" || (req.Path == "") == (req.URL == "") {
			t.Fatalf("DecodeRequest(%q) = %+v", arg, req)
		}
		if _, body, _ := bytes.Cut(arg, []byte{'\n'}); !bytes.Equal(req.Body, body) {
			t.Fatalf("body %q, want %q", req.Body, body)
		}
		if len(req.Body) > 0 && len(arg) > 0 && &req.Body[0] == &arg[len(arg)-len(req.Body)] {
			t.Fatal("the body aliases the argument, which is guest memory")
		}
	})
}

// echoFetcher answers every request with 200 and the request's body, without a network.
type echoFetcher struct{}

func (echoFetcher) Fetch(_ context.Context, req proxy.Request) (*proxy.Response, error) {
	return &proxy.Response{Status: 200, Header: map[string][]string{"X-Method": {req.Method}}, Body: req.Body}, nil
}

// dispatchSeeds are one or more well-formed calls of every host function, for the fuzzer to
// start from.
var dispatchSeeds = []struct {
	op  Op
	arg string
}{
	{OpLog, "info\nhello"}, {OpLog, "loud\nno such level"},
	{OpInput, ""},
	{OpHTTP, "{\"method\":\"POST\",\"path\":\"/x\"}\nbody"},
	{OpRecordsSave, "Contact\n[{\"id\":\"a\",\"n\":1},{\"id\":\"b\"}]"}, {OpRecordsSave, "Contact\n[{\"id\":\"a\"},{\"x\":1}]"},
	{OpRecordsUpdate, "Contact\n[{\"id\":\"a\",\"m\":{\"deep\":true}}]"}, {OpRecordsUpdate, "Contact\n[{\"id\":\"nobody\"}]"},
	{OpRecordsDelete, "Contact\n[\"a\",{\"id\":\"b\"}]"},
	{OpRecordsGet, "Contact\n[\"a\",\"a\",\"zz\"]"},
	{OpCheckpointGet, ""}, {OpCheckpointSave, "{\"page\":2}"}, {OpCheckpointSave, "[1]"}, {OpCheckpointClear, ""},
	{OpMetadataGet, ""}, {OpMetadataSet, "{\"k\":\"v\"}"},
	{OpLastSyncTime, ""},
	{OpOutput, "{\"ok\":true}"}, {OpFail, "it broke"},
	{OpLinksPut, "Contact\n{\"app_id\":\"1\",\"external_id\":\"x\"}"}, {OpLinksGet, "Contact\n{\"external_id\":\"x\"}"},
	{OpLinksDelete, "Contact\n{\"app_id\":\"1\"}"},
	{OpTriggerSync, "contacts"}, {OpTriggerSync, "nope"},
	{Op(0), ""}, {Op(200), "x"},
	{OpRecordsSave, "Secret\n[{\"id\":\"a\"}]"},
	{OpRecordsQueue, "Contact\n[{\"id\":\"a\",\"n\":1},{\"id\":\"b\"}]"}, {OpRecordsQueue, "Contact\n[{\"id\":\"a\"},{\"x\":1}]"},
	{OpRecordsFlush, ""},
}

// snapshot is what a host call may change in the store for the fuzzed connection.
type snapshot struct {
	cursors    []uint64
	checkpoint string
	metadata   string
}

func takeSnapshot(t *testing.T, db *storage.DB, connection string) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	for _, m := range []string{"Contact", "Company"} {
		c, err := db.LastCursor(ctx, storage.Scope{Integration: "crm", Connection: connection, Model: m})
		if err != nil {
			t.Fatal(err)
		}
		s.cursors = append(s.cursors, c)
	}
	cp, err := db.Checkpoint(ctx, "crm", connection, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Connection(ctx, "crm", connection)
	if err != nil {
		t.Fatal(err)
	}
	s.checkpoint, s.metadata = string(cp), string(conn.Metadata)
	return s
}

// FuzzDispatch calls host functions with any argument, against a real store. No call may
// panic or fail the store (Call.Fatal); a call that fails changes nothing; and another
// connection's records and checkpoint never change.
func FuzzDispatch(f *testing.F) {
	for _, s := range dispatchSeeds {
		f.Add(byte(s.op), []byte(s.arg))
	}
	db, err := storage.Open(filepath.Join(f.TempDir(), "ferry.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for _, conn := range []string{"acme", "canary"} {
		if _, _, err := db.PutConnection(ctx, storage.Connection{Integration: "crm", ID: conn, Metadata: json.RawMessage(`{}`)}); err != nil {
			f.Fatal(err)
		}
	}
	canaryScope := storage.Scope{Integration: "crm", Connection: "canary", Model: "Contact"}
	items, _ := records.ParseBatch([]byte(`[{"id":"a","n":1},{"id":"b","n":2}]`))
	if _, err := db.SaveRecords(ctx, canaryScope, items, time.Now()); err != nil {
		f.Fatal(err)
	}
	if err := db.SaveCheckpoint(ctx, "crm", "canary", "contacts", json.RawMessage(`{"canary":1}`)); err != nil {
		f.Fatal(err)
	}
	canary := func() (string, error) {
		recs, _, err := db.ReadRecords(ctx, canaryScope, storage.RecordQuery{Limit: 10})
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		for _, r := range recs {
			j, _ := r.MarshalJSON()
			b.Write(j)
		}
		cp, err := db.Checkpoint(ctx, "crm", "canary", "contacts")
		b.Write(cp)
		return b.String(), err
	}
	wantCanary, err := canary()
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, op byte, arg []byte) {
		c := &Call{
			Integration: "crm", Connection: "acme", Sync: "contacts", Models: []string{"Contact", "Company"},
			Store: db, TrackSeen: true, HTTP: echoFetcher{}, Log: func(string, string) {},
			TriggerSync: func(_ context.Context, sync string) error {
				if sync != "contacts" {
					return errors.New("no such sync")
				}
				return nil
			},
		}
		before := takeSnapshot(t, db, "acme")
		guest := slices.Clone(arg)
		_, err := c.Dispatch(ctx, Op(op), arg)
		if !bytes.Equal(arg, guest) {
			t.Fatal("Dispatch wrote to the guest's argument")
		}
		if err == nil { // a queued batch's outcome is the flush's
			_, err = c.Dispatch(ctx, OpRecordsFlush, nil)
		}
		if c.Fatal() != nil {
			t.Fatalf("%s(%q) failed the store: %v", Op(op), arg, c.Fatal())
		}
		if err != nil {
			if after := takeSnapshot(t, db, "acme"); !slices.Equal(after.cursors, before.cursors) ||
				after.checkpoint != before.checkpoint || after.metadata != before.metadata {
				t.Fatalf("%s(%q) failed (%v) but changed the store: %+v → %+v", Op(op), arg, err, before, after)
			}
		}
		if got, err := canary(); err != nil || got != wantCanary {
			t.Fatalf("%s(%q) changed another connection's data (%v):\n%s\nwant\n%s", Op(op), arg, err, got, wantCanary)
		}
	})
}
