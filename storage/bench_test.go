package storage_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// batchSize is the records per batch and per page, as a sync saves them and an app reads them.
const batchSize = 1000

var benchScope = storage.Scope{Integration: "crm", Connection: "acme", Model: "Contact"}

// openBench opens a store in a fresh file with benchScope's connection.
func openBench(b *testing.B) *storage.DB {
	b.Helper()
	db, err := storage.Open(filepath.Join(b.TempDir(), "ferry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, _, err := db.PutConnection(context.Background(), storage.Connection{Integration: benchScope.Integration, ID: benchScope.Connection}); err != nil {
		b.Fatal(err)
	}
	return db
}

// contactBatches returns n of the example CRM's generated contacts (about 1 KB of JSON each),
// in batches of batchSize parsed as the host parses a plugin's batch. change, when set, edits
// a contact before it is encoded.
func contactBatches(b *testing.B, n int, change func(i int, c *crm.Contact)) [][]records.Item {
	b.Helper()
	contacts := crm.New(crm.Options{Contacts: n, Companies: 100, Seed: 1}).Contacts()
	if change != nil {
		for i := range contacts {
			change(i, &contacts[i])
		}
	}
	var batches [][]records.Item
	for start := 0; start < len(contacts); start += batchSize {
		data, err := json.Marshal(contacts[start:min(start+batchSize, len(contacts))])
		if err != nil {
			b.Fatal(err)
		}
		items, err := records.ParseBatch(data)
		if err != nil {
			b.Fatal(err)
		}
		batches = append(batches, items)
	}
	return batches
}

func dataBytes(items []records.Item) int64 {
	var n int64
	for _, it := range items {
		n += int64(len(it.Data))
	}
	return n
}

// BenchmarkSaveRecordsHalfUpdated saves a batch of 1,000 contacts of about 1 KB in one
// transaction into a real bbolt file, half of them changed since the last save and half
// unchanged: an incremental sync's usual mix. (BenchmarkSaveRecords, in records_test.go, has
// the all-new, all-unchanged and all-updated cases.) It reports records/s.
func BenchmarkSaveRecordsHalfUpdated(b *testing.B) {
	ctx := context.Background()
	base := contactBatches(b, batchSize, nil)[0]
	// edited differs from base in every other record.
	edited := contactBatches(b, batchSize, func(i int, c *crm.Contact) {
		if i%2 == 1 {
			c.Title += " (acting)"
		}
	})[0]
	db := openBench(b)
	if _, err := db.SaveRecords(ctx, benchScope, base, time.Time{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(dataBytes(base))
	b.ReportAllocs()
	// Saving the two versions in turn changes every other record each time.
	versions := [2][]records.Item{edited, base}
	want := records.Counts{Updated: batchSize / 2, Unchanged: batchSize / 2}
	saves := 0
	for b.Loop() {
		got, err := db.SaveRecords(ctx, benchScope, versions[saves%2], time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if got != want {
			b.Fatalf("counts %+v, want %+v", got, want)
		}
		saves++
	}
	b.ReportMetric(float64(saves*batchSize)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCursorRead reads pages of 1,000 records by cursor, as GET /v1/records does, through a
// model of 100,000 contacts of about 1 KB, starting over at the end: the store's side of
// paging through a whole model. One op is one page; it reports records/s. (BenchmarkReadRecords,
// in records_test.go, reads pages of 100 out of 10,000 records.)
func BenchmarkCursorRead(b *testing.B) {
	const total = 100_000
	ctx := context.Background()
	db := openBench(b)
	// Saved in ten large transactions rather than a hundred small ones, since each commit
	// waits for the disk.
	var all []records.Item
	for _, items := range contactBatches(b, total, nil) {
		all = append(all, items...)
	}
	for start := 0; start < len(all); start += total / 10 {
		if _, err := db.SaveRecords(ctx, benchScope, all[start:start+total/10], time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	size := dataBytes(all)
	b.SetBytes(size / (total / batchSize))
	b.ReportAllocs()
	var after uint64
	read := 0
	for b.Loop() {
		recs, next, err := db.ReadRecords(ctx, benchScope, storage.RecordQuery{After: after, Limit: batchSize})
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != batchSize {
			b.Fatalf("page after %d has %d records, want %d", after, len(recs), batchSize)
		}
		read += len(recs)
		after = next // 0 after the last page: start over
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}
