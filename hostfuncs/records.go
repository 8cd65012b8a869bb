package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// MaxGetIDs bounds the ids one records_get may ask for.
const MaxGetIDs = 10_000

// splitModel splits a "MODEL\nJSON" argument and checks that the plugin may write MODEL.
func (c *Call) splitModel(arg []byte) (storage.Scope, []byte, error) {
	model, body, ok := bytes.Cut(arg, []byte{'\n'})
	if !ok {
		return storage.Scope{}, nil, fmt.Errorf(`argument must be "MODEL\nJSON"`)
	}
	scope, err := c.scope(string(model))
	return scope, body, err
}

// scope returns the scope of model's records, if the plugin may write model.
func (c *Call) scope(model string) (storage.Scope, error) {
	if !slices.Contains(c.Models, model) {
		return storage.Scope{}, fmt.Errorf("model %q is not one of this function's models (%v)", model, c.Models)
	}
	return storage.Scope{Integration: c.Integration, Connection: c.Connection, Model: model}, nil
}

func (c *Call) saveRecords(ctx context.Context, arg []byte) ([]byte, error) {
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return nil, err
	}
	items, err := records.ParseBatch(body)
	if err != nil {
		return nil, c.refuseBatch(scope.Model, err)
	}
	counts, err := c.save(ctx, scope, items)
	if err != nil {
		return nil, err
	}
	return json.Marshal(saveResult{counts.Added, counts.Updated, counts.Unchanged})
}

// refuseBatch refuses a batch of model, of which nothing is saved, for the reason err.
func (c *Call) refuseBatch(model string, err error) error {
	return c.refuse(fmt.Errorf("%s batch refused, nothing saved: %w", model, err))
}

// saveResult is records_save's answer.
type saveResult struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// save validates and stores parsed records, and counts them.
func (c *Call) save(ctx context.Context, scope storage.Scope, items []records.Item) (records.Counts, error) {
	opts := c.writeOptions()
	if c.Validate != nil {
		// Only the records the store will write are validated: a resync's unchanged
		// records were valid when they were saved.
		opts = append(opts, storage.Check(func(idx []int) error {
			i, err := validateAll(idx, func(i int) error { return c.Validate(scope.Model, items[i].Data) })
			if err != nil {
				return fmt.Errorf("record %d (id %q) does not match the model's schema: %w", i, items[i].ID, err)
			}
			return nil
		}))
	}
	save := c.Store.SaveRecords
	if c.Batch != nil {
		save = c.Batch.SaveRecords
	}
	counts, err := save(ctx, scope, items, c.now(), opts...)
	if errors.Is(err, storage.ErrRefused) {
		return counts, c.refuseBatch(scope.Model, errors.Unwrap(err))
	}
	if err != nil {
		return counts, c.storeErr(fmt.Errorf("save %s batch of %d: %w", scope.Model, len(items), err))
	}
	c.addCounts(scope.Model, counts)
	if c.TrackSeen {
		c.markSeen(scope.Model, items)
	}
	return counts, nil
}

// validateAll runs check on every index, spread over the machine's cores (validating a
// record means decoding it, the costliest step of a save), and returns the lowest index that
// failed, with its error.
func validateAll(idx []int, check func(i int) error) (int, error) {
	workers := min(goruntime.GOMAXPROCS(0), max(len(idx)/64, 1))
	firstErr := make([]error, workers)
	firstAt := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chunk := idx[w*len(idx)/workers : (w+1)*len(idx)/workers]
		wg.Go(func() {
			for _, i := range chunk {
				if err := check(i); err != nil {
					firstErr[w], firstAt[w] = err, i
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range workers { // chunks are in index order: the first failing chunk has the lowest
		if firstErr[w] != nil {
			return firstAt[w], firstErr[w]
		}
	}
	return 0, nil
}

func (c *Call) updateRecords(ctx context.Context, arg []byte) ([]byte, error) {
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return nil, err
	}
	patches, err := records.ParseBatch(body)
	if err != nil {
		return nil, c.refuse(fmt.Errorf("%s batch refused, nothing updated: %w", scope.Model, err))
	}
	counts, err := c.Store.UpdateRecords(ctx, scope, patches, c.now(), c.writeOptions()...)
	if err != nil {
		// An unknown id is the plugin's mistake, not a store failure, but both leave the
		// store unchanged; only the latter is fatal.
		if isRefusal(err) {
			return nil, c.refuse(fmt.Errorf("update %s batch: %w", scope.Model, err))
		}
		return nil, c.storeErr(fmt.Errorf("update %s batch of %d: %w", scope.Model, len(patches), err))
	}
	c.addCounts(scope.Model, counts)
	if c.TrackSeen {
		c.markSeen(scope.Model, patches)
	}
	return json.Marshal(struct {
		Updated   int `json:"updated"`
		Unchanged int `json:"unchanged"`
	}{counts.Updated, counts.Unchanged})
}

func (c *Call) deleteRecords(ctx context.Context, arg []byte) ([]byte, error) {
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return nil, err
	}
	ids, err := records.ParseIDs(body)
	if err != nil {
		return nil, c.refuse(fmt.Errorf("%s delete refused, nothing deleted: %w", scope.Model, err))
	}
	counts, err := c.Store.DeleteRecords(ctx, scope, ids, c.now())
	if err != nil {
		return nil, c.storeErr(fmt.Errorf("delete %d %s records: %w", len(ids), scope.Model, err))
	}
	c.addCounts(scope.Model, counts)
	return json.Marshal(struct {
		Deleted int `json:"deleted"`
	}{counts.Deleted})
}

func (c *Call) getRecords(ctx context.Context, arg []byte) ([]byte, error) {
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return nil, err
	}
	ids, err := records.ParseIDs(body)
	if err != nil {
		return nil, err
	}
	if len(ids) > MaxGetIDs {
		return nil, fmt.Errorf("get %s records: %d ids, over the %d a call may ask for", scope.Model, len(ids), MaxGetIDs)
	}
	// Asking for an id twice must not cost the server twice the memory.
	slices.Sort(ids)
	ids = slices.Compact(ids)
	recs, err := c.Store.GetRecords(ctx, scope, ids)
	if err != nil {
		return nil, fmt.Errorf("get %d %s records: %w", len(ids), scope.Model, err)
	}
	size := 2
	for _, r := range recs {
		if size += len(r.Data) + 1; size > MaxArgSize {
			return nil, fmt.Errorf("get %d %s records: the answer would be over the %d-byte limit; ask for fewer", len(ids), scope.Model, MaxArgSize)
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i, r := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, r.Data...)
	}
	return append(buf, ']'), nil
}

// isRefusal tells a batch the store refused as a whole (an id it does not hold, a merge too
// large) from a store failure.
func isRefusal(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrTooLarge)
}

func (c *Call) addCounts(model string, n records.Counts) {
	if c.counts == nil {
		c.counts = make(map[string]records.Counts)
	}
	sum := c.counts[model]
	sum.Add(n)
	c.counts[model] = sum
}

func (c *Call) markSeen(model string, items []records.Item) {
	if c.seen == nil {
		c.seen = make(map[string]map[string]struct{})
	}
	ids := c.seen[model]
	if ids == nil {
		ids = make(map[string]struct{}, len(items))
		c.seen[model] = ids
	}
	for _, it := range items {
		ids[it.ID] = struct{}{}
	}
}
