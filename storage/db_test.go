package storage

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
)

// openTest opens a store in a fresh directory, closed when the test ends.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "ferry.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// openStore is openTest with the connections the tests write for already stored: a store
// refuses records, checkpoints and sync states for a connection it does not have.
func openStore(t testing.TB) (*DB, string) {
	t.Helper()
	db, path := openTest(t)
	for _, c := range [][2]string{{"fakecrm", "acme"}, {"fakecrm", "beta"}, {"fakecrm", "other"}, {"other", "acme"}, {"crm", "acme"}} {
		if _, _, err := db.PutConnection(context.Background(), Connection{Integration: c[0], ID: c[1]}); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

func TestOpenLocked(t *testing.T) {
	_, path := openTest(t)
	db2, err := Open(path)
	if err == nil {
		db2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error = %v, want ErrLocked", err)
	}
	if want := "open " + path + ": database is locked by another process"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestCancelledContext(t *testing.T) {
	db, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.AddVersion(ctx, Version{Integration: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddVersion with a cancelled context: %v", err)
	}
	if _, err := db.Integrations(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Integrations with a cancelled context: %v", err)
	}
}

// TestReopen checks that everything written survives Close and Open.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	s := Scope{"fakecrm", "acme", "Contact"}
	if _, err := db.AddVersion(ctx, Version{Integration: "fakecrm", Manifest: []byte("integration: fakecrm\n")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutConnection(ctx, Connection{Integration: "fakecrm", ID: "acme", Credentials: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a","n":1},{"id":"b","n":2}]`), now); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCheckpoint(ctx, "fakecrm", "acme", "contacts", json.RawMessage(`{"page":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutRun(ctx, Run{ID: "r1", Integration: "fakecrm", Connection: "acme", Sync: "contacts", Status: StatusSucceeded, StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.ActiveVersion(ctx, "fakecrm"); err != nil || v.Version != 1 || string(v.Manifest) != "integration: fakecrm\n" {
		t.Errorf("ActiveVersion = %+v, %v", v, err)
	}
	if c, err := db.Connection(ctx, "fakecrm", "acme"); err != nil || string(c.Credentials) != "sealed" {
		t.Errorf("Connection = %+v, %v", c, err)
	}
	recs, _, err := db.ReadRecords(ctx, s, RecordQuery{})
	if err != nil || len(recs) != 2 || string(recs[1].Data) != `{"id":"b","n":2}` || !recs[1].Meta.FirstSeenAt.Equal(now) {
		t.Errorf("ReadRecords = %+v, %v", recs, err)
	}
	if cp, err := db.Checkpoint(ctx, "fakecrm", "acme", "contacts"); err != nil || string(cp) != `{"page":3}` {
		t.Errorf("Checkpoint = %s, %v", cp, err)
	}
	if st, err := db.SyncState(ctx, "fakecrm", "acme", "contacts"); err != nil || st.LastRunID != "r1" || !st.LastSuccessAt.Equal(now) {
		t.Errorf("SyncState = %+v, %v", st, err)
	}
	// The cursor sequence continues where it was.
	if _, err := db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"c"}]`), now); err != nil {
		t.Fatal(err)
	}
	recs, _, _ = db.ReadRecords(ctx, s, RecordQuery{After: 2})
	if len(recs) != 1 || recs[0].ID != "c" || recs[0].Meta.Cursor != "3" {
		t.Errorf("after reopen, new record = %+v", recs)
	}
}

func mustBatch(t testing.TB, s string) []records.Item {
	t.Helper()
	items, err := records.ParseBatch([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return items
}
