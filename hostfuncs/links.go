package hostfuncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/storage"
)

// linkArg is the JSON after a links call's model line.
type linkArg struct {
	AppID      string `json:"app_id"`
	ExternalID string `json:"external_id"`
}

func (c *Call) linkArg(arg []byte) (storage.Scope, linkArg, error) {
	scope, body, err := c.splitModel(arg)
	if err != nil {
		return scope, linkArg{}, err
	}
	var l linkArg
	if err := json.Unmarshal(body, &l); err != nil {
		return scope, l, fmt.Errorf(`argument must be "MODEL\n{\"app_id\": ..., \"external_id\": ...}": %w`, err)
	}
	return scope, l, nil
}

// getLink looks a link up by app id, or by external id if no app id is given; no result
// when there is none.
func (c *Call) getLink(ctx context.Context, arg []byte) ([]byte, error) {
	scope, q, err := c.linkArg(arg)
	if err != nil {
		return nil, err
	}
	var l storage.Link
	switch {
	case q.AppID != "":
		l, err = c.Store.LinkByApp(ctx, scope, q.AppID)
	case q.ExternalID != "":
		l, err = c.Store.LinkByExternal(ctx, scope, q.ExternalID)
	default:
		return nil, errors.New(`links_get needs "app_id" or "external_id"`)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(linkArg{AppID: l.AppID, ExternalID: l.ExternalID})
}

func (c *Call) putLink(ctx context.Context, arg []byte) error {
	scope, l, err := c.linkArg(arg)
	if err != nil {
		return err
	}
	if l.AppID == "" || l.ExternalID == "" {
		return errors.New(`links_put needs "app_id" and "external_id"`)
	}
	if err := c.Store.PutLink(ctx, scope, storage.Link{AppID: l.AppID, ExternalID: l.ExternalID, UpdatedAt: c.now()}); err != nil {
		return c.storeErr(err)
	}
	return nil
}

func (c *Call) deleteLink(ctx context.Context, arg []byte) error {
	scope, l, err := c.linkArg(arg)
	if err != nil {
		return err
	}
	if l.AppID == "" {
		return errors.New(`links_delete needs "app_id"`)
	}
	if err := c.Store.DeleteLink(ctx, scope, l.AppID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return c.storeErr(err)
	}
	return nil
}

func (c *Call) triggerSync(ctx context.Context, arg []byte) error {
	if c.TriggerSync == nil {
		return errors.New("this call cannot trigger syncs")
	}
	return c.TriggerSync(ctx, string(arg))
}
