package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checkpoint returns the checkpoint of a sync of a connection, or nil (and no error) when it
// has none.
func (db *DB) Checkpoint(ctx context.Context, integration, connection, sync string) (json.RawMessage, error) {
	var cp json.RawMessage
	err := db.view(ctx, func(tx *bolt.Tx) error {
		if b := nested(tx, bucketCheckpoints, integration, connection); b != nil {
			if v := b.Get([]byte(sync)); v != nil {
				cp = bytes.Clone(v)
			}
		}
		return nil
	})
	return cp, err
}

// SaveCheckpoint replaces the checkpoint of a sync of a connection. The caller saves it only
// after the records it covers are saved (each SaveRecords call is committed when it returns),
// so a run resumed from it loses nothing. The caller validates the JSON; an empty cp clears
// the checkpoint.
func (db *DB) SaveCheckpoint(ctx context.Context, integration, connection, sync string, cp json.RawMessage) error {
	if err := requireIDs("save checkpoint: integration, connection and sync", integration, connection, sync); err != nil {
		return err
	}
	err := db.update(ctx, func(tx *bolt.Tx) error { return putCheckpoint(tx, integration, connection, sync, cp) })
	if err != nil {
		return fmt.Errorf("save checkpoint of %s/%s/%s: %w", integration, connection, sync, err)
	}
	return nil
}

// putCheckpoint is SaveCheckpoint within tx.
func putCheckpoint(tx *bolt.Tx, integration, connection, sync string, cp json.RawMessage) error {
	if !connectionExists(tx, integration, connection) {
		return errNoConnection(integration, connection)
	}
	b, err := nestedCreate(tx, bucketCheckpoints, integration, connection)
	if err != nil {
		return err
	}
	if len(cp) == 0 {
		return b.Delete([]byte(sync))
	}
	return b.Put([]byte(sync), bytes.Clone(cp))
}

// ClearCheckpoint removes the checkpoint of a sync of a connection, as a full resync does.
// Clearing a missing checkpoint is not an error.
func (db *DB) ClearCheckpoint(ctx context.Context, integration, connection, sync string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		if b := nested(tx, bucketCheckpoints, integration, connection); b != nil && sync != "" {
			return b.Delete([]byte(sync))
		}
		return nil
	})
}

// SyncState is what the scheduler and plugins need to know about a sync of a connection
// between runs.
type SyncState struct {
	LastSuccessAt time.Time `json:"last_success_at"` // start time of the last successful run
	LastRunID     string    `json:"last_run_id"`
	// Paused and Started record `ferry sync pause` and `start`; with neither, the manifest's
	// auto_start decides whether the sync runs on its schedule.
	Paused  bool `json:"paused"`
	Started bool `json:"started"`
	// NextRunAt is when the scheduler runs the sync next; zero until it first plans it.
	NextRunAt time.Time `json:"next_run_at"`
}

// Scheduled tells whether the sync runs on its schedule, given the manifest's auto_start.
func (st SyncState) Scheduled(autoStart bool) bool {
	return st.Started || (autoStart && !st.Paused)
}

// SyncState returns the state of a sync of a connection; the zero value when it never ran
// and was never paused.
func (db *DB) SyncState(ctx context.Context, integration, connection, sync string) (SyncState, error) {
	var st SyncState
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		st, err = getSyncState(tx, integration, connection, sync)
		return err
	})
	return st, err
}

// SetPaused pauses (paused) or starts (!paused) the schedule of a sync of a connection,
// overriding the manifest's auto_start either way.
func (db *DB) SetPaused(ctx context.Context, integration, connection, sync string, paused bool) error {
	return db.UpdateSyncState(ctx, integration, connection, sync, func(st *SyncState) {
		st.Paused, st.Started = paused, !paused
	})
}

// UpdateSyncState changes the state of a sync of a connection in one transaction.
func (db *DB) UpdateSyncState(ctx context.Context, integration, connection, sync string, change func(*SyncState)) error {
	if err := requireIDs("update sync state: integration, connection and sync", integration, connection, sync); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		if !connectionExists(tx, integration, connection) {
			return errNoConnection(integration, connection)
		}
		return updateSyncState(tx, integration, connection, sync, change)
	})
}

// SyncStates returns the states of every sync of a connection that has one, by sync name.
func (db *DB) SyncStates(ctx context.Context, integration, connection string) (map[string]SyncState, error) {
	out := map[string]SyncState{}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b := nested(tx, bucketSyncStates, integration, connection)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st SyncState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("sync state of %s/%s/%s: %w", integration, connection, k, err)
			}
			out[string(k)] = st
			return nil
		})
	})
	return out, err
}

func getSyncState(tx *bolt.Tx, integration, connection, sync string) (SyncState, error) {
	var st SyncState
	if _, err := getJSON(nested(tx, bucketSyncStates, integration, connection), []byte(sync), &st); err != nil {
		return st, fmt.Errorf("sync state of %s/%s/%s: %w", integration, connection, sync, err)
	}
	return st, nil
}

// updateSyncState changes a sync state; for a connection that is gone it does nothing, so a
// run finishing after its connection's deletion leaves no state behind.
func updateSyncState(tx *bolt.Tx, integration, connection, sync string, change func(*SyncState)) error {
	if !connectionExists(tx, integration, connection) {
		return nil
	}
	st, err := getSyncState(tx, integration, connection, sync)
	if err != nil {
		return err
	}
	change(&st)
	b, err := nestedCreate(tx, bucketSyncStates, integration, connection)
	if err != nil {
		return err
	}
	return putJSON(b, []byte(sync), st)
}
