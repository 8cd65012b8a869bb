package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ferrysync/ferry/records"
)

// deliveryID returns the i-th of a series of time-ordered ids shaped like UUIDv7.
func deliveryID(i int) string { return fmt.Sprintf("0193b000-0000-7000-8000-%012d", i) }

func deliveryIDs(is ...int) string {
	var s []string
	for _, i := range is {
		s = append(s, deliveryID(i))
	}
	return strings.Join(s, ",")
}

func idsOf(ds []Delivery) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.ID)
	}
	return strings.Join(s, ",")
}

var outboxStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// finishedRun is run i of fakecrm/acme/contacts, succeeded.
func finishedRun(i int) Run {
	end := outboxStart.Add(time.Duration(i)*time.Minute + time.Second)
	return Run{ID: runID(i), Integration: "fakecrm", Connection: "acme", Sync: "contacts", Version: 1, Trigger: "manual",
		Status: StatusSucceeded, StartedAt: outboxStart.Add(time.Duration(i) * time.Minute), EndedAt: &end,
		Counts: map[string]records.Counts{"Contact": {Added: i}}}
}

// queued is a pending delivery i, due at next.
func queued(i int, next time.Time) Delivery {
	return Delivery{ID: deliveryID(i), Type: "sync.completed", Body: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		NextAttemptAt: next, CreatedAt: outboxStart}
}

// openOutbox opens a store holding the connection the runs of these tests belong to (a sync
// state is kept only for a stored connection).
func openOutbox(t *testing.T) (*DB, string) {
	t.Helper()
	db, path := openTest(t)
	if _, _, err := db.PutConnection(context.Background(), Connection{Integration: "fakecrm", ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// countKeys counts the keys of a top-level bucket.
func countKeys(t *testing.T, db *DB, bucket []byte) int {
	t.Helper()
	n := 0
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFinishRunStoresRunAndDeliveriesTogether(t *testing.T) {
	ctx := context.Background()
	db, path := openOutbox(t)
	// Bytes that encoding/json would change if it re-encoded them: whitespace, key order, "<".
	body := json.RawMessage("{\"type\": \"sync.completed\",  \"model\": \"<Contact>\"}\n")
	ds := []Delivery{
		{ID: deliveryID(1), Type: "sync.completed", Body: body, NextAttemptAt: outboxStart, CreatedAt: outboxStart},
		{ID: deliveryID(2), Type: "sync.completed", Body: json.RawMessage(`{"model":"Company"}`), NextAttemptAt: outboxStart, CreatedAt: outboxStart},
	}
	if err := db.FinishRun(ctx, finishedRun(1), ds); err != nil {
		t.Fatal(err)
	}
	// Survives a reopen, as after a crash.
	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	r, err := db.Run(ctx, runID(1))
	if err != nil || r.Status != StatusSucceeded || r.Counts["Contact"].Added != 1 {
		t.Fatalf("run = %+v, %v", r, err)
	}
	st, _ := db.SyncState(ctx, "fakecrm", "acme", "contacts")
	if st.LastRunID != runID(1) || !st.LastSuccessAt.Equal(r.StartedAt) {
		t.Errorf("sync state = %+v, want the run's", st)
	}
	got, err := db.Deliveries(ctx, DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if idsOf(got) != deliveryIDs(2, 1) {
		t.Fatalf("deliveries = %s", idsOf(got))
	}
	d := got[1]
	if string(d.Body) != string(body) {
		t.Errorf("body = %q, want the queued bytes %q", d.Body, body)
	}
	if d.Status != DeliveryPending || d.RunID != runID(1) || d.Attempts != 0 || !d.CreatedAt.Equal(outboxStart) || d.DeliveredAt != nil {
		t.Errorf("delivery = %+v", d)
	}
	if due, _ := db.DueDeliveries(ctx, outboxStart, 0); idsOf(due) != deliveryIDs(1, 2) {
		t.Errorf("due = %s", idsOf(due))
	}
}

func TestFailingFinishRunStoresNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		ds   []Delivery
		want string
	}{
		{"a delivery id already queued", []Delivery{queued(10, outboxStart), queued(1, outboxStart)}, "delivery " + deliveryID(1) + " already exists"},
		{"the same id twice", []Delivery{queued(10, outboxStart), queued(10, outboxStart)}, "delivery " + deliveryID(10) + " already exists"},
		{"a body that is not JSON", []Delivery{queued(10, outboxStart), {ID: deliveryID(11), Type: "sync.completed", Body: json.RawMessage(`{"n":`)}}, "body is not valid JSON"},
		{"an empty body", []Delivery{{ID: deliveryID(11), Type: "sync.completed"}}, "body is not valid JSON"},
		{"no id", []Delivery{{Type: "sync.completed", Body: json.RawMessage(`{}`)}}, "id and type must not be empty"},
		{"an unknown status", []Delivery{{ID: deliveryID(11), Type: "sync.failed", Status: "lost", Body: json.RawMessage(`{}`)}}, `unknown status "lost"`},
		{"another run's delivery", []Delivery{{ID: deliveryID(11), Type: "sync.failed", RunID: runID(9), Body: json.RawMessage(`{}`)}}, "belongs to run " + runID(9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openOutbox(t)
			if err := db.FinishRun(ctx, finishedRun(1), []Delivery{queued(1, outboxStart)}); err != nil {
				t.Fatal(err)
			}
			run := finishedRun(2)
			run.Status = StatusFailed
			err := db.FinishRun(ctx, run, tt.ds)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "finish run "+runID(2)) {
				t.Fatalf("FinishRun error = %v, want one about run 2 containing %q", err, tt.want)
			}
			if _, err := db.Run(ctx, runID(2)); !errors.Is(err, ErrNotFound) {
				t.Errorf("the run was stored: %v", err)
			}
			if st, _ := db.SyncState(ctx, "fakecrm", "acme", "contacts"); st.LastRunID != runID(1) {
				t.Errorf("sync state moved to %s", st.LastRunID)
			}
			if ds, _ := db.Deliveries(ctx, DeliveryFilter{}); idsOf(ds) != deliveryIDs(1) {
				t.Errorf("deliveries = %s, want only the first run's", idsOf(ds))
			}
			if n := countKeys(t, db, bucketDeliveryDue); n != 1 {
				t.Errorf("due index has %d keys, want 1", n)
			}
		})
	}
	db, _ := openOutbox(t)
	if err := db.FinishRun(ctx, Run{ID: runID(1)}, nil); err == nil {
		t.Error("FinishRun accepted a run without integration, connection and sync")
	}
}

func TestDueDeliveries(t *testing.T) {
	ctx := context.Background()
	db, _ := openOutbox(t)
	if _, ok, err := db.NextDeliveryAt(ctx); ok || err != nil {
		t.Fatalf("NextDeliveryAt of an empty outbox = %v, %v", ok, err)
	}
	// Queued out of order; due order is by next attempt, then id.
	at := func(s int) time.Time { return outboxStart.Add(time.Duration(s) * time.Second) }
	ds := []Delivery{queued(1, at(30)), queued(2, at(10)), queued(3, at(20)), queued(4, at(10)), queued(5, time.Time{})}
	if err := db.FinishRun(ctx, finishedRun(1), ds); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now   time.Time
		limit int
		want  string
	}{
		{at(-1), 0, deliveryIDs(5)}, // the zero time is due at once
		{at(10), 0, deliveryIDs(5, 2, 4)},
		{at(25), 0, deliveryIDs(5, 2, 4, 3)},
		{at(25), 2, deliveryIDs(5, 2)},
		{at(3600), 0, deliveryIDs(5, 2, 4, 3, 1)},
	}
	for _, tt := range tests {
		got, err := db.DueDeliveries(ctx, tt.now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if idsOf(got) != tt.want {
			t.Errorf("due at %s (limit %d) = %s, want %s", tt.now.Format(time.TimeOnly), tt.limit, idsOf(got), tt.want)
		}
	}
	if next, ok, _ := db.NextDeliveryAt(ctx); !ok || !next.IsZero() {
		t.Errorf("NextDeliveryAt = %v %v, want the zero time", next, ok)
	}

	// An attempt at 5 fails: retried later. 2 is delivered, 4 given up on: neither is due again.
	all, _ := db.DueDeliveries(ctx, at(3600), 0)
	byID := map[string]Delivery{}
	for _, d := range all {
		byID[d.ID] = d
	}
	d5 := byID[deliveryID(5)]
	d5.Attempts, d5.NextAttemptAt, d5.LastError = 1, at(15), "HTTP 503"
	d5.Body = json.RawMessage(`{"changed":true}`) // ignored: the body is fixed when queued
	d2 := byID[deliveryID(2)]
	delivered := at(11)
	d2.Status, d2.Attempts, d2.DeliveredAt = DeliveryDelivered, 1, &delivered
	d4 := byID[deliveryID(4)]
	d4.Status, d4.Attempts, d4.LastError = DeliveryFailed, 9, "connection refused"
	for _, d := range []Delivery{d5, d2, d4} {
		if err := db.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := db.DueDeliveries(ctx, at(3600), 0); idsOf(got) != deliveryIDs(5, 3, 1) {
		t.Errorf("due after the attempts = %s", idsOf(got))
	}
	if got, _ := db.DueDeliveries(ctx, at(12), 0); len(got) != 0 {
		t.Errorf("due at 12s = %s, want none", idsOf(got))
	}
	if next, ok, _ := db.NextDeliveryAt(ctx); !ok || !next.Equal(at(15)) {
		t.Errorf("NextDeliveryAt = %v %v, want %v", next, ok, at(15))
	}
	if n := countKeys(t, db, bucketDeliveryDue); n != 3 {
		t.Errorf("due index has %d keys, want 3 (the pending ones)", n)
	}
	if n := countKeys(t, db, bucketDeliveryStatus); n != 5 {
		t.Errorf("status index has %d keys, want 5", n)
	}
	got, _ := db.Deliveries(ctx, DeliveryFilter{Status: DeliveryPending})
	if idsOf(got) != deliveryIDs(5, 3, 1) {
		t.Fatalf("pending = %s", idsOf(got))
	}
	if g := got[0]; string(g.Body) != `{"n":5}` || g.Attempts != 1 || g.LastError != "HTTP 503" || g.Type != "sync.completed" || g.RunID != runID(1) {
		t.Errorf("after an update: %+v", g)
	}
	if err := db.UpdateDelivery(ctx, Delivery{ID: "nope", Status: DeliveryDelivered}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an unknown delivery: %v", err)
	}
	if err := db.UpdateDelivery(ctx, Delivery{ID: deliveryID(1), Status: "sent"}); err == nil {
		t.Error("UpdateDelivery accepted an unknown status")
	}
}

func TestDeliveriesFilter(t *testing.T) {
	ctx := context.Background()
	db, _ := openOutbox(t)
	var ds []Delivery
	for i := 1; i <= 6; i++ {
		ds = append(ds, queued(i, outboxStart))
	}
	if err := db.FinishRun(ctx, finishedRun(1), ds); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{2, 4, 5} {
		d := ds[i-1]
		d.Status = DeliveryDelivered
		if i == 4 {
			d.Status = DeliveryFailed
		}
		if err := db.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    DeliveryFilter
		want string
	}{
		{"all newest first", DeliveryFilter{}, deliveryIDs(6, 5, 4, 3, 2, 1)},
		{"limit", DeliveryFilter{Limit: 2}, deliveryIDs(6, 5)},
		{"pending", DeliveryFilter{Status: DeliveryPending}, deliveryIDs(6, 3, 1)},
		{"delivered", DeliveryFilter{Status: DeliveryDelivered}, deliveryIDs(5, 2)},
		{"failed", DeliveryFilter{Status: DeliveryFailed}, deliveryIDs(4)},
		{"delivered with limit", DeliveryFilter{Status: DeliveryDelivered, Limit: 1}, deliveryIDs(5)},
		{"unknown status", DeliveryFilter{Status: "zzz"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Deliveries(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if idsOf(got) != tt.want {
				t.Errorf("got %s\nwant %s", idsOf(got), tt.want)
			}
		})
	}
}

func TestPruneDeliveries(t *testing.T) {
	ctx := context.Background()
	db, _ := openOutbox(t)
	old, recent := outboxStart.Add(-8*24*time.Hour), outboxStart.Add(-time.Hour)
	specs := []struct {
		created time.Time
		status  string
	}{
		{old, DeliveryDelivered},    // 1: pruned
		{old, DeliveryFailed},       // 2: pruned
		{old, DeliveryPending},      // 3: kept, still to deliver
		{recent, DeliveryDelivered}, // 4: kept, recent
		{recent, DeliveryFailed},    // 5: kept, recent
	}
	var ds []Delivery
	for i, sp := range specs {
		d := queued(i+1, outboxStart)
		d.CreatedAt, d.Status = sp.created, sp.status
		ds = append(ds, d)
	}
	if err := db.FinishRun(ctx, finishedRun(1), ds); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneDeliveries(ctx, outboxStart.Add(-7*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneDeliveries = %d, %v; want 2", n, err)
	}
	if got, _ := db.Deliveries(ctx, DeliveryFilter{}); idsOf(got) != deliveryIDs(5, 4, 3) {
		t.Errorf("after pruning: %s", idsOf(got))
	}
	if n := countKeys(t, db, bucketDeliveryStatus); n != 3 {
		t.Errorf("status index has %d keys, want 3", n)
	}
	if n, _ := db.PruneDeliveries(ctx, outboxStart.Add(-7*24*time.Hour)); n != 0 {
		t.Errorf("second prune deleted %d", n)
	}
	// The run itself is untouched.
	if _, err := db.Run(ctx, runID(1)); err != nil {
		t.Error(err)
	}
}
