package ferry

import (
	"bytes"
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

// batch sends "MODEL\n[...]" to f and decodes its result into res.
func (h *Host) batch(f hostFunc, verb, model string, v any, res any) error {
	if err := checkModel(model); err != nil {
		return fmt.Errorf("ferry: %s: %w", verb, err)
	}
	arg, err := h.encodeArg(model+"\n", v, '[', "records")
	if err != nil {
		return fmt.Errorf("ferry: %s %s: %w", verb, model, err)
	}
	if body := arg[len(model)+1:]; bytes.Equal(body, []byte("[]")) {
		return nil
	}
	out, err := h.call(f, arg)
	h.release()
	if err != nil {
		return fmt.Errorf("ferry: %s %s: %w", verb, model, err)
	}
	if raw, ok := res.(*json.RawMessage); ok {
		*raw = out
		return nil
	}
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("ferry: %s %s: decode host result %q: %w", verb, model, excerpt(out, 80), err)
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
