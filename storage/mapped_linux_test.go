package storage

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ferrysync/ferry/records"
)

// Writes must not leave the file mapped in the server: once unmapEvery bytes of records have
// been written, the next write transaction, a session's or the store's own, drops what reads
// had mapped.
func TestWritesUnmapTheFile(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	db.unmapEvery = 1 << 62 // not yet
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(time.Hour, 1<<30)
	rng := rand.New(rand.NewPCG(1, 2))
	pad := strings.Repeat("x", 1000)
	batch := func(n int) []records.Item {
		var b strings.Builder
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"%016x","pad":%q}`, rng.Uint64(), pad)
		}
		b.WriteByte(']')
		return mustBatch(t, b.String())
	}
	bySession := func(n int) error {
		if _, err := ses.SaveRecords(ctx, s, batch(n), t1); err != nil {
			return err
		}
		return ses.Flush()
	}
	byStore := func(n int) error {
		_, err := db.SaveRecords(ctx, s, batch(n), t1)
		return err
	}
	for range 60 {
		if err := bySession(500); err != nil { // about 30 MB
			t.Fatal(err)
		}
	}
	db.unmapEvery = 1
	for _, tt := range []struct {
		name string
		save func(n int) error
	}{{"session", bySession}, {"store", byStore}} {
		t.Run(tt.name, func(t *testing.T) {
			// Read every record through the map, as reads of a store that size come to do.
			if err := db.bolt.View(func(tx *bolt.Tx) error { return touch(tx.Cursor()) }); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			before := mappedBytes(t, path)
			if before < st.Size()/2 {
				t.Skipf("reading the file mapped only %d of its %d KiB: the page cache did not keep it", before>>10, st.Size()>>10)
			}
			// The first write makes the unmapping due, the second's transaction unmaps, then
			// maps the few pages it reads.
			for range 2 {
				if err := tt.save(1); err != nil {
					t.Fatal(err)
				}
			}
			after := mappedBytes(t, path)
			t.Logf("file %d KiB: %d KiB mapped after reading it all, %d KiB after two writes", st.Size()>>10, before>>10, after>>10)
			// What remains is what the last transaction read, each page with its neighbours.
			if after > st.Size()/4 {
				t.Errorf("%d KiB of the %d KiB file is still mapped after the writes; want at most a quarter", after>>10, st.Size()>>10)
			}
		})
	}
}

// touch reads every key and value under c, nested buckets included.
func touch(c *bolt.Cursor) error {
	var sum byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if err := touch(c.Bucket().Bucket(k).Cursor()); err != nil {
				return err
			}
			continue
		}
		for _, b := range v {
			sum += b
		}
	}
	_ = sum
	return nil
}

// mappedBytes returns the resident size of this process's maps of the file at path, from
// /proc/self/smaps.
func mappedBytes(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps to read: %v", err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 6 && strings.Contains(fields[0], "-"):
			in = fields[5] == path // a map's first line ends with its file
		case in && len(fields) == 3 && fields[0] == "Rss:":
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
