package hostfuncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// Size limits on what a guest may pass in one host call.
const (
	// MaxArgSize bounds any single argument (a record batch, an HTTP body).
	MaxArgSize = 64 << 20
	// MaxStateSize bounds a checkpoint and a connection's metadata.
	MaxStateSize = 1 << 20
	// MaxOutputSize bounds an action's output and a failure message.
	MaxOutputSize = 16 << 20
)

// Store is what host functions need from the records store. storage.DB implements it; a
// PostgreSQL backend will too.
type Store interface {
	SaveRecords(ctx context.Context, s storage.Scope, items []records.Item, now time.Time, opts ...storage.WriteOption) (records.Counts, error)
	UpdateRecords(ctx context.Context, s storage.Scope, patches []records.Item, now time.Time, opts ...storage.WriteOption) (records.Counts, error)
	DeleteRecords(ctx context.Context, s storage.Scope, ids []string, now time.Time) (records.Counts, error)
	GetRecords(ctx context.Context, s storage.Scope, ids []string) ([]records.Record, error)
	Checkpoint(ctx context.Context, integration, connection, sync string) (json.RawMessage, error)
	SaveCheckpoint(ctx context.Context, integration, connection, sync string, cp json.RawMessage) error
	ClearCheckpoint(ctx context.Context, integration, connection, sync string) error
	SetMetadata(ctx context.Context, integration, connection string, md json.RawMessage) error
	PutLink(ctx context.Context, s storage.Scope, l storage.Link) error
	LinkByApp(ctx context.Context, s storage.Scope, appID string) (storage.Link, error)
	LinkByExternal(ctx context.Context, s storage.Scope, externalID string) (storage.Link, error)
	DeleteLink(ctx context.Context, s storage.Scope, appID string) error
}

// Batch groups a sync's record saves and checkpoints into few store transactions;
// *storage.Session implements it. Its writes are applied at once and committed later, so the
// Call flushes it before any other access to the store and when the call ends.
type Batch interface {
	SaveRecords(ctx context.Context, s storage.Scope, items []records.Item, now time.Time, opts ...storage.WriteOption) (records.Counts, error)
	SaveCheckpoint(ctx context.Context, integration, connection, sync string, cp json.RawMessage) error
	Flush() error
}

// Fetcher performs a plugin's HTTP request on its connection's behalf. The runner binds it to
// the connection's base URL, credentials, allowed hosts and rate limit, and logs each exchange.
type Fetcher interface {
	Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error)
}

// Call is the host's side of one plugin invocation (a sync run, an action call): the scope the
// plugin acts in and what it has done so far. A Call serves one guest, whose host calls arrive
// one at a time, so it is not safe for concurrent use; its queued writes and the requests
// http_start sent, which run beside the guest's calls, touch only what no call that runs
// meanwhile touches.
type Call struct {
	Integration string
	Connection  string
	// Sync is the sync being run; empty for actions, which then have no checkpoint.
	Sync string
	// Models are the models the plugin may write.
	Models []string
	// Input is returned by OpInput; nil means "{}".
	Input []byte
	// Metadata is the connection's metadata at the start of the call.
	Metadata json.RawMessage
	// LastSuccess is the start of the sync's last successful run; zero if none.
	LastSuccess time.Time
	// TrackSeen makes the call remember every id it saves, for a full sync's deletions.
	TrackSeen bool
	// External marks the records the call writes as an action's or a webhook handler's.
	External bool
	// KeepExternalSince, when set (a sync run's start), keeps the records an action or a
	// webhook handler wrote since then from being overwritten by the call's older copies.
	KeepExternalSince time.Time

	Store Store
	// Batch, if set, takes the call's record saves and checkpoints instead of Store.
	Batch Batch
	HTTP  Fetcher
	// Log receives the plugin's log lines; nil drops them. Queued writes log too, while the
	// guest's own calls go on, so it must be safe for concurrent use.
	Log func(level, message string)
	// Validate checks a record against its model's schema; nil checks nothing.
	Validate func(model string, record []byte) error
	// TriggerSync asks for a sync of the connection to run; nil refuses trigger_sync.
	TriggerSync func(ctx context.Context, sync string) error
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	counts  map[string]records.Counts
	seen    map[string]map[string]struct{}
	output  []byte
	failure string
	fatal   error
	refused error
	queue   writeQueue
	started startedRequests
	answer  []byte // the buffer of the last http or http_wait result, reused by the next
}

// OversizeArg is the refusal of an argument of size bytes, over MaxArgSize, to host function
// op. The worker gives it itself, since such an argument cannot cross to the server.
func OversizeArg(op Op, size int) error {
	return fmt.Errorf("%s: argument of %d bytes is over the %d-byte limit", op, size, MaxArgSize)
}

// Dispatch runs host function op with the argument bytes a guest passed. The returned bytes
// are the function's result (nil for none). An error is the message the guest receives; errors
// the guest must not be able to ignore (the store failing) also make [Call.Fatal] non-nil, so the
// run fails even if the plugin carries on.
//
// arg may alias guest memory: Dispatch does not keep it past its return. The result is valid
// until the next Dispatch, which may reuse its buffer (a proxied page's answer, say).
func (c *Call) Dispatch(ctx context.Context, op Op, arg []byte) ([]byte, error) {
	if len(arg) > MaxArgSize {
		return nil, OversizeArg(op, len(arg))
	}
	var (
		res []byte
		err error
	)
	if op.waitsForQueue() {
		if err := c.drain(); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	if c.Batch != nil && op.readsOrWritesStore() {
		if err := c.flush(); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	switch op {
	case OpLog:
		err = c.log(arg)
	case OpInput:
		res = c.Input
		if res == nil {
			res = []byte("{}")
		}
	case OpHTTP:
		res, err = c.http(ctx, arg)
	case OpHTTPStart:
		res, err = c.httpStart(ctx, arg)
	case OpHTTPWait:
		res, err = c.httpWait(arg)
	case OpRecordsSave:
		res, err = c.saveRecords(ctx, arg)
	case OpRecordsQueue:
		err = c.queueRecords(ctx, arg)
	case OpRecordsFlush:
		res, err = c.flushRecords()
	case OpRecordsUpdate:
		res, err = c.updateRecords(ctx, arg)
	case OpRecordsDelete:
		res, err = c.deleteRecords(ctx, arg)
	case OpRecordsGet:
		res, err = c.getRecords(ctx, arg)
	case OpCheckpointGet:
		res, err = c.checkpoint(ctx)
	case OpCheckpointSave:
		err = c.saveCheckpoint(ctx, arg)
	case OpCheckpointClear:
		err = c.clearCheckpoint(ctx)
	case OpMetadataGet:
		res = c.Metadata
		if len(res) == 0 {
			res = []byte("{}")
		}
	case OpMetadataSet:
		err = c.setMetadata(ctx, arg)
	case OpLastSyncTime:
		if !c.LastSuccess.IsZero() {
			res = []byte(c.LastSuccess.UTC().Format(time.RFC3339Nano))
		}
	case OpOutput:
		err = c.setOutput(arg)
	case OpFail:
		c.failure = truncate(string(arg), MaxOutputSize)
	case OpLinksGet:
		res, err = c.getLink(ctx, arg)
	case OpLinksPut:
		err = c.putLink(ctx, arg)
	case OpLinksDelete:
		err = c.deleteLink(ctx, arg)
	case OpTriggerSync:
		err = c.triggerSync(ctx, arg)
	case OpHTTPSave:
		res, err = c.httpSave(ctx, arg)
	default:
		err = fmt.Errorf("unknown host function %d", op)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// Flush ends the call's background work: it cancels the requests the plugin started and
// never waited for, waits for its queued writes and commits what its Batch holds. The runner
// calls it when the plugin has returned, before it reads the store or ends the run. A failure
// is also Fatal, and so is a queued write's that the plugin was never told of.
func (c *Call) Flush() error {
	c.abandonStarted()
	return c.flush()
}

// flush waits for the call's queued writes and commits what its Batch holds, as Flush does
// when the call ends, and before a host function other than the Batch's reaches the store.
func (c *Call) flush() error {
	unseen := c.drain()
	if unseen != nil && c.fatal == nil {
		c.fatal = unseen
	}
	if c.Batch != nil {
		if err := c.Batch.Flush(); err != nil {
			return c.storeErr(err)
		}
	}
	return unseen
}

// Counts returns the record changes per model made so far.
func (c *Call) Counts() map[string]records.Counts { return c.counts }

// Seen returns, per model, the ids saved so far; only kept when TrackSeen is set.
func (c *Call) Seen() map[string]map[string]struct{} { return c.seen }

// Output returns what the plugin passed to OpOutput, or nil.
func (c *Call) Output() []byte { return c.output }

// Failure returns the message the plugin passed to OpFail, or "".
func (c *Call) Failure() string { return c.failure }

// Fatal returns the first error that must fail the call whatever the plugin did next, such as
// the store refusing a write.
func (c *Call) Fatal() error { return c.fatal }

// Refused returns the first record batch refused during the call (a record without an id, an
// update of an unknown record), or nil. A full sync that had one must not delete what it did
// not see: the refused records were seen.
func (c *Call) Refused() error { return c.refused }

// refuse records a refused batch and returns err. The run's log says so at once: a plugin
// may handle the refusal and carry on (a sync then succeeds without those records), and the
// log is where its operator sees what was left out.
func (c *Call) refuse(err error) error {
	if c.refused == nil {
		c.refused = err
	}
	if c.Log != nil {
		c.Log("error", err.Error())
	}
	return err
}

// writeOptions are the storage options of the call's record writes.
func (c *Call) writeOptions() []storage.WriteOption {
	var opts []storage.WriteOption
	if c.External {
		opts = append(opts, storage.External())
	}
	if !c.KeepExternalSince.IsZero() {
		opts = append(opts, storage.KeepExternalSince(c.KeepExternalSince))
	}
	return opts
}

func (c *Call) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// storeErr records err as fatal: a guest that ignores a failed write must not go on to save a
// checkpoint past data that was never stored.
func (c *Call) storeErr(err error) error {
	if c.fatal == nil && !errors.Is(err, context.Canceled) {
		c.fatal = err
	}
	return err
}

func (c *Call) setOutput(arg []byte) error {
	if len(arg) > MaxOutputSize {
		return fmt.Errorf("output of %d bytes is over the %d-byte limit", len(arg), MaxOutputSize)
	}
	c.output = append([]byte(nil), arg...)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
