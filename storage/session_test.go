package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
)

// committed returns what another reader sees: how many records of s exist, and the checkpoint.
func committed(t *testing.T, db *DB, s Scope, sync string) (int, string) {
	t.Helper()
	live, _, err := db.CountRecords(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := db.Checkpoint(context.Background(), s.Integration, s.Connection, sync)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return live, string(cp)
}

// A session's writes are invisible until committed, and a checkpoint is never committed ahead
// of the records saved before it.
func TestSessionCommitsRecordsBeforeTheirCheckpoint(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(time.Hour, 1<<30) // nothing commits but Flush and the byte budget
	counts, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"},{"id":"b"}]`), t1)
	if err != nil || counts.Added != 2 {
		t.Fatalf("save: %+v, %v", counts, err)
	}
	if err := ses.SaveCheckpoint(ctx, s.Integration, s.Connection, "contacts", []byte(`{"page":1}`)); err != nil {
		t.Fatal(err)
	}
	if n, cp := committed(t, db, s, "contacts"); n != 0 || cp != "" {
		t.Fatalf("before Flush another reader sees %d records and checkpoint %q", n, cp)
	}
	// The counts of a later batch see the earlier, uncommitted one.
	counts, err = ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"},{"id":"c"}]`), t2)
	if err != nil || counts != (records.Counts{Added: 1, Unchanged: 1}) {
		t.Fatalf("second save: %+v, %v", counts, err)
	}
	if err := ses.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, cp := committed(t, db, s, "contacts"); n != 3 || cp != `{"page":1}` {
		t.Fatalf("after Flush: %d records, checkpoint %q", n, cp)
	}
	// A checkpoint saved alone is committed by Flush too.
	if err := ses.SaveCheckpoint(ctx, s.Integration, s.Connection, "contacts", []byte(`{"page":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := ses.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, cp := committed(t, db, s, "contacts"); cp != `{"page":2}` {
		t.Fatalf("checkpoint %q after the second Flush", cp)
	}
}

// Without Flush, a session commits on its own once its hold time has passed, and after the
// byte budget at once.
func TestSessionCommitsByItself(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(20*time.Millisecond, 1<<30)
	if _, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"}]`), t1); err != nil {
		t.Fatal(err)
	}
	if err := ses.SaveCheckpoint(ctx, s.Integration, s.Connection, "contacts", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, cp := committed(t, db, s, "contacts")
		if n == 1 && cp == `{"n":1}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s another reader sees %d records and checkpoint %q", n, cp)
		}
		time.Sleep(5 * time.Millisecond)
	}

	small := db.NewSession(time.Hour, 1) // every batch is over the budget
	if _, err := small.SaveRecords(ctx, s, mustBatch(t, `[{"id":"b"}]`), t1); err != nil {
		t.Fatal(err)
	}
	for n, _ := committed(t, db, s, "contacts"); n != 2; n, _ = committed(t, db, s, "contacts") {
		if time.Now().After(deadline) {
			t.Fatalf("a batch over the byte budget was not committed: %d records", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := small.Flush(); err != nil {
		t.Fatal(err)
	}
}

// A batch its check refuses writes nothing and leaves the session's other batches alone.
func TestSessionRefusedBatchKeepsTheOthers(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(time.Hour, 1<<30)
	if _, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a","v":1}]`), t1); err != nil {
		t.Fatal(err)
	}
	var checked []int
	refuse := Check(func(idx []int) error { checked = idx; return fmt.Errorf("record %d is bad", idx[0]) })
	_, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a","v":1},{"id":"b"},{"id":"c"}]`), t2, refuse)
	if !errors.Is(err, ErrRefused) || err.Error() != "record 1 is bad" {
		t.Fatalf("refused batch: %v", err)
	}
	if fmt.Sprint(checked) != "[1 2]" { // the unchanged record is not checked
		t.Fatalf("check saw %v, want the records to write [1 2]", checked)
	}
	if err := ses.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _ := committed(t, db, s, "contacts"); n != 1 {
		t.Fatalf("%d records, want the first batch's 1", n)
	}
}

// A write that fails rolls back what the session had not committed and fails the session.
func TestSessionFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(time.Hour, 1<<30)
	if _, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"}]`), t1); err != nil {
		t.Fatal(err)
	}
	gone := Scope{"fakecrm", "nobody", "Contact"} // no such connection
	_, err := ses.SaveRecords(ctx, gone, mustBatch(t, `[{"id":"x"}]`), t1)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("save for a missing connection: %v", err)
	}
	if _, err := ses.SaveRecords(ctx, s, mustBatch(t, `[{"id":"b"}]`), t1); err == nil {
		t.Fatal("a failed session took another batch")
	}
	if err := ses.Flush(); err == nil {
		t.Fatal("Flush of a failed session succeeded")
	}
	if n, _ := committed(t, db, s, "contacts"); n != 0 {
		t.Fatalf("%d records survived the rollback", n)
	}
}
