package storage

import (
	"os"
	"sync"
	"time"
)

// ReserveSuffix names the reserve file beside the database file: ferry.db.reserve.
const ReserveSuffix = ".reserve"

// reserveSize is the disk space the reserve holds.
const reserveSize = 4 << 20

// reserveRetry is how long after a failed restore the reserve is tried again.
const reserveRetry = 30 * time.Second

// reserve is disk space the store keeps in a file of its own for the moment the disk is
// full. The write that finds the disk full fails (a sync run's records: the run fails, and
// nothing committed is touched), but what the server must still record (that the run failed,
// and why) needs a few pages: deleting the reserve gives them. The reserve is written again
// once a later transaction succeeds and the space is there.
type reserve struct {
	path string

	mu      sync.Mutex
	held    bool
	lastTry time.Time
}

// release deletes the reserve file and reports whether there was one.
func (r *reserve) release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.held {
		return false
	}
	r.held = false
	r.lastTry = time.Now()
	return os.Remove(r.path) == nil
}

// restore writes the reserve file if it is missing, at most every reserveRetry when the disk
// has no room for it.
func (r *reserve) restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held || time.Since(r.lastTry) < reserveRetry {
		return
	}
	r.lastTry = time.Now()
	if info, err := os.Stat(r.path); err == nil && info.Size() >= reserveSize {
		r.held = true
		return
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	// Written, not truncated: a sparse file would reserve nothing.
	_, err = f.Write(make([]byte, reserveSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(r.path)
		return
	}
	r.held = true
}
