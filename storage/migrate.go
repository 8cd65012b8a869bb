package storage

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Schema versions: 1 kept each record whole in "ids" and only its id in "cursors"; 2 keeps the
// whole record in "changes", in change order, and its header alone in "ids" (see doc.go). A
// sync's pages arrive in the provider's order, not in id order, so under version 1 each record
// saved rewrote a page of "ids" of its own; under version 2 the records append to "changes",
// and "ids" is small.
var bucketCursorsV1 = []byte("cursors")

// migrateChunk is how many records one migration transaction moves: bbolt holds a
// transaction's pages in memory until it commits.
var migrateChunk = 20_000

// migrate brings the store from schema version from to schemaVersion, in transactions of its
// own. A migration cut short (a crash, a full disk) resumes at the next Open: each transaction
// moves whole records, and the version is set last.
func migrate(b *bolt.DB, from uint32) error {
	if from < 2 {
		for {
			moved := 0
			err := b.Update(func(tx *bolt.Tx) error {
				return forEachModel(tx, func(_ Scope, m *bolt.Bucket) error {
					n, err := moveToChanges(m, migrateChunk-moved)
					moved += n
					return err
				})
			})
			if err != nil {
				return fmt.Errorf("move records to schema version 2: %w", err)
			}
			if moved < migrateChunk {
				break
			}
		}
	}
	return b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, schemaVersion))
	})
}

// moveToChanges moves up to limit records of the model bucket m from the version 1 layout to
// version 2, deleting "cursors" once it is empty, and returns how many it moved.
func moveToChanges(m *bolt.Bucket, limit int) (int, error) {
	old := m.Bucket(bucketCursorsV1)
	if old == nil || limit <= 0 {
		return 0, nil
	}
	ids := m.Bucket(bucketIDs)
	if ids == nil {
		return 0, fmt.Errorf("model bucket with %q but no %q: corrupt store", bucketCursorsV1, bucketIDs)
	}
	changes, err := m.CreateBucketIfNotExists(bucketChanges)
	if err != nil {
		return 0, err
	}
	changes.FillPercent = 1
	var cursors [][]byte
	c := old.Cursor()
	for k, _ := c.First(); k != nil && len(cursors) < limit; k, _ = c.Next() {
		cursors = append(cursors, append([]byte(nil), k...))
	}
	if len(cursors) == 0 {
		return 0, m.DeleteBucket(bucketCursorsV1)
	}
	to := &model{bucket: m, ids: ids, changes: changes}
	for _, cursor := range cursors {
		id := old.Get(cursor)
		r, err := decodeRecord(id, ids.Get(id)) // version 1: the header, then the data
		if err != nil {
			return 0, err
		}
		if err := to.put(id, &r); err != nil {
			return 0, err
		}
		if err := old.Delete(cursor); err != nil {
			return 0, err
		}
	}
	if len(cursors) < limit { // that was the last of them
		return len(cursors), m.DeleteBucket(bucketCursorsV1)
	}
	return len(cursors), nil
}

// forEachModel calls fn with the bucket of each model of each connection of each integration.
func forEachModel(tx *bolt.Tx, fn func(s Scope, m *bolt.Bucket) error) error {
	return tx.Bucket(bucketRecords).ForEachBucket(func(integration []byte) error {
		ib := tx.Bucket(bucketRecords).Bucket(integration)
		return ib.ForEachBucket(func(connection []byte) error {
			cb := ib.Bucket(connection)
			return cb.ForEachBucket(func(model []byte) error {
				return fn(Scope{string(integration), string(connection), string(model)}, cb.Bucket(model))
			})
		})
	})
}
