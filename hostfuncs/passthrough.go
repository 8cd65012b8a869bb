package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferrysync/ferry/records"
)

// saveSpec is the "save" member of an http_save request: where the records are in the
// response and what else the guest wants back from it.
type saveSpec struct {
	// Model receives the records.
	Model string `json:"model"`
	// Items is the dot path of the records array in the response body ("" for the body).
	Items string `json:"items"`
	// ID names the member holding each record's id; "id" if empty.
	ID string `json:"id"`
	// Values are dot paths of values the guest needs, such as the next page's cursor.
	Values []string `json:"values"`
}

// httpSaveResult is http_save's answer. Body is only sent when the status is not 2xx, when
// nothing was saved and the guest needs the body to say what went wrong.
type httpSaveResult struct {
	Status int                        `json:"status"`
	Header map[string][]string        `json:"headers"`
	Count  int                        `json:"count"`
	Saved  saveResult                 `json:"saved"`
	Values map[string]json.RawMessage `json:"values,omitempty"`
	Body   *string                    `json:"body,omitempty"`
}

// httpSave is the passthrough: it makes the guest's HTTP request and saves the records found
// at a path of the JSON response itself, so that a sync that transforms nothing never has the
// body cross into the guest, nor decodes and encodes it there. The argument is http's
// ("REQUEST_JSON\nBODY") with a "save" member in REQUEST_JSON (see saveSpec).
func (c *Call) httpSave(ctx context.Context, arg []byte) ([]byte, error) {
	if c.HTTP == nil {
		return nil, fmt.Errorf("no HTTP access in this call")
	}
	req, h, err := decodeRequest(arg)
	if err != nil {
		return nil, err
	}
	s := h.Save
	if s == nil {
		return nil, fmt.Errorf(`request needs a "save" object: {"model", "items", "id", "values"}`)
	}
	if s.ID == "" {
		s.ID = "id"
	}
	scope, err := c.scope(s.Model)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	out := httpSaveResult{Status: resp.Status, Header: resp.Header}
	if resp.Status < 200 || resp.Status > 299 {
		body := string(resp.Body)
		out.Body = &body
		return json.Marshal(out)
	}
	items, ok := records.Lookup(resp.Body, s.Items)
	if !ok {
		return nil, c.refuseBatch(s.Model, fmt.Errorf("no items at %q in the response body", s.Items))
	}
	if !bytes.Equal(items, []byte("null")) {
		batch, err := records.ParseBatchBy(items, s.ID)
		if err != nil {
			return nil, c.refuseBatch(s.Model, fmt.Errorf("items at %q: %w", s.Items, err))
		}
		counts, err := c.save(ctx, scope, batch)
		if err != nil {
			return nil, err
		}
		out.Count, out.Saved = len(batch), saveResult{counts.Added, counts.Updated, counts.Unchanged}
	}
	for _, path := range s.Values {
		if out.Values == nil {
			out.Values = make(map[string]json.RawMessage, len(s.Values))
		}
		v, ok := records.Lookup(resp.Body, path)
		if !ok {
			v = []byte("null")
		} else if !json.Valid(v) {
			return nil, fmt.Errorf("value at %q in the response body is not JSON", path)
		}
		out.Values[path] = v
	}
	return json.Marshal(out)
}
