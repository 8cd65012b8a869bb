package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestConnections(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)

	c, created, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "acme", Credentials: []byte{0, 1, 2}})
	if err != nil || !created {
		t.Fatalf("first put: created=%v err=%v", created, err)
	}
	if string(c.Metadata) != "{}" {
		t.Errorf("default metadata = %s, want {}", c.Metadata)
	}
	time.Sleep(time.Millisecond) // so UpdatedAt can differ from CreatedAt
	c2, created, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "acme", Credentials: []byte("new"),
		Metadata: json.RawMessage(`{ "folder" : "x" }`), BaseURL: "https://eu.example.com"})
	if err != nil || created {
		t.Fatalf("second put: created=%v err=%v", created, err)
	}
	if !c2.CreatedAt.Equal(c.CreatedAt) || !c2.UpdatedAt.After(c.CreatedAt) {
		t.Errorf("replace: created %v → %v, updated %v", c.CreatedAt, c2.CreatedAt, c2.UpdatedAt)
	}
	got, err := db.Connection(ctx, "fakecrm", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Credentials) != "new" || string(got.Metadata) != `{"folder":"x"}` || got.BaseURL != "https://eu.example.com" ||
		!got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("stored connection = %+v", got)
	}
	// Credentials never appear in the connection's JSON.
	if b, _ := json.Marshal(got); bytes.Contains(b, []byte("new")) {
		t.Errorf("connection JSON shows credentials: %s", b)
	}

	if err := db.SetMetadata(ctx, "fakecrm", "acme", json.RawMessage(`{"folder":"y"}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Connection(ctx, "fakecrm", "acme"); string(got.Metadata) != `{"folder":"y"}` || string(got.Credentials) != "new" {
		t.Errorf("after SetMetadata: %+v", got)
	}
	if err := db.SetMetadata(ctx, "fakecrm", "acme", json.RawMessage(`[1]`)); err == nil {
		t.Error("SetMetadata accepted an array")
	}
	if _, _, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "bad", Metadata: json.RawMessage(`{`)}); err == nil {
		t.Error("PutConnection accepted broken metadata")
	}

	for _, c := range []Connection{{Integration: "fakecrm", ID: "beta"}, {Integration: "drive", ID: "zeta"}, {Integration: "drive", ID: "alpha"}} {
		if _, _, err := db.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		integration string
		want        []string
	}{
		{"", []string{"drive/alpha", "drive/zeta", "fakecrm/acme", "fakecrm/beta"}},
		{"fakecrm", []string{"fakecrm/acme", "fakecrm/beta"}},
		{"none", nil},
	}
	for _, tt := range tests {
		cs, err := db.Connections(ctx, tt.integration)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Integration+"/"+c.ID)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("Connections(%q) = %v, want %v", tt.integration, names, tt.want)
		}
	}
}

func TestConnectionNotFound(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	_, err := db.Connection(ctx, "fakecrm", "acme")
	if !errors.Is(err, ErrNotFound) || err.Error() != "connection fakecrm/acme: not found" {
		t.Errorf("Connection: %v", err)
	}
	if err := db.DeleteConnection(ctx, "fakecrm", "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteConnection: %v", err)
	}
	if err := db.SetMetadata(ctx, "fakecrm", "acme", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMetadata: %v", err)
	}
}

func TestDeleteConnection(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	now := time.Now()
	for _, id := range []string{"acme", "other"} {
		if _, _, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: id}); err != nil {
			t.Fatal(err)
		}
		for _, model := range []string{"Contact", "Company"} {
			if _, err := db.SaveRecords(ctx, Scope{"fakecrm", id, model}, mustBatch(t, `[{"id":"1"},{"id":"2"}]`), now); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SaveCheckpoint(ctx, "fakecrm", id, "contacts", json.RawMessage(`{"p":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutRun(ctx, Run{ID: "run-" + id, Integration: "fakecrm", Connection: id, Sync: "contacts", Status: StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetPaused(ctx, "fakecrm", id, "contacts", true); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.DeleteConnection(ctx, "fakecrm", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Connection(ctx, "fakecrm", "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("connection still there: %v", err)
	}
	for _, model := range []string{"Contact", "Company"} {
		if live, deleted, err := db.CountRecords(ctx, Scope{"fakecrm", "acme", model}); err != nil || live+deleted != 0 {
			t.Errorf("%s records left: %d live, %d deleted, %v", model, live, deleted, err)
		}
	}
	if cp, _ := db.Checkpoint(ctx, "fakecrm", "acme", "contacts"); cp != nil {
		t.Errorf("checkpoint left: %s", cp)
	}
	if st, _ := db.SyncState(ctx, "fakecrm", "acme", "contacts"); st != (SyncState{}) {
		t.Errorf("sync state left: %+v", st)
	}
	if _, err := db.Run(ctx, "run-acme"); err != nil {
		t.Errorf("run of the deleted connection is gone: %v", err)
	}

	// The other connection is untouched.
	if live, _, _ := db.CountRecords(ctx, Scope{"fakecrm", "other", "Contact"}); live != 2 {
		t.Errorf("other connection has %d live records", live)
	}
	if cp, _ := db.Checkpoint(ctx, "fakecrm", "other", "contacts"); string(cp) != `{"p":1}` {
		t.Errorf("other checkpoint = %s", cp)
	}
	if st, _ := db.SyncState(ctx, "fakecrm", "other", "contacts"); !st.Paused || st.LastRunID != "run-other" {
		t.Errorf("other sync state = %+v", st)
	}

	// Re-creating the connection starts from an empty cache with fresh cursors' meaning.
	if _, created, _ := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "acme"}); !created {
		t.Error("re-created connection not reported as created")
	}
	recs, _, _ := db.ReadRecords(ctx, Scope{"fakecrm", "acme", "Contact"}, RecordQuery{})
	if len(recs) != 0 {
		t.Errorf("re-created connection has records: %+v", recs)
	}
}

// A run that outlives its connection's deletion cannot bring back its records, checkpoint or
// sync state.
func TestWritesAfterDeleteConnection(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	if err := db.DeleteConnection(ctx, "fakecrm", "acme"); err != nil {
		t.Fatal(err)
	}
	s := Scope{"fakecrm", "acme", "Contact"}
	if _, err := db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"}]`), t1); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveRecords: %v", err)
	}
	if err := db.SaveCheckpoint(ctx, "fakecrm", "acme", "contacts", json.RawMessage(`{"page":9}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveCheckpoint: %v", err)
	}
	if err := db.SetPaused(ctx, "fakecrm", "acme", "contacts", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPaused: %v", err)
	}
	run := Run{ID: "r1", Integration: "fakecrm", Connection: "acme", Sync: "contacts", Status: StatusSucceeded, StartedAt: t1}
	if err := db.PutRun(ctx, run); err != nil {
		t.Fatal(err) // the run itself is history and is kept
	}
	if _, _, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.SyncState(ctx, "fakecrm", "acme", "contacts"); st != (SyncState{}) {
		t.Errorf("the re-created connection inherits sync state %+v", st)
	}
	if cp, _ := db.Checkpoint(ctx, "fakecrm", "acme", "contacts"); cp != nil {
		t.Errorf("the re-created connection inherits checkpoint %s", cp)
	}
	if live, _, _ := db.CountRecords(ctx, s); live != 0 {
		t.Errorf("the re-created connection inherits %d records", live)
	}
}
