package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

var errNoSync = errors.New("only syncs have a checkpoint")

func (c *Call) checkpoint(ctx context.Context) ([]byte, error) {
	if c.Sync == "" {
		return nil, errNoSync
	}
	cp, err := c.Store.Checkpoint(ctx, c.Integration, c.Connection, c.Sync)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint of %s/%s/%s: %w", c.Integration, c.Connection, c.Sync, err)
	}
	return cp, nil
}

// saveCheckpoint stores the checkpoint. The guest saves it after the batch it covers has
// returned, and the checkpoint is committed with that batch or after it (in the same Batch, or
// directly once the batch is committed), so a checkpoint never runs ahead of the records.
func (c *Call) saveCheckpoint(ctx context.Context, arg []byte) error {
	if c.Sync == "" {
		return errNoSync
	}
	cp, err := jsonObject("checkpoint", arg)
	if err != nil {
		return err
	}
	if c.queued() {
		// Behind the batches queued before it, never ahead of them; and dropped if one fails.
		c.enqueue(OpCheckpointSave, nil, func() error { return c.writeCheckpoint(ctx, cp) })
		return nil
	}
	return c.writeCheckpoint(ctx, cp)
}

func (c *Call) writeCheckpoint(ctx context.Context, cp json.RawMessage) error {
	save := c.Store.SaveCheckpoint
	if c.Batch != nil {
		save = c.Batch.SaveCheckpoint
	}
	if err := save(ctx, c.Integration, c.Connection, c.Sync, cp); err != nil {
		return c.storeErr(fmt.Errorf("save checkpoint: %w", err))
	}
	return nil
}

func (c *Call) clearCheckpoint(ctx context.Context) error {
	if c.Sync == "" {
		return errNoSync
	}
	if err := c.Store.ClearCheckpoint(ctx, c.Integration, c.Connection, c.Sync); err != nil {
		return c.storeErr(fmt.Errorf("clear checkpoint: %w", err))
	}
	return nil
}

func (c *Call) setMetadata(ctx context.Context, arg []byte) error {
	md, err := jsonObject("metadata", arg)
	if err != nil {
		return err
	}
	if err := c.Store.SetMetadata(ctx, c.Integration, c.Connection, md); err != nil {
		return c.storeErr(fmt.Errorf("set metadata: %w", err))
	}
	c.Metadata = md
	return nil
}

// jsonObject checks that arg is a JSON object within MaxStateSize and returns a compact copy
// (arg may alias guest memory).
func jsonObject(what string, arg []byte) (json.RawMessage, error) {
	if len(arg) > MaxStateSize {
		return nil, fmt.Errorf("%s of %d bytes is over the %d-byte limit", what, len(arg), MaxStateSize)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(arg, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, arg); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return buf.Bytes(), nil
}
