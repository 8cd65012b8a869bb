package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt
	DeliveryDelivered = "delivered" // the app answered 2xx
	DeliveryFailed    = "failed"    // given up on
)

// Delivery is one webhook call the app must receive: its body is fixed when it is queued, and
// its ID is the X-Ferry-Delivery header, the same on every attempt.
type Delivery struct {
	ID            string          `json:"id"`       // uuid v7, set by the caller
	Type          string          `json:"type"`     // sync.completed | sync.failed
	RunID         string          `json:"run_id"`   // the run whose end queued it
	Body          json.RawMessage `json:"body"`     // the exact bytes POSTed
	Status        string          `json:"status"`   // pending | delivered | failed
	Attempts      int             `json:"attempts"` // attempts made so far
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	LastError     string          `json:"last_error,omitempty"` // why the last attempt failed
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
}

// storedDelivery is a Delivery as kept on disk. The body is kept as bytes (base64 in the JSON)
// rather than embedded JSON, which encoding/json would re-compact and re-escape: the bytes
// signed and POSTed are exactly the bytes queued.
type storedDelivery struct {
	Delivery
	Body []byte `json:"body"`
}

func (s storedDelivery) delivery() Delivery {
	d := s.Delivery
	d.Body = json.RawMessage(s.Body)
	return d
}

// normalise checks d and brings its times to UTC.
func (d *Delivery) normalise() error {
	if err := requireIDs("id and type", d.ID, d.Type); err != nil {
		return err
	}
	switch d.Status {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed:
	default:
		return fmt.Errorf("unknown status %q", d.Status)
	}
	d.NextAttemptAt, d.CreatedAt = utc(d.NextAttemptAt), utc(d.CreatedAt)
	if d.DeliveredAt != nil {
		t := utc(*d.DeliveredAt)
		d.DeliveredAt = &t
	}
	return nil
}

// FinishRun stores a finished run and queues its deliveries in one transaction, with the same
// effects on runs and sync states as PutRun: a run is never recorded as finished without its
// webhooks, nor a webhook queued for a run that is not recorded. Each delivery must have a new
// ID, a type and a body of valid JSON; an empty status means pending, an empty RunID means
// r.ID. On any error nothing is stored.
func (db *DB) FinishRun(ctx context.Context, r Run, deliveries []Delivery) error {
	if err := requireIDs("finish run: id, integration, connection and sync", r.ID, r.Integration, r.Connection, r.Sync); err != nil {
		return err
	}
	for i := range deliveries {
		d := &deliveries[i]
		if d.Status == "" {
			d.Status = DeliveryPending
		}
		if d.RunID == "" {
			d.RunID = r.ID
		}
		if err := d.normalise(); err != nil {
			return fmt.Errorf("finish run %s: delivery %d: %w", r.ID, i, err)
		}
		if d.RunID != r.ID {
			return fmt.Errorf("finish run %s: delivery %s belongs to run %s", r.ID, d.ID, d.RunID)
		}
		if !json.Valid(d.Body) {
			return fmt.Errorf("finish run %s: delivery %s: body is not valid JSON", r.ID, d.ID)
		}
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if err := putRun(tx, r); err != nil {
			return err
		}
		for _, d := range deliveries {
			if tx.Bucket(bucketDeliveries).Get([]byte(d.ID)) != nil {
				return fmt.Errorf("delivery %s already exists", d.ID)
			}
			if err := putDelivery(tx, nil, d); err != nil {
				return fmt.Errorf("delivery %s: %w", d.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	return nil
}

// DueDeliveries returns up to limit (<= 0: 100) pending deliveries whose next attempt is at
// or before now, the earliest due first. It reads the due index, never the delivered and
// failed deliveries.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	end := dueTime(now)
	var out []Delivery
	err := db.view(ctx, func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketDeliveries)
		c := tx.Bucket(bucketDeliveryDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k) > end {
				break
			}
			d, err := getDelivery(all, k[8:])
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return out, nil
}

// NextDeliveryAt returns the earliest next attempt of any pending delivery, and false when
// none is pending: how long the sender may sleep.
func (db *DB) NextDeliveryAt(ctx context.Context) (time.Time, bool, error) {
	var next time.Time
	var ok bool
	err := db.view(ctx, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketDeliveryDue).Cursor().First()
		if k == nil {
			return nil
		}
		d, err := getDelivery(tx.Bucket(bucketDeliveries), k[8:])
		if err != nil {
			return err
		}
		next, ok = d.NextAttemptAt, true
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery: %w", err)
	}
	return next, ok, nil
}

// UpdateDelivery records an attempt at an existing delivery: it changes its status, attempts,
// next attempt, last error and delivery time, and keeps the rest (type, run, body, creation
// time) as queued, so a delivery's body never changes. The due index follows: only a pending
// delivery is due.
func (db *DB) UpdateDelivery(ctx context.Context, d Delivery) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		old, err := getDelivery(tx.Bucket(bucketDeliveries), []byte(d.ID))
		if err != nil {
			return err
		}
		d.Type, d.RunID, d.Body, d.CreatedAt = old.Type, old.RunID, old.Body, old.CreatedAt
		if err := d.normalise(); err != nil {
			return err
		}
		return putDelivery(tx, &old, d)
	})
	if err != nil {
		return fmt.Errorf("update delivery %s: %w", d.ID, err)
	}
	return nil
}

// DeliveryFilter selects deliveries. An empty Status matches every status; Limit <= 0 means
// 100.
type DeliveryFilter struct {
	Status string
	Limit  int
}

// Deliveries returns the deliveries matching f, newest first (by id: delivery ids are UUIDv7,
// which sort by creation time).
func (db *DB) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Delivery
	err := db.view(ctx, func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketDeliveries)
		if f.Status == "" {
			c := all.Cursor()
			for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
				d, err := getDelivery(all, k)
				if err != nil {
					return err
				}
				out = append(out, d)
			}
			return nil
		}
		prefix := statusKey(f.Status, "")
		c := tx.Bucket(bucketDeliveryStatus).Cursor()
		k, _ := c.Seek(append([]byte(f.Status), 1)) // just past the prefix
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
			d, err := getDelivery(all, k[len(prefix):])
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return out, nil
}

// PruneDeliveries deletes the delivered and failed deliveries created before before, and
// returns how many it deleted. Pending deliveries are never pruned.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	deleted := 0
	err := db.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0 // update may run this twice
		all, index := tx.Bucket(bucketDeliveries), tx.Bucket(bucketDeliveryStatus)
		var doomed [][]byte // index keys; bbolt cursors must not delete while they walk
		for _, status := range []string{DeliveryDelivered, DeliveryFailed} {
			prefix := statusKey(status, "")
			c := index.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				d, err := getDelivery(all, k[len(prefix):])
				if err != nil {
					return err
				}
				if d.CreatedAt.Before(before) {
					doomed = append(doomed, k)
				}
			}
		}
		for _, k := range doomed {
			id := k[bytes.IndexByte(k, 0)+1:]
			if err := all.Delete(id); err != nil {
				return err
			}
			if err := index.Delete(k); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return deleted, nil
}

// putDelivery writes d and its index entries, first removing those of old (the delivery as
// stored before, nil for a new one).
func putDelivery(tx *bolt.Tx, old *Delivery, d Delivery) error {
	all, index, due := tx.Bucket(bucketDeliveries), tx.Bucket(bucketDeliveryStatus), tx.Bucket(bucketDeliveryDue)
	if old != nil {
		if err := index.Delete(statusKey(old.Status, old.ID)); err != nil {
			return err
		}
		if old.Status == DeliveryPending {
			if err := due.Delete(dueKey(old.NextAttemptAt, old.ID)); err != nil {
				return err
			}
		}
	}
	if err := putJSON(all, []byte(d.ID), storedDelivery{Delivery: d, Body: d.Body}); err != nil {
		return err
	}
	if err := index.Put(statusKey(d.Status, d.ID), nil); err != nil {
		return err
	}
	if d.Status == DeliveryPending {
		return due.Put(dueKey(d.NextAttemptAt, d.ID), nil)
	}
	return nil
}

// getDelivery loads one delivery, ErrNotFound if it does not exist.
func getDelivery(b *bolt.Bucket, id []byte) (Delivery, error) {
	var s storedDelivery
	ok, err := getJSON(b, id, &s)
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	if !ok || len(id) == 0 {
		return Delivery{}, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	return s.delivery(), nil
}

// dueKey is the delivery_due index key of a pending delivery.
func dueKey(next time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(id)), dueTime(next))
	return append(k, id...)
}

// dueTime is t in Unix nanoseconds, clamped to what a uint64 key orders correctly (times
// before 1970, the zero time among them, are due at once).
func dueTime(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}
