package syncs

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/storage"
)

func TestRunLogIsBounded(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.PutConnection(ctx, storage.Connection{Integration: "i", ID: "c"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line string
		n    int
		want int
	}{
		{"many lines", "x", MaxLogEntries + 50, MaxLogEntries},
		{"big lines", strings.Repeat("y", 64<<10), 1000, MaxLogBytes/(64<<10+64) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "run-" + strings.ReplaceAll(tt.name, " ", "-")
			if err := db.PutRun(ctx, storage.Run{ID: id, Integration: "i", Connection: "c", Sync: "s", Status: StatusRunning, StartedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			l := newRunLog(db, id, slog.New(slog.DiscardHandler))
			for i := range tt.n {
				l.add("info", fmt.Sprint(i, tt.line))
			}
			l.flush(ctx)
			entries, err := db.RunLog(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != tt.want || !strings.HasPrefix(entries[len(entries)-1].Message, "log truncated") {
				t.Errorf("%d entries, the last %.40q; want %d, the last saying it was truncated", len(entries), entries[len(entries)-1].Message, tt.want)
			}
			// written behind in chunks, in order
			for i, e := range entries[:len(entries)-1] {
				if want := fmt.Sprint(i, tt.line); e.Message != want {
					t.Fatalf("entry %d is %.40q, want %.40q", i, e.Message, want)
				}
			}
		})
	}
}
