package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ferrysync/ferry/records"
)

// schemaVersion is the layout described in doc.go. Open migrates files of an older layout
// (migrate.go) and refuses files of a newer one.
const schemaVersion = 2

var (
	bucketMeta         = []byte("meta")
	bucketIntegrations = []byte("integrations")
	bucketVersions     = []byte("versions")
	bucketConnections  = []byte("connections")
	bucketRecords      = []byte("records")
	bucketCheckpoints  = []byte("checkpoints")
	bucketSyncStates   = []byte("sync_states")
	bucketRuns         = []byte("runs")
	bucketRunStatus    = []byte("run_status")
	bucketRunLogs      = []byte("run_logs")

	bucketDeliveries     = []byte("deliveries")
	bucketDeliveryStatus = []byte("delivery_status")
	bucketDeliveryDue    = []byte("delivery_due")
	bucketWebhook        = []byte("webhook")
	bucketLinks          = []byte("links")

	keySchema = []byte("schema")
)

var topBuckets = [][]byte{
	bucketMeta, bucketIntegrations, bucketVersions, bucketConnections, bucketRecords,
	bucketCheckpoints, bucketSyncStates, bucketRuns, bucketRunStatus, bucketRunLogs,
	bucketDeliveries, bucketDeliveryStatus, bucketDeliveryDue, bucketWebhook, bucketLinks,
}

// initialMap is the size of the store's first memory map. bbolt maps the file anew, dropping
// the old map first, whenever the file outgrows its map; on a filesystem that has just turned
// read-only the new map is refused, and the store could then no longer read what it has
// committed. A map this large (address space, not memory: only the pages read count) is
// remade only past 1 GiB of data, so a store that stops being writable goes on serving reads.
const initialMap = 1 << 30

// pageSize is the page size of a new store's file (an existing file keeps its own). Four
// times the usual 4 KiB: a sync's commit writes a quarter as many pages, one write call
// each, and the pages of records appended in change order hold 16 records of 1 KB instead
// of 4; a small write's transaction writes 16 KiB a page it changes instead of 4, which
// its fsyncs cost more than.
const pageSize = 16 << 10

// unmapEvery is how many bytes of records the store writes between two calls of unmapRead
// (DB.unmapEvery, which tests lower). Unmapping more often costs a sync the minor faults
// that map its hot pages (the id index) back in; less often lets the resident size grow
// further between calls.
const unmapEvery = 64 << 20

// DB is Ferry's store. It is safe for concurrent use; bbolt serialises writers and lets
// readers run alongside them.
type DB struct {
	bolt    *bolt.DB
	reserve *reserve

	// unmapDue counts the bytes of records written since the last unmapRead; the next write
	// transaction unmaps once it reaches unmapEvery (trimMap).
	unmapDue   atomic.Int64
	unmapEvery int64
}

// Open opens the store at path (a file, conventionally DIR/ferry.db), creating the file, its
// directory and the buckets if needed. Only one process may hold the file: when another does,
// Open gives up after a second with ErrLocked, so a second server on the same data directory
// fails clearly instead of hanging.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         time.Second,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMap,
		PageSize:        pageSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var stored uint32
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil {
			if stored = binary.BigEndian.Uint32(v); stored > schemaVersion {
				return fmt.Errorf("schema version %d is newer than this ferry supports (%d)", stored, schemaVersion)
			}
			return nil
		}
		stored = schemaVersion
		return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, schemaVersion))
	})
	if err == nil && stored < schemaVersion {
		err = migrate(b, stored)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{bolt: b, reserve: &reserve{path: path + ReserveSuffix}, unmapEvery: unmapEvery}
	db.reserve.restore()
	return db, nil
}

// Close closes the store, waiting for running transactions to finish.
func (db *DB) Close() error {
	return db.bolt.Close()
}

// view runs fn in a read-only transaction, unless ctx is already done.
func (db *DB) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(fn)
}

// update runs fn in a read-write transaction, unless ctx is already done. An error from fn
// rolls the transaction back. A transaction the full disk refuses is tried once more after
// the reserve is released (see reserve), so that the store can still record, say, that a run
// failed because the disk is full; fn may therefore run twice, and must set, not add to, what
// it returns through its closure.
func (db *DB) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	write := func(tx *bolt.Tx) error {
		db.trimMap(tx)
		return fn(tx)
	}
	err := db.bolt.Update(write)
	if errors.Is(err, syscall.ENOSPC) && db.reserve.release() {
		err = db.bolt.Update(write)
	}
	if err == nil {
		db.reserve.restore()
	}
	return err
}

// trimMap unmaps the store's file from the process (unmapRead) once unmapEvery bytes of
// records have been written since the last time. Every write transaction calls it first.
func (db *DB) trimMap(tx *bolt.Tx) {
	if db.unmapDue.Load() >= db.unmapEvery {
		db.unmapDue.Store(0)
		unmapRead(tx)
	}
}

// wroteRecords counts towards the next trimMap what saving a batch of n items, size bytes
// as batchSize measures them, wrote: the share of it that counts says was added or updated.
func (db *DB) wroteRecords(size, n int, counts records.Counts) {
	if written := counts.Added + counts.Updated; written > 0 && n > 0 {
		db.unmapDue.Add(int64(size / n * written))
	}
}

// batchSize is about how many bytes storing items takes: their ids, data and headers, and
// some of bbolt's own bookkeeping.
func batchSize(items []records.Item) int {
	size := 0
	for _, it := range items {
		size += len(it.ID) + len(it.Data) + headerSize + 16
	}
	return size
}

// nested returns the bucket at path under the top-level bucket top, or nil if any part of it
// does not exist.
func nested(tx *bolt.Tx, top []byte, path ...string) *bolt.Bucket {
	b := tx.Bucket(top)
	for _, name := range path {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(name))
	}
	return b
}

// connectionExists reports whether a connection is stored. Writes that create a connection's
// records, checkpoints or sync state check it first, so a run that outlives its connection's
// deletion cannot bring back what the deletion removed.
func connectionExists(tx *bolt.Tx, integration, connection string) bool {
	b := nested(tx, bucketConnections, integration)
	return b != nil && b.Get([]byte(connection)) != nil
}

// errNoConnection is what a write for a deleted (or never created) connection fails with.
func errNoConnection(integration, connection string) error {
	return fmt.Errorf("connection %s/%s: %w", integration, connection, ErrNotFound)
}

// nestedCreate is nested, creating what is missing.
func nestedCreate(tx *bolt.Tx, top []byte, path ...string) (*bolt.Bucket, error) {
	b := tx.Bucket(top)
	for _, name := range path {
		var err error
		if b, err = b.CreateBucketIfNotExists([]byte(name)); err != nil {
			return nil, fmt.Errorf("bucket %q: %w", name, err)
		}
	}
	return b, nil
}

// deleteNested deletes the bucket at path under top if it exists.
func deleteNested(tx *bolt.Tx, top []byte, path ...string) error {
	parent := nested(tx, top, path[:len(path)-1]...)
	if parent == nil {
		return nil
	}
	err := parent.DeleteBucket([]byte(path[len(path)-1]))
	if errors.Is(err, berrors.ErrBucketNotFound) {
		return nil
	}
	return err
}

// requireIDs refuses empty names, which bbolt cannot use as keys.
func requireIDs(what string, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			return fmt.Errorf("%s must not be empty", what)
		}
	}
	return nil
}

// utc drops the monotonic reading and location, so stored times compare equal to loaded
// ones.
func utc(t time.Time) time.Time { return t.Round(0).UTC() }
