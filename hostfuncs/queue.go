package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferrysync/ferry/records"
)

// writeQueue holds a Call's queued writes (docs/abi.md, "Queued saves"): record batches from
// records_queue and the checkpoints saved behind them. They are carried out in order, each on
// its own goroutine once the one before it is done, while the guest goes on; so the guest
// decodes its next page while the host saves the last one.
//
// err and counts are written only by the queued writes, one after another, and read by the
// guest's calls only once tail is closed, so they need no lock.
type writeQueue struct {
	tail   chan struct{}  // closed once the last queued write is done; nil when none is queued
	err    error          // the queued write that failed, not yet reported; those after it were dropped
	counts records.Counts // what the queued batches saved since the guest's last records_flush
}

// enqueue queues write, which op asked for, behind the writes already queued.
func (c *Call) enqueue(op Op, write func() error) {
	prev := c.queue.tail
	done := make(chan struct{})
	c.queue.tail = done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		if c.queue.err != nil {
			return // the queue stops at its first failure
		}
		if err := write(); err != nil {
			c.queue.err = fmt.Errorf("a queued %s failed, and the writes queued after it were dropped: %w", op, err)
		}
	}()
}

// queued reports whether writes are queued, done or not, that no call has waited for yet.
func (c *Call) queued() bool { return c.queue.tail != nil }

// drain waits for the queued writes and returns the failure that stopped them, if any, which
// the guest is then told of: the queue is empty again.
func (c *Call) drain() error {
	if c.queue.tail == nil {
		return nil
	}
	<-c.queue.tail
	c.queue.tail = nil
	err := c.queue.err
	c.queue.err = nil
	return err
}

// queueRecords is records_queue: it checks the model now and saves the batch, a copy of it,
// once the writes queued before it are done. It waits for those first, so that at most one
// batch is being saved while the guest prepares the next.
func (c *Call) queueRecords(ctx context.Context, arg []byte) error {
	if err := c.drain(); err != nil {
		return err
	}
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return err
	}
	body = bytes.Clone(body) // arg aliases guest memory, or the worker's frame buffer
	c.enqueue(OpRecordsQueue, func() error {
		counts, err := c.saveBatch(ctx, scope, body)
		c.queue.counts.Add(counts)
		return err
	})
	return nil
}

// flushRecords is records_flush, once Dispatch has waited for the queue: the counts of the
// batches saved since the last flush.
func (c *Call) flushRecords() ([]byte, error) {
	n := c.queue.counts
	c.queue.counts = records.Counts{}
	return json.Marshal(saveResult{n.Added, n.Updated, n.Unchanged})
}
