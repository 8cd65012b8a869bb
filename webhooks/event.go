package webhooks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/storage"
)

// Event types, sent as the body's "type" and the X-Ferry-Event header.
const (
	// EventSyncCompleted: a run succeeded and changed records of one model.
	EventSyncCompleted = "sync.completed"
	// EventSyncFailed: a run failed.
	EventSyncFailed = "sync.failed"
	// EventActionCompleted: an asynchronous action call succeeded.
	EventActionCompleted = "action.completed"
	// EventActionFailed: an asynchronous action call failed for good.
	EventActionFailed = "action.failed"
)

// Sync types, the body's "sync_type".
const (
	// SyncInitial: the first successful run of a sync for a connection, which fetched
	// everything for the first time.
	SyncInitial = "initial"
	// SyncIncremental: a run of an incremental sync that fetched what changed.
	SyncIncremental = "incremental"
	// SyncFull: a run of a full sync, or a full resync of an incremental one.
	SyncFull = "full"
)

// SyncTypeFor returns the sync type an event reports for a run of a sync of the given kind
// (the manifest's "incremental" or "full"): initial when no run of the sync for the
// connection has succeeded before this one, else full for a full sync or a full resync,
// else incremental.
func SyncTypeFor(kind string, fullResync, firstSuccess bool) string {
	switch {
	case firstSuccess:
		return SyncInitial
	case kind == SyncFull || fullResync:
		return SyncFull
	}
	return SyncIncremental
}

// Event is the JSON body of a webhook. A sync.completed event is about one model and carries
// its Changes; a sync.failed event is about the whole run and carries Error instead. Apps
// written in Go can decode a body into an Event.
type Event struct {
	Type        string `json:"type"` // sync.completed | sync.failed | action.completed | action.failed
	Integration string `json:"integration"`
	Connection  string `json:"connection"`
	Sync        string `json:"sync,omitempty"`   // sync events
	Action      string `json:"action,omitempty"` // action events
	Model       string `json:"model,omitempty"`  // sync.completed only
	RunID       string `json:"run_id"`
	SyncType    string `json:"sync_type,omitempty"` // initial | incremental | full
	*Changes           // sync.completed only; nil (left out of the JSON) otherwise
	// Output is an action.completed's output.
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"` // sync.failed and action.failed only
}

// ActionEvent is the event that tells the app how an asynchronous action call ended:
// action.completed with its output, or action.failed with its error. RunID is the call's id.
func ActionEvent(call storage.Run) Event {
	e := Event{Integration: call.Integration, Connection: call.Connection, Action: call.Sync, RunID: call.ID}
	if call.Status == storage.StatusSucceeded {
		e.Type, e.Output = EventActionCompleted, call.Output
		return e
	}
	e.Type, e.Error = EventActionFailed, call.Error
	return e
}

// Changes is what a run changed in one model. CursorFrom is the model's cursor before the
// run ("" when the connection had no record of it): reading records after it returns every
// change the run made (and any made since).
type Changes struct {
	Added      int    `json:"added"`
	Updated    int    `json:"updated"`
	Deleted    int    `json:"deleted"`
	CursorFrom string `json:"cursor_from"`
}

// Events returns the webhooks a finished run sends: for a succeeded run, one sync.completed
// per model that the run added, updated or deleted records of (models in name order; none
// when nothing changed); for a failed run, one sync.failed with its error (records a failed
// run saved before failing are not counted: the app reads them by cursor with the next
// sync.completed); for any other status, none. syncType is SyncInitial, SyncIncremental or
// SyncFull (see SyncTypeFor); cursorFrom holds each model's cursor before the run.
func Events(run storage.Run, syncType string, cursorFrom map[string]string) []Event {
	base := Event{Integration: run.Integration, Connection: run.Connection, Sync: run.Sync, RunID: run.ID, SyncType: syncType}
	switch run.Status {
	case storage.StatusSucceeded:
		var events []Event
		for _, model := range slices.Sorted(maps.Keys(run.Counts)) {
			c := run.Counts[model]
			if c.Added+c.Updated+c.Deleted == 0 {
				continue
			}
			e := base
			e.Type, e.Model = EventSyncCompleted, model
			e.Changes = &Changes{Added: c.Added, Updated: c.Updated, Deleted: c.Deleted, CursorFrom: cursorFrom[model]}
			events = append(events, e)
		}
		return events
	case storage.StatusFailed:
		e := base
		e.Type, e.Error = EventSyncFailed, run.Error
		if e.Error == "" {
			e.Error = "the run failed"
		}
		return []Event{e}
	}
	return nil
}

// Deliveries turns events into deliveries to queue, each with a new UUIDv7 id (the
// X-Ferry-Delivery header), its body fixed now, and due at once.
func Deliveries(events []Event, now time.Time) ([]storage.Delivery, error) {
	out := make([]storage.Delivery, 0, len(events))
	for _, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of run %s: %w", e.Type, e.RunID, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("delivery id for run %s: %w", e.RunID, err)
		}
		out = append(out, storage.Delivery{
			ID: id.String(), Type: e.Type, RunID: e.RunID, Body: body,
			Status: storage.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
		})
	}
	return out, nil
}
