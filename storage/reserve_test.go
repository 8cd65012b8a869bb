package storage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
)

// The store keeps a reserve file beside the database, and gives it up when asked once.
func TestReserve(t *testing.T) {
	db, path := openTest(t)
	info, err := os.Stat(path + ReserveSuffix)
	if err != nil || info.Size() != reserveSize {
		t.Fatalf("reserve file: %v, %v", info, err)
	}
	if !db.reserve.release() {
		t.Fatal("release found no reserve")
	}
	if _, err := os.Stat(path + ReserveSuffix); !os.IsNotExist(err) {
		t.Fatalf("reserve file after release: %v", err)
	}
	if db.reserve.release() {
		t.Fatal("released the reserve twice")
	}
}

// A write the full disk refuses is run again once the reserve is given up: the second run
// must report what it did, not that plus what the refused first run counted.
func TestRetryOnFullDiskCountsOnce(t *testing.T) {
	tests := []struct {
		name  string
		write func(db *DB, s Scope, ids []string) (records.Counts, error)
		want  records.Counts
	}{
		{"delete", func(db *DB, s Scope, ids []string) (records.Counts, error) {
			return db.DeleteRecords(context.Background(), s, ids, time.Time{})
		}, records.Counts{Deleted: 300}},
		{"update", func(db *DB, s Scope, ids []string) (records.Counts, error) {
			var patches []records.Item
			for _, id := range ids {
				patches = append(patches, records.Item{ID: id, Data: []byte(`{"v":2}`)})
			}
			return db.UpdateRecords(context.Background(), s, patches, time.Time{})
		}, records.Counts{Updated: 300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dir).CombinedOutput(); err != nil {
				t.Skipf("cannot mount a tmpfs (%v: %s); a full disk is not tested here", err, out)
			}
			t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
			db, err := Open(filepath.Join(dir, "ferry.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			s := Scope{"crm", "acme", "Item"}
			if _, _, err := db.PutConnection(ctx, Connection{Integration: s.Integration, ID: s.Connection}); err != nil {
				t.Fatal(err)
			}
			pad := strings.Repeat("p", 2000)
			var items []records.Item
			var ids []string
			for i := range 1000 { // about 4 MiB stored
				id := fmt.Sprintf("item-%05d", i)
				items = append(items, records.Item{ID: id, Data: []byte(`{"id":"` + id + `","pad":"` + pad + `"}`)})
				if i < 300 {
					ids = append(ids, id)
				}
			}
			if _, err := db.SaveRecords(ctx, s, items, time.Time{}); err != nil {
				t.Fatal(err)
			}
			// Fill the disk, all but the reserve.
			f, err := os.Create(filepath.Join(dir, "filler"))
			if err != nil {
				t.Fatal(err)
			}
			for chunk := make([]byte, 64<<10); ; {
				if _, err := f.Write(chunk); err != nil {
					break
				}
			}
			f.Close()

			if !db.reserve.held {
				t.Fatal("the reserve was used up before the write under test")
			}
			got, err := tt.write(db, s, ids)
			if err != nil {
				t.Fatalf("write on a full disk with the reserve: %v", err)
			}
			if db.reserve.held {
				t.Fatal("the reserve is still held: the write did not meet the full disk, so this tests nothing")
			}
			if got != tt.want {
				t.Errorf("counts %+v, want %+v", got, tt.want)
			}
		})
	}
}
