package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneRuns(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.PutConnection(ctx, Connection{Integration: "crm", ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(id, sync, status string, age int) {
		t.Helper()
		r := Run{ID: id, Integration: "crm", Connection: "acme", Sync: sync, Status: status, StartedAt: base.Add(time.Duration(age) * time.Hour)}
		if err := db.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendRunLog(ctx, id, []LogEntry{{Time: r.StartedAt, Level: "info", Message: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Ids sort in creation order, as UUIDv7s do.
	for i := range 5 {
		put(fmt.Sprintf("a%d", i), "contacts", StatusSucceeded, i)
	}
	put("a5", "contacts", StatusRunning, 0) // old but running: kept
	put("b0", "companies", StatusFailed, 0) // old but its sync's only run: kept

	n, err := db.PruneRuns(ctx, 3, base.Add(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// contacts, newest first: a5 (running), a4, a3 kept (3 newest); a2, a1, a0 pruned.
	if n != 3 {
		t.Errorf("pruned %d runs, want 3", n)
	}
	for id, want := range map[string]bool{"a0": false, "a1": false, "a2": false, "a3": true, "a4": true, "a5": true, "b0": true} {
		_, err := db.Run(ctx, id)
		if (err == nil) != want {
			t.Errorf("run %s kept = %v, want %v", id, err == nil, want)
		}
		if _, err := db.RunLog(ctx, id); (err == nil) != want {
			t.Errorf("log of run %s kept = %v, want %v", id, err == nil, want)
		}
	}
	if got, _ := db.Runs(ctx, RunFilter{Status: StatusSucceeded}); len(got) != 2 {
		t.Errorf("status index still lists %d succeeded runs, want 2", len(got))
	}
}
