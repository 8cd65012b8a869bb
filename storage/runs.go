package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrysync/ferry/records"
	bolt "go.etcd.io/bbolt"
)

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Kinds of run: what a Run executed.
const (
	KindSync    = "sync"
	KindAction  = "action"
	KindWebhook = "webhook"
)

// Run is one execution of one plugin function for one connection: a sync run, an action call
// or an inbound webhook's handling.
type Run struct {
	ID          string `json:"id"`   // assigned by caller (uuid v7, time-sortable)
	Kind        string `json:"kind"` // sync (also when empty), action or webhook
	Integration string `json:"integration"`
	Connection  string `json:"connection"`
	// Sync is the sync's name; for an action, the action's; for a webhook, "webhook".
	Sync string `json:"sync"`
	// Input and Output are an action's; Attempts counts the tries of an asynchronous one, of
	// at most MaxAttempts (0 for a synchronous call).
	Input       json.RawMessage           `json:"input,omitempty"`
	Output      json.RawMessage           `json:"output,omitempty"`
	Attempts    int                       `json:"attempts,omitempty"`
	MaxAttempts int                       `json:"max_attempts,omitempty"`
	Version     int                       `json:"version"`
	Trigger     string                    `json:"trigger"` // schedule | manual | webhook
	Full        bool                      `json:"full_resync"`
	Status      string                    `json:"status"` // queued | running | succeeded | failed | cancelled
	StartedAt   time.Time                 `json:"started_at"`
	EndedAt     *time.Time                `json:"ended_at"`
	Error       string                    `json:"error"`
	Counts      map[string]records.Counts `json:"counts"`
}

// PutRun creates or replaces a run. In the same transaction it records the run in its sync's
// state: LastRunID becomes r.ID and, when r succeeded, LastSuccessAt becomes r.StartedAt (the
// start, so a next incremental run asks for what changed since this one began).
func (db *DB) PutRun(ctx context.Context, r Run) error {
	if err := requireIDs("put run: id, integration, connection and sync", r.ID, r.Integration, r.Connection, r.Sync); err != nil {
		return err
	}
	err := db.update(ctx, func(tx *bolt.Tx) error { return putRun(tx, r) })
	if err != nil {
		return fmt.Errorf("put run %s: %w", r.ID, err)
	}
	return nil
}

// putRun is PutRun inside tx, for callers that store more with the run (FinishRun).
func putRun(tx *bolt.Tx, r Run) error {
	r.StartedAt = utc(r.StartedAt)
	if r.EndedAt != nil {
		t := utc(*r.EndedAt)
		r.EndedAt = &t
	}
	runs, index := tx.Bucket(bucketRuns), tx.Bucket(bucketRunStatus)
	if old := runs.Get([]byte(r.ID)); old != nil {
		var prev struct{ Status string }
		if err := json.Unmarshal(old, &prev); err != nil {
			return fmt.Errorf("stored run: %w", err)
		}
		if err := index.Delete(statusKey(prev.Status, r.ID)); err != nil {
			return err
		}
	}
	if err := putJSON(runs, []byte(r.ID), r); err != nil {
		return err
	}
	if err := index.Put(statusKey(r.Status, r.ID), nil); err != nil {
		return err
	}
	if r.Kind != "" && r.Kind != KindSync {
		return nil // an action's or a webhook handler's call has no sync state
	}
	return updateSyncState(tx, r.Integration, r.Connection, r.Sync, func(st *SyncState) {
		st.LastRunID = r.ID
		if r.Status == StatusSucceeded {
			st.LastSuccessAt = r.StartedAt
		}
	})
}

// Run returns one run.
func (db *DB) Run(ctx context.Context, id string) (Run, error) {
	var r Run
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketRuns), []byte(id), &r)
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if !ok || id == "" {
			return fmt.Errorf("run %s: %w", id, ErrNotFound)
		}
		return nil
	})
	return r, err
}

// RunFilter selects runs. Empty fields match everything; Limit <= 0 means 100.
type RunFilter struct {
	Integration, Connection, Sync, Status string
	Limit                                 int
}

func (f RunFilter) match(r *Run) bool {
	return (f.Integration == "" || f.Integration == r.Integration) &&
		(f.Connection == "" || f.Connection == r.Connection) &&
		(f.Sync == "" || f.Sync == r.Sync) &&
		(f.Status == "" || f.Status == r.Status)
}

// Runs returns the runs matching f, newest first (by id: run ids are UUIDv7, which sort by
// creation time).
func (db *DB) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Run
	err := db.view(ctx, func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		add := func(id, v []byte) (bool, error) {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("run %s: %w", id, err)
			}
			if f.match(&r) {
				out = append(out, r)
			}
			return len(out) < limit, nil
		}
		if f.Status != "" {
			// Walk the status index backwards instead of every run.
			prefix := statusKey(f.Status, "")
			c := tx.Bucket(bucketRunStatus).Cursor()
			k, _ := c.Seek(append([]byte(f.Status), 1)) // just past the prefix
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
				id := k[len(prefix):]
				more, err := add(id, runs.Get(id))
				if err != nil || !more {
					return err
				}
			}
			return nil
		}
		c := runs.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			more, err := add(k, v)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	return out, err
}

// RunsWithStatus returns every run in one of the given statuses, oldest first. At start-up
// the server uses it to find the runs a crash interrupted.
func (db *DB) RunsWithStatus(ctx context.Context, statuses ...string) ([]Run, error) {
	var out []Run
	err := db.view(ctx, func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		c := tx.Bucket(bucketRunStatus).Cursor()
		for _, status := range slices.Compact(slices.Sorted(slices.Values(statuses))) {
			prefix := statusKey(status, "")
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				id := k[len(prefix):]
				var r Run
				if err := json.Unmarshal(runs.Get(id), &r); err != nil {
					return fmt.Errorf("run %s: %w", id, err)
				}
				out = append(out, r)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Run) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// statusKey is the run_status index key of a run.
func statusKey(status, id string) []byte {
	k := make([]byte, 0, len(status)+1+len(id))
	k = append(k, status...)
	k = append(k, 0)
	return append(k, id...)
}

// LogEntry is one line of a run's log: a plugin's log line or one proxied HTTP request.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // debug | info | warn | error
	Message string    `json:"message,omitempty"`
	HTTP    *HTTPLog  `json:"http,omitempty"`
}

// HTTPLog describes one request the proxy made for a plugin.
type HTTPLog struct {
	Method     string  `json:"method"`
	URL        string  `json:"url"` // already redacted by the caller
	Status     int     `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Retries    int     `json:"retries"`
	Error      string  `json:"error,omitempty"`
}

// AppendRunLog appends entries, in order, to the log of an existing run.
func (db *DB) AppendRunLog(ctx context.Context, runID string, entries []LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if runID == "" || tx.Bucket(bucketRuns).Get([]byte(runID)) == nil {
			return fmt.Errorf("run %s: %w", runID, ErrNotFound)
		}
		b, err := nestedCreate(tx, bucketRunLogs, runID)
		if err != nil {
			return err
		}
		b.FillPercent = 1 // append-only
		for _, e := range entries {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := putJSON(b, binary.BigEndian.AppendUint64(nil, seq), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append to log of run %s: %w", runID, err)
	}
	return nil
}

// RunLog returns the log of an existing run, in the order it was appended.
func (db *DB) RunLog(ctx context.Context, runID string) ([]LogEntry, error) {
	var out []LogEntry
	err := db.view(ctx, func(tx *bolt.Tx) error {
		if runID == "" || tx.Bucket(bucketRuns).Get([]byte(runID)) == nil {
			return fmt.Errorf("run %s: %w", runID, ErrNotFound)
		}
		b := nested(tx, bucketRunLogs, runID)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var e LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("run %s log entry %d: %w", runID, binary.BigEndian.Uint64(k), err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}
