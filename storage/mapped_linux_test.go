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
)

// A sync's writes must not leave the file they wrote mapped in the server: the store's
// resident size stays bounded however many records a session saves.
func TestSessionLeavesLittleOfTheFileMapped(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	db.unmapEvery = 1 // at every transaction after one that wrote: the test writes MBs, not GBs
	s := Scope{"fakecrm", "acme", "Contact"}
	ses := db.NewSession(time.Hour, 1<<30)
	rng := rand.New(rand.NewPCG(1, 2))
	pad := strings.Repeat("x", 1000)
	const batches, perBatch = 200, 100 // about 20 MB of records, a transaction each
	for b := range batches {
		var batch strings.Builder
		batch.WriteByte('[')
		for i := range perBatch {
			if i > 0 {
				batch.WriteByte(',')
			}
			// Random ids, as a provider's updated_at order gives them: the id index is
			// read all over the file.
			fmt.Fprintf(&batch, `{"id":"%016x","n":%d,"pad":%q}`, rng.Uint64(), b*perBatch+i, pad)
		}
		batch.WriteByte(']')
		if _, err := ses.SaveRecords(ctx, s, mustBatch(t, batch.String()), t1); err != nil {
			t.Fatal(err)
		}
		if err := ses.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mapped := mappedBytes(t, path)
	t.Logf("file %d KiB, %d KiB of it mapped", st.Size()>>10, mapped>>10)
	if mapped > st.Size()/4 {
		t.Errorf("%d KiB of the %d KiB file is mapped after the session; want at most a quarter", mapped>>10, st.Size()>>10)
	}
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
