package hostfuncs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/ferrysync/ferry/records"
)

// maxQueuedBatches is how many queued batches may wait to be saved before records_queue
// waits for room. More than one, so that the guest goes on while the host waits for a commit;
// few, since each is a copy of a page.
const maxQueuedBatches = 3

// writeQueue holds a Call's queued writes (docs/abi.md, "Queued saves"): record batches from
// records_queue and the checkpoints saved behind them. They are carried out in order, each on
// its own goroutine once the one before it is done, while the guest goes on; so the guest
// decodes its next pages while the host saves the last ones. A batch is parsed as soon as it
// is queued: only the store's share of a save waits for the writes ahead of it.
//
// counts is written only by the queued writes, one after another, and read by the guest's
// calls only once tail is closed, so it needs no lock; err is also read while writes run.
type writeQueue struct {
	tail    chan struct{}   // closed once the last queued write is done; nil when none is queued
	batches []chan struct{} // of the queued batches, those that may not be done yet, oldest first
	counts  records.Counts  // what the queued batches saved since the guest's last records_flush

	mu  sync.Mutex
	err error // the queued write that failed, not yet reported; those after it were dropped
	// spare holds the copies of batches already saved, for the next ones to reuse: a page
	// is about a megabyte, and a fresh one each time costs the server's garbage collector
	// and page faults more than the copy itself.
	spare [][]byte
}

// copyBatch returns a copy of b, in a spare buffer when one is large enough.
func (q *writeQueue) copyBatch(b []byte) []byte {
	q.mu.Lock()
	for i, buf := range q.spare {
		if cap(buf) >= len(b) {
			q.spare = slices.Delete(q.spare, i, i+1)
			q.mu.Unlock()
			return append(buf[:0], b...)
		}
	}
	q.mu.Unlock()
	// Room to spare, so that the next page, a little longer, fits too.
	return append(make([]byte, 0, len(b)+len(b)/8), b...)
}

// release gives back the copy of a batch once nothing refers to it any more: the store has
// copied what it keeps, and the items are dropped.
func (q *writeQueue) release(buf []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.spare) < maxQueuedBatches {
		q.spare = append(q.spare, buf)
	}
}

// failure returns the queued write that failed, if any.
func (q *writeQueue) failure() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// enqueue queues write, which op asked for, behind the writes already queued, and returns a
// channel closed once it is done. prepare, if not nil, runs at once, beside the writes ahead
// of it: the work of a write that needs neither the store nor their results.
func (c *Call) enqueue(op Op, prepare func(), write func() error) chan struct{} {
	q := &c.queue
	prev := q.tail
	done := make(chan struct{})
	q.tail = done
	go func() {
		defer close(done)
		if prepare != nil {
			prepare()
		}
		if prev != nil {
			<-prev
		}
		if q.failure() != nil {
			return // the queue stops at its first failure
		}
		if err := write(); err != nil {
			q.mu.Lock()
			q.err = fmt.Errorf("a queued %s failed, and the writes queued after it were dropped: %w", op, err)
			q.mu.Unlock()
		}
	}()
	return done
}

// queued reports whether writes are queued, done or not, that no call has waited for yet.
func (c *Call) queued() bool { return c.queue.tail != nil }

// drain waits for the queued writes and returns the failure that stopped them, if any, which
// the guest is then told of: the queue is empty again.
func (c *Call) drain() error {
	q := &c.queue
	if q.tail == nil {
		return nil
	}
	<-q.tail
	q.tail, q.batches = nil, nil
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.err
	q.err = nil
	return err
}

// queueRecords is records_queue: it checks the model now and saves the batch, a copy of it,
// once the writes queued before it are done. While maxQueuedBatches wait to be saved, it waits
// for the oldest; and once a queued write has failed, it reports the failure and queues
// nothing.
func (c *Call) queueRecords(ctx context.Context, arg []byte) error {
	q := &c.queue
	for len(q.batches) >= maxQueuedBatches {
		<-q.batches[0]
		q.batches = q.batches[1:]
	}
	if q.failure() != nil {
		return c.drain()
	}
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return err
	}
	body = q.copyBatch(body) // arg aliases guest memory, or the worker's frame buffer
	var (
		items    []records.Item
		parseErr error
	)
	// Parsing (and hashing) the batch needs nothing of the writes ahead of it, so it runs
	// while they are carried out; its refusal, like the rest of the save, waits its turn.
	parse := func() { items, parseErr = records.ParseBatch(body) }
	done := c.enqueue(OpRecordsQueue, parse, func() error {
		// The items' data are slices of body, which the store copies what it writes from.
		defer q.release(body)
		if parseErr != nil {
			return c.refuseBatch(scope.Model, parseErr)
		}
		counts, err := c.save(ctx, scope, items)
		q.counts.Add(counts)
		return err
	})
	q.batches = append(q.batches, done)
	return nil
}

// flushRecords is records_flush, once Dispatch has waited for the queue: the counts of the
// batches saved since the last flush.
func (c *Call) flushRecords() ([]byte, error) {
	n := c.queue.counts
	c.queue.counts = records.Counts{}
	return json.Marshal(saveResult{n.Added, n.Updated, n.Unchanged})
}
