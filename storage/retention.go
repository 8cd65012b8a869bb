package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneRuns deletes finished runs, with their logs, beyond the newest keep runs of each sync
// of each connection, and those that started before before. It never deletes a queued or
// running run, nor the last run of a sync (its status refers to it). keep <= 0 keeps any
// number; a zero before keeps any age. It returns how many runs it deleted.
func (db *DB) PruneRuns(ctx context.Context, keep int, before time.Time) (int, error) {
	deleted := 0
	err := db.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0 // update may run this twice
		runs, index, logs := tx.Bucket(bucketRuns), tx.Bucket(bucketRunStatus), tx.Bucket(bucketRunLogs)
		seen := map[[3]string]int{}
		var doomed []Run
		c := runs.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() { // newest first
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %s: %w", k, err)
			}
			key := [3]string{r.Integration, r.Connection, r.Sync}
			seen[key]++
			if r.Status == StatusQueued || r.Status == StatusRunning {
				continue
			}
			tooMany := keep > 0 && seen[key] > keep
			tooOld := !before.IsZero() && r.StartedAt.Before(before)
			if (tooMany || tooOld) && seen[key] > 1 {
				doomed = append(doomed, r)
			}
		}
		for _, r := range doomed {
			st, err := getSyncState(tx, r.Integration, r.Connection, r.Sync)
			if err != nil {
				return err
			}
			if st.LastRunID == r.ID {
				continue
			}
			if err := runs.Delete([]byte(r.ID)); err != nil {
				return err
			}
			if err := index.Delete(statusKey(r.Status, r.ID)); err != nil {
				return err
			}
			if logs.Bucket([]byte(r.ID)) != nil {
				if err := logs.DeleteBucket([]byte(r.ID)); err != nil {
					return err
				}
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune runs: %w", err)
	}
	return deleted, nil
}
