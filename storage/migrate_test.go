package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ferrysync/ferry/records"
)

// testdata/layout1.db is a store written by schema version 1 (two connections, two models
// each, with added, updated, patched by an action, deleted and re-added records), and
// layout1.golden.json is what ReadRecords returned from it then.
func TestMigrateFromLayout1(t *testing.T) {
	tests := []struct {
		name string
		// before runs on the raw version 1 file before Open: a migration cut short.
		before func(t *testing.T, b *bolt.DB)
	}{
		{"whole", nil},
		{"resumed after a crash", func(t *testing.T, b *bolt.DB) {
			err := b.Update(func(tx *bolt.Tx) error {
				return forEachModel(tx, func(_ Scope, m *bolt.Bucket) error {
					_, err := moveToChanges(m, 4) // of 7 records per model
					return err
				})
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 5 // several transactions
	golden, err := os.ReadFile("testdata/layout1.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "ferry.db")
			src, err := os.ReadFile("testdata/layout1.db")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, src, 0o600); err != nil {
				t.Fatal(err)
			}
			headers := v1Headers(t, path, tt.before)

			db, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			all := map[string][]records.Record{}
			for _, scope := range layout1Scopes {
				recs, _, err := db.ReadRecords(ctx, scope, RecordQuery{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				all[scope.Connection+"/"+scope.Model] = recs
			}
			got, _ := json.MarshalIndent(all, "", "  ")
			if string(append(got, '\n')) != string(golden) {
				t.Fatalf("records after the migration differ from testdata/layout1.golden.json:\n%s", got)
			}
			err = db.view(ctx, func(tx *bolt.Tx) error {
				if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint32(v) != 2 {
					t.Errorf("schema version %d after the migration, want 2", binary.BigEndian.Uint32(v))
				}
				return forEachModel(tx, func(s Scope, m *bolt.Bucket) error {
					if m.Bucket(bucketCursorsV1) != nil {
						t.Errorf("%s still has %q", s, bucketCursorsV1)
					}
					return m.Bucket(bucketIDs).ForEach(func(id, v []byte) error {
						if want := headers[s.String()+"/"+string(id)]; !bytes.Equal(v, want) {
							t.Errorf("record %s: header %x, want %x as stored by version 1", id, v, want)
						}
						return nil
					})
				})
			})
			if err != nil {
				t.Fatal(err)
			}

			// The migrated store takes writes: an update moves a record to the next cursor, a
			// patch merges into the migrated data, a deletion keeps it.
			scope := layout1Scopes[0]
			items, err := records.ParseBatch([]byte(`[{"id":"Contact-a","name":"acme A","n":10}]`))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := db.SaveRecords(ctx, scope, items, time.Time{}); err != nil || c.Updated != 1 {
				t.Fatalf("save after the migration: %+v, %v", c, err)
			}
			patch, _ := records.ParseBatch([]byte(`[{"id":"Contact-f","extra":true}]`))
			if c, err := db.UpdateRecords(ctx, scope, patch, time.Time{}); err != nil || c.Updated != 1 {
				t.Fatalf("patch after the migration: %+v, %v", c, err)
			}
			if c, err := db.DeleteRecords(ctx, scope, []string{"Contact-g"}, time.Time{}); err != nil || c.Deleted != 1 {
				t.Fatalf("delete after the migration: %+v, %v", c, err)
			}
			recs, _, err := db.ReadRecords(ctx, scope, RecordQuery{After: 12, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				`{"id":"Contact-a","name":"acme A","n":10}`,
				`{"id":"Contact-f","name":"acme F","n":5,"extra":true}`,
				`{"id":"Contact-g","name":"acme G","n":6}`,
			}
			if len(recs) != len(want) {
				t.Fatalf("%d changes after the migration's writes, want %d: %+v", len(recs), len(want), recs)
			}
			for i, r := range recs {
				if string(r.Data) != want[i] || r.Meta.Cursor != records.FormatCursor(uint64(13+i)) {
					t.Errorf("change %d: %s at cursor %s, want %s at %d", i, r.Data, r.Meta.Cursor, want[i], 13+i)
				}
			}
		})
	}
}

var layout1Scopes = []Scope{
	{"crm", "acme", "Contact"}, {"crm", "acme", "Company"}, {"crm", "globex", "Contact"}, {"crm", "globex", "Company"},
}

// v1Headers runs before (if any) on the version 1 store at path and returns every record's
// header as version 1 stored it, by scope/id.
func v1Headers(t *testing.T, path string, before func(*testing.T, *bolt.DB)) map[string][]byte {
	t.Helper()
	headers := map[string][]byte{}
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint32(v) != 1 {
			t.Fatalf("testdata/layout1.db has schema version %d", binary.BigEndian.Uint32(v))
		}
		return forEachModel(tx, func(s Scope, m *bolt.Bucket) error {
			return m.Bucket(bucketIDs).ForEach(func(id, v []byte) error {
				headers[s.String()+"/"+string(id)] = bytes.Clone(v[:headerSize])
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(t, b)
	}
	return headers
}
