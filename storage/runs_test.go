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

// runID returns the i-th of a series of time-ordered ids shaped like UUIDv7.
func runID(i int) string { return fmt.Sprintf("0193a000-0000-7000-8000-%012d", i) }

func TestRuns(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	// Put out of order: order comes from the ids.
	specs := []struct {
		i                  int
		conn, sync, status string
	}{
		{3, "acme", "contacts", StatusFailed},
		{1, "acme", "contacts", StatusSucceeded},
		{2, "beta", "contacts", StatusSucceeded},
		{5, "acme", "deals", StatusRunning},
		{4, "acme", "contacts", StatusRunning},
		{6, "beta", "deals", StatusQueued},
	}
	for _, sp := range specs {
		end := base.Add(time.Duration(sp.i)*time.Minute + time.Second)
		r := Run{ID: runID(sp.i), Integration: "fakecrm", Connection: sp.conn, Sync: sp.sync, Version: 1, Trigger: "manual",
			Status: sp.status, StartedAt: base.Add(time.Duration(sp.i) * time.Minute), EndedAt: &end,
			Counts: map[string]records.Counts{"Contact": {Added: sp.i}}}
		if err := db.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    RunFilter
		want []int
	}{
		{"all newest first", RunFilter{}, []int{6, 5, 4, 3, 2, 1}},
		{"limit", RunFilter{Limit: 2}, []int{6, 5}},
		{"connection", RunFilter{Connection: "acme"}, []int{5, 4, 3, 1}},
		{"connection and sync", RunFilter{Integration: "fakecrm", Connection: "acme", Sync: "contacts"}, []int{4, 3, 1}},
		{"status", RunFilter{Status: StatusSucceeded}, []int{2, 1}},
		{"status and connection", RunFilter{Status: StatusRunning, Connection: "acme"}, []int{5, 4}},
		{"status with limit", RunFilter{Status: StatusRunning, Limit: 1}, []int{5}},
		{"other integration", RunFilter{Integration: "drive"}, nil},
		{"unknown status", RunFilter{Status: "zzz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := db.Runs(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(runs), runIDs(tt.want); got != want {
				t.Errorf("got %s\nwant %s", got, want)
			}
		})
	}

	r, err := db.Run(ctx, runID(3))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusFailed || r.Counts["Contact"].Added != 3 || !r.StartedAt.Equal(base.Add(3*time.Minute)) || r.EndedAt == nil {
		t.Errorf("Run = %+v", r)
	}
	if _, err := db.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) || err.Error() != "run nope: not found" {
		t.Errorf("unknown run: %v", err)
	}

	// Crash recovery finds the unfinished runs, oldest first.
	active, err := db.RunsWithStatus(ctx, StatusRunning, StatusQueued, StatusRunning)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(active), runIDs([]int{4, 5, 6}); got != want {
		t.Errorf("RunsWithStatus = %s, want %s", got, want)
	}
	// Replacing a run moves it in the status index.
	r4, _ := db.Run(ctx, runID(4))
	r4.Status = StatusCancelled
	if err := db.PutRun(ctx, r4); err != nil {
		t.Fatal(err)
	}
	active, _ = db.RunsWithStatus(ctx, StatusRunning)
	if got, want := ids(active), runIDs([]int{5}); got != want {
		t.Errorf("after cancelling run 4, running = %s", got)
	}
	if runs, _ := db.Runs(ctx, RunFilter{Status: StatusCancelled}); ids(runs) != runIDs([]int{4}) {
		t.Errorf("cancelled = %s", ids(runs))
	}
}

func ids(runs []Run) string {
	var s []string
	for _, r := range runs {
		s = append(s, r.ID)
	}
	return strings.Join(s, ",")
}

func runIDs(is []int) string {
	var s []string
	for _, i := range is {
		s = append(s, runID(i))
	}
	return strings.Join(s, ",")
}

func TestPutRunUpdatesSyncState(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	start1 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	start2 := start1.Add(time.Hour)
	steps := []struct {
		run         Run
		wantLastRun string
		wantSuccess time.Time
	}{
		{Run{ID: runID(1), Status: StatusRunning, StartedAt: start1}, runID(1), time.Time{}},
		{Run{ID: runID(1), Status: StatusSucceeded, StartedAt: start1}, runID(1), start1},
		{Run{ID: runID(2), Status: StatusRunning, StartedAt: start2}, runID(2), start1},
		{Run{ID: runID(2), Status: StatusFailed, StartedAt: start2}, runID(2), start1},
		{Run{ID: runID(3), Status: StatusSucceeded, StartedAt: start2.Add(time.Hour)}, runID(3), start2.Add(time.Hour)},
	}
	if err := db.SetPaused(ctx, "fakecrm", "acme", "contacts", true); err != nil {
		t.Fatal(err)
	}
	for i, st := range steps {
		st.run.Integration, st.run.Connection, st.run.Sync = "fakecrm", "acme", "contacts"
		if err := db.PutRun(ctx, st.run); err != nil {
			t.Fatal(err)
		}
		got, err := db.SyncState(ctx, "fakecrm", "acme", "contacts")
		if err != nil {
			t.Fatal(err)
		}
		if got.LastRunID != st.wantLastRun || !got.LastSuccessAt.Equal(st.wantSuccess) || !got.Paused {
			t.Errorf("step %d: state = %+v", i, got)
		}
	}
	if st, _ := db.SyncState(ctx, "fakecrm", "acme", "deals"); st != (SyncState{}) {
		t.Errorf("another sync's state = %+v", st)
	}
	if err := db.PutRun(ctx, Run{ID: runID(9)}); err == nil {
		t.Error("PutRun accepted a run without integration, connection and sync")
	}
}

func TestRunLog(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	if err := db.PutRun(ctx, Run{ID: runID(1), Integration: "fakecrm", Connection: "acme", Sync: "contacts", Status: StatusRunning}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var want []LogEntry
	for batch := range 3 {
		var entries []LogEntry
		for i := range 12 { // more than 9, so a textual order would show
			e := LogEntry{Time: at.Add(time.Duration(batch*100+i) * time.Millisecond), Level: "info", Message: fmt.Sprintf("line %d.%d", batch, i)}
			if i == 5 {
				e = LogEntry{Time: e.Time, Level: "debug", HTTP: &HTTPLog{Method: "GET", URL: "https://api.example.com/contacts?page=2", Status: 429, DurationMS: 12.5, Retries: 2}}
			}
			entries = append(entries, e)
		}
		if err := db.AppendRunLog(ctx, runID(1), entries); err != nil {
			t.Fatal(err)
		}
		want = append(want, entries...)
	}
	got, err := db.RunLog(ctx, runID(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Level != w.Level || g.Message != w.Message || (g.HTTP == nil) != (w.HTTP == nil) ||
			(g.HTTP != nil && *g.HTTP != *w.HTTP) {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}

	if err := db.AppendRunLog(ctx, "nope", []LogEntry{{Level: "info"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("append to unknown run: %v", err)
	}
	if _, err := db.RunLog(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("log of unknown run: %v", err)
	}
	if err := db.PutRun(ctx, Run{ID: runID(2), Integration: "fakecrm", Connection: "acme", Sync: "contacts"}); err != nil {
		t.Fatal(err)
	}
	if log, err := db.RunLog(ctx, runID(2)); err != nil || len(log) != 0 {
		t.Errorf("empty log = %v, %v", log, err)
	}
}
