package hostfuncs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/storage"
)

// BenchmarkDispatchRecordsSave is the host's side of a plugin saving a batch of 1,000 contacts
// of about 1 KB (the example CRM's): records_save through Call.Dispatch, which parses and
// hashes the batch and saves it into a real bbolt file in one transaction. "new" saves records
// never seen (a first full sync), "unchanged" the same batch again (a resync). It reports
// records/s.
func BenchmarkDispatchRecordsSave(b *testing.B) {
	const n = 1000
	contacts := crm.New(crm.Options{Contacts: n, Companies: 100, Seed: 1}).Contacts()
	// Each id starts with a round number of fixed width, which the "new" case rewrites in
	// place to make every record of the batch new.
	const roundWidth = 6
	for i := range contacts {
		contacts[i].ID = "r" + strings.Repeat("0", roundWidth) + "-" + contacts[i].ID
	}
	batch, err := json.Marshal(contacts)
	if err != nil {
		b.Fatal(err)
	}
	arg := append([]byte("Contact\n"), batch...)
	var rounds []int // where each record's round number starts in arg
	idStart := []byte(`{"id":"r`)
	for off := 0; ; {
		j := bytes.Index(arg[off:], idStart)
		if j < 0 {
			break
		}
		off += j + len(idStart)
		rounds = append(rounds, off)
	}
	if len(rounds) != n {
		b.Fatalf("found %d ids in the batch, want %d", len(rounds), n)
	}

	tests := []struct {
		name string
		// fresh makes each save's records new; otherwise the batch is saved once first, and
		// then is unchanged.
		fresh bool
		// queued saves through records_queue, and records_flush then waits for the save.
		queued bool
		want   string
	}{
		{"new", true, false, `{"added":1000,"updated":0,"unchanged":0}`},
		{"unchanged", false, false, `{"added":0,"updated":0,"unchanged":1000}`},
		{"queued/unchanged", false, true, `{"added":0,"updated":0,"unchanged":1000}`},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			c := newBenchCall(b)
			arg := bytes.Clone(arg)
			if !tt.fresh {
				if _, err := c.Dispatch(ctx, hostfuncs.OpRecordsSave, arg); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(arg)))
			b.ReportAllocs()
			saves := 0
			for b.Loop() {
				if tt.fresh {
					b.StopTimer()
					round := strconv.Itoa(saves + 1)
					for _, at := range rounds {
						copy(arg[at+roundWidth-len(round):at+roundWidth], round)
					}
					b.StartTimer()
				}
				res, err := save(ctx, c, arg, tt.queued)
				if err != nil {
					b.Fatal(err)
				}
				if string(res) != tt.want {
					b.Fatalf("records_save answered %s, want %s", res, tt.want)
				}
				saves++
			}
			b.ReportMetric(float64(saves*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// save saves the batch in arg with records_save, or with records_queue and records_flush.
func save(ctx context.Context, c *hostfuncs.Call, arg []byte, queued bool) ([]byte, error) {
	if !queued {
		return c.Dispatch(ctx, hostfuncs.OpRecordsSave, arg)
	}
	if _, err := c.Dispatch(ctx, hostfuncs.OpRecordsQueue, arg); err != nil {
		return nil, err
	}
	return c.Dispatch(ctx, hostfuncs.OpRecordsFlush, nil)
}

// newBenchCall returns the Call of a full sync of Contact records, over a store in a fresh file.
func newBenchCall(b *testing.B) *hostfuncs.Call {
	b.Helper()
	db, err := storage.Open(filepath.Join(b.TempDir(), "ferry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, _, err := db.PutConnection(context.Background(), storage.Connection{Integration: "crm", ID: "acme"}); err != nil {
		b.Fatal(err)
	}
	return &hostfuncs.Call{
		Integration: "crm", Connection: "acme", Sync: "contacts", Models: []string{"Contact"},
		Store: db, TrackSeen: true,
	}
}
