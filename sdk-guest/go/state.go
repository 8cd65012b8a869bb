package ferry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Checkpoint decodes the sync's checkpoint into v and reports whether there was one. A sync
// reads it at start to resume where its last run stopped; there is none on the first run and
// after a full resync.
func (s *Sync) Checkpoint(v any) (bool, error) {
	res, err := s.call(fnCheckpointGet, nil)
	if err != nil {
		return false, fmt.Errorf("ferry: read checkpoint: %w", err)
	}
	if res == nil {
		return false, nil
	}
	if err := json.Unmarshal(res, v); err != nil {
		return true, fmt.Errorf("ferry: decode checkpoint %s: %w", excerpt(res, 80), err)
	}
	return true, nil
}

// SaveCheckpoint stores v, which must encode to a JSON object of at most 1 MiB, as the sync's
// checkpoint. Save it after the records it covers: the host has committed a batch by the time
// [Host.Save] returns, so a run that crashes after SaveCheckpoint resumes after that batch, and
// one that crashes before replays it, which the idempotent save makes harmless.
//
// While batches queued with [Host.QueueSave] are waiting, the checkpoint is queued behind them
// and SaveCheckpoint returns at once: it is written only after those batches are saved, and
// dropped if one of them fails (the failure is reported by the next call that waits for the
// queue, not by SaveCheckpoint).
func (s *Sync) SaveCheckpoint(v any) error {
	arg, err := s.encodeArg("", v, '{', "checkpoint")
	if err != nil {
		return fmt.Errorf("ferry: save checkpoint: %w", err)
	}
	if _, err := s.call(fnCheckpointSave, arg); err != nil {
		return fmt.Errorf("ferry: save checkpoint: %w", err)
	}
	return nil
}

// ClearCheckpoint removes the sync's checkpoint, so its next run starts from scratch.
func (s *Sync) ClearCheckpoint() error {
	if _, err := s.call(fnCheckpointClear, nil); err != nil {
		return fmt.Errorf("ferry: clear checkpoint: %w", err)
	}
	return nil
}

// LastSyncTime returns the start time of the sync's last successful run, and false if it never
// succeeded.
func (s *Sync) LastSyncTime() (time.Time, bool, error) {
	res, err := s.call(fnLastSyncTime, nil)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("ferry: read last sync time: %w", err)
	}
	if res == nil {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(res))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("ferry: read last sync time: %w", err)
	}
	return t, true, nil
}

// Metadata decodes the connection's metadata, a JSON object the app sets (chosen folders,
// field mappings and the like), into v. A connection without metadata has {}.
func (h *Host) Metadata(v any) error {
	res, err := h.call(fnMetadataGet, nil)
	if err != nil {
		return fmt.Errorf("ferry: read metadata: %w", err)
	}
	if res == nil {
		res = []byte("{}")
	}
	if err := json.Unmarshal(res, v); err != nil {
		return fmt.Errorf("ferry: decode metadata %s: %w", excerpt(res, 80), err)
	}
	return nil
}

// SetMetadata replaces the connection's metadata with v, which must encode to a JSON object of
// at most 1 MiB.
func (h *Host) SetMetadata(v any) error {
	arg, err := h.encodeArg("", v, '{', "metadata")
	if err != nil {
		return fmt.Errorf("ferry: set metadata: %w", err)
	}
	if _, err := h.call(fnMetadataSet, arg); err != nil {
		return fmt.Errorf("ferry: set metadata: %w", err)
	}
	return nil
}

// Input decodes the action's JSON input into v. Decode into a *json.RawMessage to take it as
// it came.
func (a *Action) Input(v any) error {
	res, err := a.call(fnInput, nil)
	if err != nil {
		return fmt.Errorf("ferry: read input: %w", err)
	}
	if res == nil {
		res = []byte("null")
	}
	if err := json.Unmarshal(res, v); err != nil {
		return fmt.Errorf("ferry: decode input %s: %w", excerpt(res, 80), err)
	}
	return nil
}

// Output sets the action's result to v encoded as JSON; a json.RawMessage is passed as it is.
// Calling it again replaces the earlier output.
func (a *Action) Output(v any) error {
	return a.output(v, "output")
}

// output hands the host v, encoded as JSON, as the call's output; what names it in errors.
func (h *Host) output(v any, what string) error {
	arg, err := h.encodeArg("", v, 0, what)
	if err != nil {
		return fmt.Errorf("ferry: set %s: %w", what, err)
	}
	_, err = h.call(fnOutput, arg)
	h.release()
	if err != nil {
		return fmt.Errorf("ferry: set %s: %w", what, err)
	}
	return nil
}
