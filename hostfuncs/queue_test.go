package hostfuncs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

const dropped = "a queued records_queue failed, and the writes queued after it were dropped"

func TestQueuedSaves(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"batches are saved in order, and flushed counts", []step{
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\",\"n\":1},{\"id\":\"b\",\"n\":1}]"},
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\",\"n\":2},{\"id\":\"b\",\"n\":1}]"},
			{op: OpRecordsFlush, want: `{"added":2,"updated":1,"unchanged":1}`},
			{op: OpRecordsFlush, want: `{"added":0,"updated":0,"unchanged":0}`},
			{op: OpRecordsGet, arg: "Contact\n[\"a\"]", want: `[{"id":"a","n":2}]`},
		}},
		// The second and third batches are copied into the buffer of the one before, once it is
		// saved, while the session's transaction holding all three is still open.
		{"a batch's buffer is reused only once the store is done with it", []step{
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\",\"n\":1}]"},
			{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":0}`},
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"b\",\"n\":2}]"},
			{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":0}`},
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\",\"n\":1},{\"id\":\"c\",\"n\":3}]"},
			{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":1}`},
			{op: OpRecordsGet, arg: "Contact\n[\"a\",\"b\",\"c\"]", want: `[{"id":"a","n":1},{"id":"b","n":2},{"id":"c","n":3}]`},
		}},
		{"a checkpoint is queued behind the batch", []step{
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\"}]"},
			{op: OpCheckpointSave, arg: `{"cursor":"c1"}`},
			{op: OpCheckpointGet, want: `{"cursor":"c1"}`},
			{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":0}`},
		}},
		{"a refused batch drops the checkpoint behind it, and is reported once", []step{
			{op: OpCheckpointSave, arg: `{"cursor":"c1"}`},
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\"},{\"name\":\"no id\"}]"},
			{op: OpCheckpointSave, arg: `{"cursor":"c2"}`},
			{op: OpRecordsFlush, wantErr: dropped + ": Contact batch refused, nothing saved: record 1"},
			{op: OpCheckpointGet, want: `{"cursor":"c1"}`},
			{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"b\"}]"},
			{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":0}`},
			{op: OpRecordsGet, arg: "Contact\n[\"a\",\"b\"]", want: `[{"id":"b"}]`},
		}},
		{"a failure is reported by the next call that waits for the queue", []step{
			{op: OpRecordsQueue, arg: "Contact\n[7]"},
			{op: OpLog, arg: "info\ngoing on"},
			{op: OpRecordsGet, arg: "Contact\n[\"a\"]", wantErr: "records_get: " + dropped + ": Contact batch refused, nothing saved: record 0: not a JSON object"},
			{op: OpRecordsGet, arg: "Contact\n[\"a\"]", want: `[]`},
		}},
		{"the model is checked at once", []step{
			{op: OpRecordsQueue, arg: "Deal\n[{\"id\":\"a\"}]", wantErr: `model "Deal" is not one of this function's models`},
			{op: OpRecordsQueue, arg: "Contact", wantErr: `"MODEL\nJSON"`},
			{op: OpRecordsFlush, want: `{"added":0,"updated":0,"unchanged":0}`},
		}},
		{"a checkpoint is checked at once", []step{
			{op: OpRecordsQueue, arg: "Contact\n[]"},
			{op: OpCheckpointSave, arg: `[1]`, wantErr: "checkpoint must be a JSON object"},
			{op: OpRecordsFlush, want: `{"added":0,"updated":0,"unchanged":0}`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, batched := range []bool{false, true} {
				c, db, _ := newCall(t)
				if batched {
					c.Batch = db.NewSession(time.Hour, 0)
				}
				runSteps(t, c, tt.steps)
				if err := c.Flush(); err != nil {
					t.Errorf("batched %v: Flush: %v", batched, err)
				}
			}
		})
	}
}

// TestQueueReportsAFailureWhenFull checks that records_queue reports a queued batch's
// failure, at the latest once the queue is full (it then waits for the failed batch), that
// nothing queued after the failure is saved, and that the queue works again once it reported.
func TestQueueReportsAFailureWhenFull(t *testing.T) {
	c, _, _ := newCall(t)
	steps := []step{{op: OpRecordsQueue, arg: "Contact\n[7]"}}
	for i := range maxQueuedBatches {
		steps = append(steps, step{op: OpRecordsQueue, arg: fmt.Sprintf("Contact\n[{\"id\":\"r%d\"}]", i)})
	}
	reported := false
	for i, s := range steps {
		_, err := c.Dispatch(context.Background(), s.op, []byte(s.arg))
		if i == 0 && err != nil {
			t.Fatalf("queueing the bad batch: %v", err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "records_queue: "+dropped+": Contact batch refused, nothing saved: record 0: not a JSON object") {
				t.Fatalf("step %d: %v, want the refused batch", i, err)
			}
			reported = true
			break
		}
	}
	if !reported {
		t.Fatalf("%d records_queue calls behind a refused batch, none reported it", maxQueuedBatches)
	}
	runSteps(t, c, []step{
		{op: OpRecordsFlush, want: `{"added":0,"updated":0,"unchanged":0}`},
		{op: OpRecordsGet, arg: "Contact\n[\"r0\",\"r1\",\"r2\"]", want: `[]`},
		{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\"}]"},
		{op: OpRecordsFlush, want: `{"added":1,"updated":0,"unchanged":0}`},
	})
}

// TestQueueEndsWithTheCall checks that a failure the plugin never waited for fails the call,
// and that what was queued before it is stored and counted.
func TestQueueEndsWithTheCall(t *testing.T) {
	c, db, _ := newCall(t)
	c.Batch = db.NewSession(time.Hour, 0)
	runSteps(t, c, []step{
		{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\"}]"},
		{op: OpCheckpointSave, arg: `{"cursor":"c1"}`},
		{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"b\"},{}]"},
		{op: OpCheckpointSave, arg: `{"cursor":"c2"}`},
	})
	err := c.Flush()
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("Flush = %v, want the refused batch", err)
	}
	if c.Fatal() == nil || c.Refused() == nil {
		t.Errorf("Fatal() = %v, Refused() = %v; want both set", c.Fatal(), c.Refused())
	}
	if got := c.Counts()["Contact"]; got != (records.Counts{Added: 1}) {
		t.Errorf("counts %+v, want 1 added", got)
	}
	cp, err := db.Checkpoint(context.Background(), "crm", "acme", "contacts")
	if err != nil || string(cp) != `{"cursor":"c1"}` {
		t.Errorf("checkpoint %s, %v; want the one before the refused batch", cp, err)
	}
}

// blockedBatch is a Batch whose saves wait for release.
type blockedBatch struct {
	*storage.Session
	release chan struct{}
}

func (b blockedBatch) SaveRecords(ctx context.Context, s storage.Scope, items []records.Item, now time.Time, opts ...storage.WriteOption) (records.Counts, error) {
	<-b.release
	return b.Session.SaveRecords(ctx, s, items, now, opts...)
}

// TestQueueRunsBesideTheGuest checks that the calls that need no store do not wait for a
// queued batch, and that records_queue takes maxQueuedBatches before it waits: with the
// saves held up, they still answer.
func TestQueueRunsBesideTheGuest(t *testing.T) {
	c, db, _ := newCall(t)
	b := blockedBatch{db.NewSession(time.Hour, 0), make(chan struct{})}
	c.Batch = b
	c.Input = []byte(`{"x":1}`)
	var steps []step
	for i := range maxQueuedBatches {
		steps = append(steps,
			step{op: OpRecordsQueue, arg: fmt.Sprintf("Contact\n[{\"id\":\"r%d\"}]", i)},
			step{op: OpCheckpointSave, arg: fmt.Sprintf(`{"cursor":"c%d"}`, i)})
	}
	runSteps(t, c, append(steps,
		step{op: OpLog, arg: "info\nstill going"},
		step{op: OpInput, want: `{"x":1}`},
		step{op: OpMetadataGet, want: `{}`},
	))
	close(b.release)
	res, err := c.Dispatch(context.Background(), OpRecordsFlush, nil)
	var n saveResult
	if err != nil || json.Unmarshal(res, &n) != nil || n.Added != maxQueuedBatches {
		t.Fatalf("records_flush = %s, %v; want %d added", res, err, maxQueuedBatches)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestQueueRefusesInTurn checks that batches, parsed as soon as they are queued (beside the
// saves ahead of them), still fail in their turn: with the saves held up, of two batches
// that do not parse, the first is the one reported, and nothing after it is saved.
func TestQueueRefusesInTurn(t *testing.T) {
	c, db, _ := newCall(t)
	b := blockedBatch{db.NewSession(time.Hour, 0), make(chan struct{})}
	c.Batch = b
	runSteps(t, c, []step{
		{op: OpRecordsQueue, arg: "Contact\n[{\"id\":\"a\"}]"},
		{op: OpRecordsQueue, arg: "Contact\n[{\"name\":\"no id\"}]"},
		{op: OpRecordsQueue, arg: "Contact\n[7]"},
	})
	close(b.release)
	runSteps(t, c, []step{
		{op: OpRecordsFlush, wantErr: dropped + `: Contact batch refused, nothing saved: record 0: "id" must be a non-empty string`},
		{op: OpRecordsGet, arg: "Contact\n[\"a\"]", want: `[{"id":"a"}]`},
	})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}
