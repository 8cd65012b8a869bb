package webhooks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

func TestEvents(t *testing.T) {
	run := func(status, errMsg string, counts map[string]records.Counts) storage.Run {
		return storage.Run{ID: "0193a000-0000-7000-8000-000000000001", Integration: "crm", Connection: "acme",
			Sync: "contacts", Status: status, Error: errMsg, Counts: counts}
	}
	counts := map[string]records.Counts{
		"Contact": {Added: 12, Updated: 3, Deleted: 1, Unchanged: 80},
		"Company": {Unchanged: 20}, // nothing changed: no event
		"Deal":    {Deleted: 2},
		"Note":    {},
	}
	cursors := map[string]string{"Contact": "2513", "Company": "40"} // Deal had no records before
	tests := []struct {
		name     string
		run      storage.Run
		syncType string
		want     []string // the events' JSON, in order
	}{
		{"succeeded: one event per changed model", run(storage.StatusSucceeded, "", counts), SyncIncremental, []string{
			`{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts","model":"Contact","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"incremental","added":12,"updated":3,"deleted":1,"cursor_from":"2513"}`,
			`{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts","model":"Deal","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"incremental","added":0,"updated":0,"deleted":2,"cursor_from":""}`,
		}},
		{"initial", run(storage.StatusSucceeded, "", map[string]records.Counts{"Contact": {Added: 5}}), SyncInitial, []string{
			`{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts","model":"Contact","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"initial","added":5,"updated":0,"deleted":0,"cursor_from":"2513"}`,
		}},
		{"full", run(storage.StatusSucceeded, "", map[string]records.Counts{"Contact": {Updated: 1}}), SyncFull, []string{
			`{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts","model":"Contact","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"full","added":0,"updated":1,"deleted":0,"cursor_from":"2513"}`,
		}},
		{"succeeded without changes", run(storage.StatusSucceeded, "", map[string]records.Counts{"Contact": {Unchanged: 9}}), SyncIncremental, nil},
		{"succeeded with no counts", run(storage.StatusSucceeded, "", nil), SyncIncremental, nil},
		{"failed: one event, error instead of counts", run(storage.StatusFailed, `call sync_contacts: provider answered 500`, counts), SyncIncremental, []string{
			`{"type":"sync.failed","integration":"crm","connection":"acme","sync":"contacts","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"incremental","error":"call sync_contacts: provider answered 500"}`,
		}},
		{"failed without a message", run(storage.StatusFailed, "", nil), SyncFull, []string{
			`{"type":"sync.failed","integration":"crm","connection":"acme","sync":"contacts","run_id":"0193a000-0000-7000-8000-000000000001","sync_type":"full","error":"the run failed"}`,
		}},
		{"cancelled", run(storage.StatusCancelled, "cancelled: the server is shutting down", counts), SyncIncremental, nil},
		{"still running", run(storage.StatusRunning, "", counts), SyncIncremental, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := Events(tt.run, tt.syncType, cursors)
			if len(events) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(events), len(tt.want), events)
			}
			for i, e := range events {
				b, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want[i] {
					t.Errorf("event %d:\n got %s\nwant %s", i, b, tt.want[i])
				}
				// An app decoding the body gets the event back.
				var back Event
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				if (back.Changes == nil) != (e.Changes == nil) || (back.Changes != nil && *back.Changes != *e.Changes) || back.Error != e.Error || back.Model != e.Model {
					t.Errorf("event %d decoded as %+v", i, back)
				}
			}
		})
	}
}

func TestSyncTypeFor(t *testing.T) {
	tests := []struct {
		kind                     string
		fullResync, firstSuccess bool
		want                     string
	}{
		{"incremental", false, false, SyncIncremental},
		{"incremental", true, false, SyncFull},
		{"full", false, false, SyncFull},
		{"full", true, false, SyncFull},
		{"incremental", false, true, SyncInitial},
		{"incremental", true, true, SyncInitial},
		{"full", false, true, SyncInitial},
	}
	for _, tt := range tests {
		if got := SyncTypeFor(tt.kind, tt.fullResync, tt.firstSuccess); got != tt.want {
			t.Errorf("SyncTypeFor(%q, full resync %v, first %v) = %q, want %q", tt.kind, tt.fullResync, tt.firstSuccess, got, tt.want)
		}
	}
}

func TestDeliveries(t *testing.T) {
	run := storage.Run{ID: "r1", Integration: "crm", Connection: "acme", Sync: "contacts", Status: storage.StatusSucceeded,
		Counts: map[string]records.Counts{"Contact": {Added: 1}, "Company": {Updated: 2}}}
	events := Events(run, SyncIncremental, nil)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ds, err := Deliveries(events, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("got %d deliveries", len(ds))
	}
	seen := map[string]bool{}
	for i, d := range ds {
		id, err := uuid.Parse(d.ID)
		if err != nil || id.Version() != 7 || seen[d.ID] {
			t.Errorf("delivery %d: id %q is not a new UUIDv7 (%v)", i, d.ID, err)
		}
		seen[d.ID] = true
		want, _ := json.Marshal(events[i])
		if string(d.Body) != string(want) || d.Type != EventSyncCompleted || d.RunID != "r1" ||
			d.Status != storage.DeliveryPending || d.Attempts != 0 || !d.NextAttemptAt.Equal(now) || !d.CreatedAt.Equal(now) {
			t.Errorf("delivery %d = %+v", i, d)
		}
	}
	if !strings.Contains(string(ds[0].Body), `"model":"Company"`) {
		t.Errorf("first delivery is not Company's: %s", ds[0].Body)
	}
	if ds, err := Deliveries(nil, now); err != nil || len(ds) != 0 {
		t.Errorf("Deliveries(nil) = %v, %v", ds, err)
	}
}
