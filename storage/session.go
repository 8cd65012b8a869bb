package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ferrysync/ferry/records"
)

// Session limits: a session commits its transaction once it has been open this long or has
// written this much.
const (
	DefaultSessionHold  = 100 * time.Millisecond
	DefaultSessionBytes = 32 << 20
)

// A Session groups one sync run's record batches and checkpoints into few transactions. A
// bbolt commit costs two fsyncs, about 20 ms on a virtual disk, which would otherwise cap a
// sync at some 50 pages a second however fast everything else is.
//
// A batch saved through the session is applied at once (its counts are final) in a
// transaction the session keeps open across batches. Once the transaction has been open for
// the session's hold time or has gathered its byte budget, the session commits it in the
// background, so that the plugin fetches its next page while the disk syncs. A checkpoint is
// kept aside and written at the start of the next transaction, so it is never committed before
// the records saved ahead of it. What a session wrote is visible to others, and durable, once
// committed: a server that dies loses at most the last hold time of a run, records and the
// checkpoint that covers them alike, and the run resumes from the checkpoint before.
//
// Holding the transaction holds bbolt's single writer lock, so every other write waits for at
// most the hold time. A session's methods must be called from one goroutine at a time, which
// calls Flush before it reads what it wrote or writes outside the session, and before the run
// ends. A write or commit that fails rolls back everything uncommitted and fails every later
// call: the run must fail, since writes it was told had succeeded are gone.
type Session struct {
	db       *DB
	hold     time.Duration
	maxBytes int

	mu          sync.Mutex
	tx          *bolt.Tx
	opened      time.Time
	written     int
	checkpoints []checkpointWrite // waiting for the next transaction
	committing  *commit           // the background commit under way, if any
	timer       *time.Timer
	gen         uint64 // counts timers, so a stale one does nothing
	err         error
}

type checkpointWrite struct {
	integration, connection, sync string
	cp                            json.RawMessage
}

// commit is a transaction committing in the background; err is valid once done is closed.
type commit struct {
	done chan struct{}
	err  error
}

// NewSession returns a session that commits after hold or maxBytes (the defaults if zero).
func (db *DB) NewSession(hold time.Duration, maxBytes int) *Session {
	if hold <= 0 {
		hold = DefaultSessionHold
	}
	if maxBytes <= 0 {
		maxBytes = DefaultSessionBytes
	}
	return &Session{db: db, hold: hold, maxBytes: maxBytes}
}

// SaveRecords is DB.SaveRecords within the session.
func (s *Session) SaveRecords(ctx context.Context, sc Scope, items []records.Item, now time.Time, opts ...WriteOption) (records.Counts, error) {
	if err := sc.validate(); err != nil || len(items) == 0 {
		return records.Counts{}, err
	}
	if err := ctx.Err(); err != nil {
		return records.Counts{}, err
	}
	size := batchSize(items)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked(); err != nil {
		return records.Counts{}, err
	}
	counts, err := saveRecords(s.tx, sc, items, nanos(now), writeOptions(opts))
	switch {
	case errors.Is(err, ErrRefused):
		return records.Counts{}, err // refused before it wrote anything: the transaction is intact
	case err != nil:
		s.failLocked(err)
		return records.Counts{}, fmt.Errorf("save %s batch of %s/%s: %w", sc.Model, sc.Integration, sc.Connection, s.err)
	}
	s.db.wroteRecords(size, len(items), counts)
	if s.written += size; s.written >= s.maxBytes || time.Since(s.opened) >= s.hold {
		s.commitLocked()
	}
	return counts, nil
}

// SaveCheckpoint is DB.SaveCheckpoint within the session: the checkpoint is written in the
// open transaction, or, while the last one commits, at the start of the next (or by Flush), so
// it is never committed before the records saved ahead of it.
func (s *Session) SaveCheckpoint(ctx context.Context, integration, connection, sync string, cp json.RawMessage) error {
	if err := requireIDs("save checkpoint: integration, connection and sync", integration, connection, sync); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.tx != nil { // the records before it are in this transaction or committed
		if err := putCheckpoint(s.tx, integration, connection, sync, cp); err != nil {
			s.failLocked(err)
			return fmt.Errorf("save checkpoint of %s/%s/%s: %w", integration, connection, sync, s.err)
		}
		return nil
	}
	w := checkpointWrite{integration, connection, sync, append(json.RawMessage(nil), cp...)}
	for i, c := range s.checkpoints {
		if c.integration == integration && c.connection == connection && c.sync == sync {
			s.checkpoints[i] = w
			return nil
		}
	}
	s.checkpoints = append(s.checkpoints, w)
	s.armLocked()
	return nil
}

// Flush commits everything the session holds, waits for the commit, and returns the
// session's first failure, if any.
func (s *Session) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked()
	if len(s.checkpoints) > 0 && s.err == nil {
		if err := s.beginLocked(); err != nil { // writes them once the commit is done
			return err
		}
		s.commitLocked()
	}
	s.waitLocked()
	return s.err
}

// beginLocked opens a transaction if none is open, first waiting for the commit under way
// and writing the checkpoints kept aside.
func (s *Session) beginLocked() error {
	if s.err != nil {
		return s.err
	}
	if s.tx != nil {
		return nil
	}
	if s.waitLocked(); s.err != nil {
		return s.err
	}
	tx, err := s.db.bolt.Begin(true)
	if err != nil {
		s.err = fmt.Errorf("begin transaction: %w", err)
		return s.err
	}
	s.db.trimMap(tx)
	s.tx, s.opened, s.written = tx, time.Now(), 0
	for _, c := range s.checkpoints {
		if err := putCheckpoint(tx, c.integration, c.connection, c.sync, c.cp); err != nil {
			s.failLocked(fmt.Errorf("save checkpoint of %s/%s/%s: %w", c.integration, c.connection, c.sync, err))
			return s.err
		}
	}
	s.checkpoints = nil
	s.armLocked()
	return nil
}

// armLocked makes sure a timer will commit what is pending within the hold time, even if
// no further write comes.
func (s *Session) armLocked() {
	if s.timer != nil {
		return
	}
	s.gen++
	gen := s.gen
	s.timer = time.AfterFunc(s.hold, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen != gen {
			return
		}
		s.timer = nil
		if s.tx == nil && len(s.checkpoints) > 0 && s.err == nil {
			if s.beginLocked() != nil {
				return
			}
		}
		s.commitLocked()
	})
}

// commitLocked starts committing the open transaction in the background.
func (s *Session) commitLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
		s.gen++
	}
	if s.tx == nil {
		return
	}
	tx, c := s.tx, &commit{done: make(chan struct{})}
	s.tx, s.committing = nil, c
	go func() {
		defer close(c.done)
		if err := tx.Commit(); err != nil {
			c.err = fmt.Errorf("commit the batches and checkpoint saved before: %w", err)
		}
	}()
	if len(s.checkpoints) > 0 {
		s.armLocked()
	}
}

// waitLocked waits for the commit under way, if any, and records its failure.
func (s *Session) waitLocked() {
	if c := s.committing; c != nil {
		<-c.done
		s.committing = nil
		if c.err != nil && s.err == nil {
			s.err = c.err
		}
	}
}

// failLocked rolls back the open transaction and fails the session with err.
func (s *Session) failLocked(err error) {
	if s.tx != nil {
		_ = s.tx.Rollback()
		s.tx = nil
	}
	if s.err == nil {
		s.err = fmt.Errorf("%w (the run's uncommitted writes were rolled back)", err)
	}
}
