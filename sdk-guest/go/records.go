package ferry

import (
	"encoding/json"
	"fmt"
)

// SaveResult counts what a batch save did to the records cache.
type SaveResult struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// UpdateResult counts what a batch update did to the records cache.
type UpdateResult struct {
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// Save saves a batch of records of model, an idempotent upsert: saving a record again with the
// same content changes nothing and counts as unchanged, so a batch replayed after a crash
// neither loses nor duplicates anything. records is a slice (of structs or maps) that encodes
// to a JSON array of objects, each with a string "id", or a json.RawMessage holding such an
// array.
//
// A batch is all or nothing: if one record is not an object or has no string id, the host
// stores none of them and the error names the record's index. The host has committed the batch
// by the time Save returns, so save the checkpoint that covers it afterwards, never before.
// An empty batch is not sent.
//
// A batch, like every argument, is capped at 64 MiB; a page of the provider's results is the
// usual batch.
//
// Save returns once the batch is saved; [Host.QueueSave] lets the function go on while it is.
// Save first waits for the batches queued before it and, if one of them failed, returns that
// failure instead of saving.
func (h *Host) Save(model string, records any) (SaveResult, error) {
	var res SaveResult
	err := h.batch(fnRecordsSave, "save", model, records, &res)
	return res, err
}

// SaveRaw saves jsonArray, a JSON array of objects each with a string "id", as a batch of
// records of model, with the guarantees of [Host.Save]. It skips encoding, for records that
// arrive from the provider as the JSON the cache should hold.
func (h *Host) SaveRaw(model string, jsonArray []byte) (SaveResult, error) {
	return h.Save(model, json.RawMessage(jsonArray))
}

// QueueSave queues a batch of records of model to be saved as [Host.Save] saves it, and returns
// without waiting for the save: the host saves the queued batches in order, one at a time,
// while the function goes on (fetches and decodes its next page, say). records is a slice or
// json.RawMessage like Save's; it is encoded, and the host copies the batch, before QueueSave
// returns, so the function may reuse it. A sync that saves page after page should queue its
// pages and call [Host.Flush] when it wants the counts, at the end of the sync say.
//
// Up to three queued batches may wait to be saved; with three waiting, QueueSave first waits
// for the oldest, so the function runs at most three pages ahead of the host. model is checked
// at once, the records (ids, schema)
// when the batch is saved, with Save's guarantees: the batch is all or nothing, and a refused
// batch counts as refused (a full sync then deletes nothing). A checkpoint saved after
// QueueSave ([Sync.SaveCheckpoint]) is queued behind the batch and written only after the
// batch is saved, so the checkpoint that covers a queued page may be saved right after
// QueueSave.
//
// A queued batch that fails (refused, or a store error) is reported by the next call that
// waits for the queue: Flush, a QueueSave made once the host knows of the failure (at the
// latest the one that waits for the failed batch), or any call that reads or writes the store (Save,
// Update, Delete, Get, [Sync.Checkpoint], [Sync.ClearCheckpoint], SetMetadata, Links,
// HTTP.SaveFrom, TriggerSync). That call returns the failure, whose message says which queued
// write failed and why, and does nothing else; the writes queued after the failed batch,
// checkpoints included, are dropped. Once reported, the queue is empty and can be used again.
// Logging, HTTP requests other than SaveFrom, Metadata, [Sync.LastSyncTime], SaveCheckpoint,
// and reading the call's input or setting its output do not wait for the queue. When the
// function returns the host waits for the queue, and a failure the function was never told of
// fails the run.
//
// So an error from QueueSave means its own batch was not queued: the model was invalid, the
// records did not encode to a JSON array, or an earlier queued write failed. An empty batch is
// not sent, and so neither waits for the queue nor reports its failure (nor does any other
// call that sends the host nothing, such as Delete without ids).
func (h *Host) QueueSave(model string, records any) error {
	return h.batch(fnRecordsQueue, "queue save", model, records, nil)
}

// QueueSaveRaw queues jsonArray, a JSON array of objects each with a string "id", as a batch
// of records of model, as [Host.QueueSave] does. It skips encoding, like [Host.SaveRaw].
func (h *Host) QueueSaveRaw(model string, jsonArray []byte) error {
	return h.QueueSave(model, json.RawMessage(jsonArray))
}

// Flush waits until the batches queued with [Host.QueueSave] are saved and returns their
// counts, summed over the batches saved since the last Flush (all zero if none were queued).
// If a queued write failed, Flush returns that failure instead (see QueueSave): the batches
// and checkpoints queued after it were dropped. Call Flush when the counts are wanted, at the
// end of a sync say; without it the host still waits for the queue when the function returns,
// and a failure the function was never told of fails the run.
func (h *Host) Flush() (SaveResult, error) {
	var res SaveResult
	out, err := h.call(fnRecordsFlush, nil)
	if err != nil {
		return SaveResult{}, fmt.Errorf("ferry: flush: %w", err)
	}
	if err := decodeResult(out, &res); err != nil {
		return SaveResult{}, fmt.Errorf("ferry: flush: %w", err)
	}
	return res, nil
}

// Update deep-merges a batch of partial records into the cached records of model: each patch
// is an object with the string "id" of a cached record and the fields to change; objects merge
// recursively, other values replace. patches is a slice or json.RawMessage like Save's records,
// and the batch is all or nothing like Save's.
func (h *Host) Update(model string, patches any) (UpdateResult, error) {
	var res UpdateResult
	err := h.batch(fnRecordsUpdate, "update", model, patches, &res)
	return res, err
}

// Delete marks the records of model with the given ids deleted and returns how many were
// cached and not yet deleted. Ids that are unknown or already deleted are not an error, so a
// replayed deletion is harmless.
func (h *Host) Delete(model string, ids ...string) (int, error) {
	var res struct {
		Deleted int `json:"deleted"`
	}
	if len(ids) == 0 {
		return 0, nil
	}
	err := h.batch(fnRecordsDelete, "delete", model, ids, &res)
	return res.Deleted, err
}

// Get decodes into out (typically a pointer to a slice) the cached records of model among ids,
// as a JSON array in no particular order; deleted and unknown ids are left out.
func (h *Host) Get(model string, ids []string, out any) error {
	if len(ids) == 0 {
		return json.Unmarshal([]byte("[]"), out)
	}
	var raw json.RawMessage
	if err := h.batch(fnRecordsGet, "get", model, ids, &raw); err != nil {
		return err
	}
	if raw == nil {
		raw = json.RawMessage("[]")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("ferry: get %s: decode records: %w", model, err)
	}
	return nil
}

// batch sends "MODEL\n[...]" to f and decodes its result into res; res is nil for a function
// without a result.
func (h *Host) batch(f hostFunc, verb, model string, v any, res any) error {
	if err := checkModel(model); err != nil {
		return fmt.Errorf("ferry: %s: %w", verb, err)
	}
	arg, err := h.encodeArg(model+"\n", v, '[', "records")
	if err != nil {
		return fmt.Errorf("ferry: %s %s: %w", verb, model, err)
	}
	if isEmptyArray(arg[len(model)+1:]) {
		return nil
	}
	out, err := h.call(f, arg)
	h.release()
	if err != nil {
		return fmt.Errorf("ferry: %s %s: %w", verb, model, err)
	}
	if res == nil {
		return nil
	}
	if raw, ok := res.(*json.RawMessage); ok {
		*raw = out
		return nil
	}
	if err := decodeResult(out, res); err != nil {
		return fmt.Errorf("ferry: %s %s: %w", verb, model, err)
	}
	return nil
}

// decodeResult decodes the host's JSON result out into res.
func decodeResult(out []byte, res any) error {
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("decode host result %q: %w", excerpt(out, 80), err)
	}
	return nil
}

// checkModel reports whether model is a valid model name, [A-Za-z0-9_]+, so a bad name fails
// here with a clear message rather than as a garbled header at the host.
func checkModel(model string) error {
	if model == "" {
		return fmt.Errorf("empty model name")
	}
	for _, c := range []byte(model) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return fmt.Errorf("invalid model name %q: want letters, digits and _", model)
		}
	}
	return nil
}
