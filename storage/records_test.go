package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
)

var (
	t1 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 = t1.Add(time.Hour)
	t3 = t2.Add(time.Hour)
	t4 = t3.Add(time.Hour)
)

// get returns the stored record id, deleted or not.
func get(t *testing.T, db *DB, s Scope, id string) records.Record {
	t.Helper()
	recs, _, err := db.ReadRecords(context.Background(), s, RecordQuery{IDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("record %s: got %d records", id, len(recs))
	}
	return recs[0]
}

// TestSaveRecords walks one record through add, unchanged re-sends, update, delete and
// re-add, checking counts and metadata after each step.
func TestSaveRecords(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	steps := []struct {
		name       string
		op         string // save | delete
		batch      string
		at         time.Time
		want       records.Counts
		wantData   string
		wantAction records.Action
		wantCursor string
		wantMod    time.Time
		deleted    bool
	}{
		{"add", "save", `[{"id":"a","name":"Ada","tags":["x"]},{"id":"b"}]`, t1,
			records.Counts{Added: 2}, `{"id":"a","name":"Ada","tags":["x"]}`, records.Added, "1", t1, false},
		{"same content", "save", `[{"id":"a","name":"Ada","tags":["x"]}]`, t2,
			records.Counts{Unchanged: 1}, `{"id":"a","name":"Ada","tags":["x"]}`, records.Added, "1", t1, false},
		{"key order and whitespace only", "save", "[{ \"tags\" : [ \"x\" ], \"name\":\"\\u0041da\", \"id\":\"a\"}]", t2,
			records.Counts{Unchanged: 1}, `{"id":"a","name":"Ada","tags":["x"]}`, records.Added, "1", t1, false},
		{"changed", "save", `[{"id":"a","name":"Ada L","tags":["x"]},{"id":"b"}]`, t2,
			records.Counts{Updated: 1, Unchanged: 1}, `{"id":"a","name":"Ada L","tags":["x"]}`, records.Updated, "3", t2, false},
		{"delete", "delete", `["a","missing"]`, t3,
			records.Counts{Deleted: 1}, `{"id":"a","name":"Ada L","tags":["x"]}`, records.Deleted, "4", t3, true},
		{"delete again", "delete", `["a"]`, t4,
			records.Counts{}, `{"id":"a","name":"Ada L","tags":["x"]}`, records.Deleted, "4", t3, true},
		{"re-add same content", "save", `[{"id":"a","name":"Ada L","tags":["x"]}]`, t4,
			records.Counts{Added: 1}, `{"id":"a","name":"Ada L","tags":["x"]}`, records.Added, "5", t4, false},
	}
	for _, st := range steps {
		var got records.Counts
		var err error
		if st.op == "save" {
			got, err = db.SaveRecords(ctx, s, mustBatch(t, st.batch), st.at)
		} else {
			ids, perr := records.ParseIDs([]byte(st.batch))
			if perr != nil {
				t.Fatal(perr)
			}
			got, err = db.DeleteRecords(ctx, s, ids, st.at)
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: counts = %+v, want %+v", st.name, got, st.want)
		}
		r := get(t, db, s, "a")
		if string(r.Data) != st.wantData || r.Meta.LastAction != st.wantAction || r.Meta.Cursor != st.wantCursor ||
			!r.Meta.LastModifiedAt.Equal(st.wantMod) || !r.Meta.FirstSeenAt.Equal(t1) {
			t.Errorf("%s: record = %s %+v", st.name, r.Data, r.Meta)
		}
		if st.deleted != (r.Meta.DeletedAt != nil) || (st.deleted && !r.Meta.DeletedAt.Equal(st.wantMod)) {
			t.Errorf("%s: deleted_at = %v", st.name, r.Meta.DeletedAt)
		}
		live, _ := db.GetRecords(ctx, s, []string{"a"})
		if st.deleted != (len(live) == 0) {
			t.Errorf("%s: GetRecords returned %d records", st.name, len(live))
		}
	}
	if live, deleted, err := db.CountRecords(ctx, s); live != 2 || deleted != 0 || err != nil {
		t.Errorf("CountRecords = %d, %d, %v", live, deleted, err)
	}
}

func TestSaveRecordsDuplicateIDs(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	got, err := db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a","v":1},{"id":"a","v":2}]`), t1)
	if err != nil || got != (records.Counts{Added: 1}) {
		t.Fatalf("counts = %+v, %v", got, err)
	}
	if r := get(t, db, s, "a"); string(r.Data) != `{"id":"a","v":2}` {
		t.Errorf("stored %s, want the last duplicate", r.Data)
	}
}

func TestScopesAreSeparate(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	scopes := []Scope{{"fakecrm", "acme", "Contact"}, {"fakecrm", "acme", "Company"}, {"fakecrm", "beta", "Contact"}, {"other", "acme", "Contact"}}
	for i, s := range scopes {
		got, err := db.SaveRecords(ctx, s, mustBatch(t, fmt.Sprintf(`[{"id":"1","scope":%d}]`, i)), t1)
		if err != nil || got.Added != 1 {
			t.Fatalf("%v: %+v %v", s, got, err)
		}
	}
	for i, s := range scopes {
		r := get(t, db, s, "1")
		if string(r.Data) != fmt.Sprintf(`{"id":"1","scope":%d}`, i) || r.Meta.Cursor != "1" {
			t.Errorf("%v: %s cursor %s", s, r.Data, r.Meta.Cursor)
		}
	}
	if _, err := db.SaveRecords(ctx, Scope{"fakecrm", "", "Contact"}, mustBatch(t, `[{"id":"1"}]`), t1); err == nil {
		t.Error("SaveRecords accepted an empty connection")
	}
}

// history builds a model whose records changed in a known order:
//
//	cursor 1 a added, 2 b added, 3 c added, 4 b updated, 5 a deleted, 6 b updated, 7 d added
//
// so reading from 0 returns c(3), a(5), b(6), d(7).
func history(t *testing.T) (*DB, Scope) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	must := func(_ records.Counts, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a"},{"id":"b"},{"id":"c"}]`), t1))
	must(db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"b","v":1}]`), t2))
	must(db.DeleteRecords(ctx, s, []string{"a"}, t3))
	must(db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"b","v":2},{"id":"c"}]`), t3))
	must(db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"d"}]`), t4))
	return db, s
}

func TestReadRecords(t *testing.T) {
	db, s := history(t)
	tests := []struct {
		name     string
		q        RecordQuery
		want     string // id@cursor ...
		wantNext uint64
	}{
		{"all", RecordQuery{}, "c@3 a@5 b@6 d@7", 0},
		{"after 3", RecordQuery{After: 3}, "a@5 b@6 d@7", 0},
		{"after 4 skips the old position of b", RecordQuery{After: 4}, "a@5 b@6 d@7", 0},
		{"after 6", RecordQuery{After: 6}, "d@7", 0},
		{"after the end", RecordQuery{After: 7}, "", 0},
		{"after max", RecordQuery{After: ^uint64(0)}, "", 0},
		{"limit", RecordQuery{Limit: 2}, "c@3 a@5", 5},
		{"limit, next page", RecordQuery{After: 5, Limit: 2}, "b@6 d@7", 0},
		{"limit equal to what is left", RecordQuery{After: 3, Limit: 3}, "a@5 b@6 d@7", 0},
		{"added", RecordQuery{Actions: []records.Action{records.Added}}, "c@3 d@7", 0},
		{"added, limit 1", RecordQuery{Actions: []records.Action{records.Added}, Limit: 1}, "c@3", 3},
		{"added, limit 1, page 2", RecordQuery{After: 3, Actions: []records.Action{records.Added}, Limit: 1}, "d@7", 0},
		{"deleted", RecordQuery{Actions: []records.Action{records.Deleted}}, "a@5", 0},
		{"updated or deleted", RecordQuery{Actions: []records.Action{records.Updated, records.Deleted}}, "a@5 b@6", 0},
		{"updated, limit 1: nothing matches after", RecordQuery{Actions: []records.Action{records.Updated}, Limit: 1}, "b@6", 0},
		{"ids in cursor order", RecordQuery{IDs: []string{"d", "a", "missing", "a"}}, "a@5 d@7", 0},
		{"ids after", RecordQuery{IDs: []string{"d", "a", "c"}, After: 4}, "a@5 d@7", 0},
		{"ids with limit", RecordQuery{IDs: []string{"d", "a", "c"}, Limit: 2}, "c@3 a@5", 5},
		{"ids and action", RecordQuery{IDs: []string{"d", "a", "c"}, Actions: []records.Action{records.Deleted}}, "a@5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, next, err := db.ReadRecords(context.Background(), s, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(recs); got != tt.want || next != tt.wantNext {
				t.Errorf("got %q next %d, want %q next %d", got, next, tt.want, tt.wantNext)
			}
		})
	}
	if _, _, err := db.ReadRecords(context.Background(), s, RecordQuery{Actions: []records.Action{"bogus"}}); err == nil {
		t.Error("unknown action accepted")
	}
	if recs, next, err := db.ReadRecords(context.Background(), Scope{"fakecrm", "acme", "Nothing"}, RecordQuery{}); err != nil || len(recs) != 0 || next != 0 {
		t.Errorf("unknown model: %v %d %v", recs, next, err)
	}
}

func summary(recs []records.Record) string {
	var parts []string
	for _, r := range recs {
		parts = append(parts, r.ID+"@"+r.Meta.Cursor)
	}
	return strings.Join(parts, " ")
}

// TestReadRecordsEachChangeOnce pages through a model while it keeps changing and checks
// the consumer's view: cursors strictly increase, and every change is seen.
func TestReadRecordsEachChangeOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	var after uint64
	seen := map[string]string{} // id -> last data seen
	want := map[string]string{}
	var lastCursor uint64
	for round := range 20 {
		var b strings.Builder
		b.WriteString("[")
		for i := range 30 {
			if i > 0 {
				b.WriteString(",")
			}
			id := (round*7 + i*3) % 50 // overlapping ids: many records change several times
			fmt.Fprintf(&b, `{"id":"%d","round":%d}`, id, round)
			want[fmt.Sprint(id)] = fmt.Sprintf(`{"id":"%d","round":%d}`, id, round)
		}
		b.WriteString("]")
		if _, err := db.SaveRecords(ctx, s, mustBatch(t, b.String()), t1); err != nil {
			t.Fatal(err)
		}
		// Read everything new, in pages of 7.
		for {
			recs, next, err := db.ReadRecords(ctx, s, RecordQuery{After: after, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, r := range recs {
				c, err := records.ParseCursor(r.Meta.Cursor)
				if err != nil {
					t.Fatal(err)
				}
				if c <= lastCursor {
					t.Fatalf("cursor %d after %d", c, lastCursor)
				}
				if ids[r.ID] {
					t.Fatalf("record %s twice in one page", r.ID)
				}
				ids[r.ID] = true
				lastCursor = c
				seen[r.ID] = string(r.Data)
			}
			if next == 0 {
				if len(recs) > 0 {
					after = lastCursor
				}
				break
			}
			if next != lastCursor {
				t.Fatalf("next = %d, last returned cursor = %d", next, lastCursor)
			}
			after = next
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("saw %d records, want %d", len(seen), len(want))
	}
	for id, data := range want {
		if seen[id] != data {
			t.Errorf("record %s: consumer saw %s, want %s", id, seen[id], data)
		}
	}
}

func TestUpdateRecords(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	if _, err := db.SaveRecords(ctx, s, mustBatch(t, `[{"id":"a","name":"Ada","addr":{"city":"London","zip":"1"}},{"id":"b","n":1},{"id":"gone"}]`), t1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteRecords(ctx, s, []string{"gone"}, t1); err != nil {
		t.Fatal(err)
	}

	got, err := db.UpdateRecords(ctx, s, mustBatch(t, `[{"id":"a","addr":{"zip":"2"},"tags":["x"]},{"id":"b","n":1}]`), t2)
	if err != nil {
		t.Fatal(err)
	}
	if got != (records.Counts{Updated: 1, Unchanged: 1}) {
		t.Errorf("counts = %+v", got)
	}
	a := get(t, db, s, "a")
	if string(a.Data) != `{"id":"a","name":"Ada","addr":{"city":"London","zip":"2"},"tags":["x"]}` ||
		a.Meta.LastAction != records.Updated || !a.Meta.LastModifiedAt.Equal(t2) || a.Meta.Cursor != "5" {
		t.Errorf("a = %s %+v", a.Data, a.Meta)
	}
	if b := get(t, db, s, "b"); b.Meta.Cursor != "2" || !b.Meta.LastModifiedAt.Equal(t1) {
		t.Errorf("unchanged b was rewritten: %+v", b.Meta)
	}
	// A merged record is hashed canonically: saving the merged content in another key order
	// is unchanged.
	if got, _ := db.SaveRecords(ctx, s, mustBatch(t, `[{"tags":["x"],"addr":{"zip":"2","city":"London"},"name":"Ada","id":"a"}]`), t3); got != (records.Counts{Unchanged: 1}) {
		t.Errorf("re-saving merged content: %+v", got)
	}

	for _, bad := range []struct{ name, batch, id string }{
		{"unknown", `[{"id":"b","n":2},{"id":"zz","n":1}]`, "zz"},
		{"deleted", `[{"id":"b","n":2},{"id":"gone","n":1}]`, "gone"},
	} {
		_, err := db.UpdateRecords(ctx, s, mustBatch(t, bad.batch), t3)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprintf("record %q", bad.id)) {
			t.Errorf("%s: error = %v", bad.name, err)
		}
		if b := get(t, db, s, "b"); string(b.Data) != `{"id":"b","n":1}` {
			t.Errorf("%s: a refused batch changed b: %s", bad.name, b.Data)
		}
	}
}

func TestDeleteMissing(t *testing.T) {
	ids := func(prefix string, n int) map[string]struct{} {
		m := map[string]struct{}{}
		for i := range n {
			m[fmt.Sprintf("%s%d", prefix, i)] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name     string
		seen     map[string]map[string]struct{}
		maxShare float64
		want     map[string]records.Counts
		wantErr  string
	}{
		{"everything seen", map[string]map[string]struct{}{"Contact": ids("c", 10), "Company": ids("o", 10)}, 0.5,
			map[string]records.Counts{"Contact": {}, "Company": {}}, ""},
		{"some missing", map[string]map[string]struct{}{"Contact": ids("c", 7), "Company": ids("o", 10)}, 0.5,
			map[string]records.Counts{"Contact": {Deleted: 3}, "Company": {}}, ""},
		{"exactly at the limit", map[string]map[string]struct{}{"Contact": ids("c", 0), "Company": ids("o", 10)}, 0.5,
			map[string]records.Counts{"Contact": {Deleted: 10}, "Company": {}}, ""},
		{"over the limit", map[string]map[string]struct{}{"Contact": ids("c", 0), "Company": ids("o", 9)}, 0.5,
			nil, "full sync would delete 11 of 20 records (55%), over the 50% limit; rerun with force to allow it"},
		{"empty run", map[string]map[string]struct{}{"Contact": {}, "Company": {}}, 0.5,
			nil, "full sync would delete 20 of 20 records (100%), over the 50% limit; rerun with force to allow it"},
		{"forced", map[string]map[string]struct{}{"Contact": {}, "Company": {}}, 1,
			map[string]records.Counts{"Contact": {Deleted: 10}, "Company": {Deleted: 10}}, ""},
		{"only the sync's models", map[string]map[string]struct{}{"Contact": ids("c", 5)}, 0.5,
			map[string]records.Counts{"Contact": {Deleted: 5}}, ""},
		{"model with no records", map[string]map[string]struct{}{"Contact": ids("c", 10), "Deal": {}}, 0.5,
			map[string]records.Counts{"Contact": {}, "Deal": {}}, ""},
		{"zero share refuses any deletion", map[string]map[string]struct{}{"Contact": ids("c", 9)}, 0,
			nil, "full sync would delete 1 of 10 records (10%), over the 0% limit; rerun with force to allow it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openStore(t)
			// 10 live Contacts c0..c9 and 10 live Companies o0..o9, plus 5 deleted
			// Contacts that count for nothing.
			for model, prefix := range map[string]string{"Contact": "c", "Company": "o"} {
				s := Scope{"fakecrm", "acme", model}
				var items []records.Item
				for i := range 15 {
					items = append(items, mustBatch(t, fmt.Sprintf(`[{"id":"%s%d"}]`, prefix, i))...)
				}
				if _, err := db.SaveRecords(ctx, s, items, t1); err != nil {
					t.Fatal(err)
				}
				if _, err := db.DeleteRecords(ctx, s, []string{prefix + "10", prefix + "11", prefix + "12", prefix + "13", prefix + "14"}, t1); err != nil {
					t.Fatal(err)
				}
			}

			got, err := db.DeleteMissing(ctx, "fakecrm", "acme", tt.seen, tt.maxShare, t2)
			if tt.wantErr != "" {
				var mde *MassDeleteError
				if !errors.As(err, &mde) || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				for _, model := range []string{"Contact", "Company"} {
					live, deleted, _ := db.CountRecords(ctx, Scope{"fakecrm", "acme", model})
					if live != 10 || deleted != 5 {
						t.Errorf("guard tripped but %s has %d live, %d deleted", model, live, deleted)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("counts = %v, want %v", got, tt.want)
			}
			for model, c := range tt.want {
				live, _, _ := db.CountRecords(ctx, Scope{"fakecrm", "acme", model})
				recs, _, _ := db.ReadRecords(ctx, Scope{"fakecrm", "acme", model}, RecordQuery{Actions: []records.Action{records.Deleted}, After: 20, Limit: 1000})
				if c.Deleted != len(recs) {
					t.Errorf("%s: %d records deleted after the sync's start, counts say %d", model, len(recs), c.Deleted)
				}
				for _, r := range recs {
					if _, kept := tt.seen[model][r.ID]; kept || !r.Meta.DeletedAt.Equal(t2) {
						t.Errorf("%s: deleted %s (seen: %v) at %v", model, r.ID, kept, r.Meta.DeletedAt)
					}
				}
				if model != "Deal" && live != 10-c.Deleted {
					t.Errorf("%s: %d live after deleting %d of 10", model, live, c.Deleted)
				}
			}
		})
	}
}

func TestMassDeleteErrorMessage(t *testing.T) {
	err := &MassDeleteError{Deleted: 60, Live: 100, MaxShare: 0.5}
	want := "full sync would delete 60 of 100 records (60%), over the 50% limit; rerun with force to allow it"
	if err.Error() != want {
		t.Errorf("got %q", err.Error())
	}
	err = &MassDeleteError{Deleted: 2, Live: 3, MaxShare: 0.25}
	if want := "full sync would delete 2 of 3 records (66.7%), over the 25% limit; rerun with force to allow it"; err.Error() != want {
		t.Errorf("got %q", err.Error())
	}
}

func TestGetRecords(t *testing.T) {
	db, s := history(t)
	recs, err := db.GetRecords(context.Background(), s, []string{"d", "a", "missing", "b", "", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(recs); got != "d@7 b@6 d@7" {
		t.Errorf("GetRecords = %q", got)
	}
	if string(recs[1].Data) != `{"id":"b","v":2}` {
		t.Errorf("b = %s", recs[1].Data)
	}
	if recs, err := db.GetRecords(context.Background(), Scope{"x", "y", "z"}, []string{"a"}); err != nil || len(recs) != 0 {
		t.Errorf("unknown scope: %v, %v", recs, err)
	}
}

func TestCountRecords(t *testing.T) {
	db, s := history(t)
	live, deleted, err := db.CountRecords(context.Background(), s)
	if err != nil || live != 3 || deleted != 1 {
		t.Errorf("CountRecords = %d, %d, %v; want 3, 1", live, deleted, err)
	}
}

// recordJSON builds a ~1 KB record.
func recordJSON(id, variant int) string {
	return fmt.Sprintf(`{"id":"c_%07d","object":"contact","first_name":"Ada","last_name":"Lovelace %d",`+
		`"email":"ada.%d@example.com","phone":"+44 20 7946 0958","title":"Head of Analytical Engines",`+
		`"company":{"id":"co_77","name":"Difference & Co.","domain":"difference.example","employees":120},`+
		`"owner_id":"u_12","lifecycle_stage":"customer","lead_score":87.25,"tags":["vip","engineering","q3-renewal","newsletter"],`+
		`"address":{"street":"12 St James's Square","city":"London","postal_code":"SW1Y 4JH","country":"GB"},`+
		`"notes":"Prefers email. Met at the Café on 2024-03-02; follow up about the \"engine\" pilot.",`+
		`"custom_fields":{"cf_region":"EMEA","cf_tier":2,"cf_renewal_date":"2025-09-30","cf_opt_in":true,"cf_referrer":null},`+
		`"created_at":"2021-04-12T09:14:33Z","updated_at":"2024-11-02T17:45:01.123Z","archived":false,`+
		`"deals":[{"id":"d_1","amount":12000,"currency":"GBP","stage":"won"},{"id":"d_2","amount":4500.5,"currency":"GBP","stage":"open"}],`+
		`"variant":%d}`, id, id, id, variant)
}

func benchBatch(b *testing.B, first, n, variant int) []records.Item {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(recordJSON(first+i, variant))
	}
	sb.WriteByte(']')
	return mustBatch(b, sb.String())
}

func BenchmarkSaveRecords(b *testing.B) {
	const batch = 1000
	ctx := context.Background()
	s := Scope{"fakecrm", "acme", "Contact"}
	b.Run("new", func(b *testing.B) {
		db, _ := openStore(b)
		// Batches prepared outside the timer: this measures the store, not parsing.
		batches := make([][]records.Item, 0, 64)
		for i := range cap(batches) {
			batches = append(batches, benchBatch(b, i*batch, batch, 0))
		}
		b.SetBytes(int64(batch * len(batches[0][0].Data)))
		b.ResetTimer()
		n := 0
		for b.Loop() {
			items := batches[n%len(batches)]
			if n >= len(batches) { // fresh ids without rebuilding the batch
				items = slices.Clone(items)
				for i := range items {
					items[i].ID = fmt.Sprintf("%s-%d", items[i].ID, n)
				}
			}
			c, err := db.SaveRecords(ctx, s, items, time.Now())
			if err != nil || c.Added != batch {
				b.Fatal(c, err)
			}
			n++
		}
		b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		db, _ := openStore(b)
		var batches [][]records.Item
		for i := range 10 {
			items := benchBatch(b, i*batch, batch, 0)
			if _, err := db.SaveRecords(ctx, s, items, time.Now()); err != nil {
				b.Fatal(err)
			}
			batches = append(batches, items)
		}
		b.SetBytes(int64(batch * len(batches[0][0].Data)))
		b.ResetTimer()
		n := 0
		for b.Loop() {
			c, err := db.SaveRecords(ctx, s, batches[n%len(batches)], time.Now())
			if err != nil || c.Unchanged != batch {
				b.Fatal(c, err)
			}
			n++
		}
		b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("updated", func(b *testing.B) {
		db, _ := openStore(b)
		versions := [2][][]records.Item{}
		for v := range 2 {
			for i := range 10 {
				versions[v] = append(versions[v], benchBatch(b, i*batch, batch, v))
			}
		}
		for _, items := range versions[0] {
			if _, err := db.SaveRecords(ctx, s, items, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(batch * len(versions[0][0][0].Data)))
		b.ResetTimer()
		n := 0
		for b.Loop() {
			round := n / 10
			c, err := db.SaveRecords(ctx, s, versions[(round+1)%2][n%10], time.Now())
			if err != nil || c.Updated != batch {
				b.Fatal(c, err)
			}
			n++
		}
		b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "records/s")
	})
}

func BenchmarkReadRecords(b *testing.B) {
	const total, page = 10_000, 100
	ctx := context.Background()
	db, _ := openStore(b)
	s := Scope{"fakecrm", "acme", "Contact"}
	for i := 0; i < total; i += 1000 {
		if _, err := db.SaveRecords(ctx, s, benchBatch(b, i, 1000, 0), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var after uint64
	n := 0
	for b.Loop() {
		recs, next, err := db.ReadRecords(ctx, s, RecordQuery{After: after, Limit: page})
		if err != nil || len(recs) != page {
			b.Fatal(len(recs), err)
		}
		after = next // wraps to the start at the end
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// TestConcurrentSaves hammers one model from several writers and readers (run with -race):
// every record lands once, and cursors stay unique and increasing.
func TestConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	const writers, batches, perBatch = 4, 10, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var sb strings.Builder
				sb.WriteByte('[')
				for i := range perBatch {
					if i > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, `{"id":"w%d-%d","b":%d}`, w, i+b*perBatch/2, b) // half of each batch re-saves
				}
				sb.WriteByte(']')
				items, err := records.ParseBatch([]byte(sb.String()))
				if err == nil {
					_, err = db.SaveRecords(ctx, s, items, time.Now())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 20 {
				var after uint64
				for {
					recs, next, err := db.ReadRecords(ctx, s, RecordQuery{After: after, Limit: 13})
					if err != nil {
						errs <- err
						return
					}
					for _, r := range recs {
						c, _ := records.ParseCursor(r.Meta.Cursor)
						if c <= after {
							errs <- fmt.Errorf("cursor %d after %d", c, after)
							return
						}
						after = c
					}
					if next == 0 {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	live, _, err := db.CountRecords(ctx, s)
	wantLive := writers * (perBatch + (batches-1)*perBatch/2)
	if err != nil || live != wantLive {
		t.Errorf("live = %d, %v; want %d", live, err, wantLive)
	}
	recs, _, err := db.ReadRecords(ctx, s, RecordQuery{Limit: 1 << 20})
	if err != nil || len(recs) != wantLive {
		t.Errorf("read %d records, %v; want %d", len(recs), err, wantLive)
	}
}
