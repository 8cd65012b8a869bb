package ferry

import (
	"encoding/json"
	"fmt"
)

// Passthrough says where the records are in a response that [HTTPClient.SaveFrom] saves.
type Passthrough struct {
	// Items is the dot path of the records array in the JSON response body ("data",
	// "result.items"); "" means the body is the array.
	Items string
	// ID names the member that holds each record's id; "id" if empty.
	ID string
	// Values are dot paths of other values the sync needs from the body, such as the next
	// page's cursor ("meta.next_cursor"); they come back in [Passed.Values].
	Values []string
}

// Passed is what [HTTPClient.SaveFrom] did.
type Passed struct {
	// Status and Header are the response's.
	Status int
	Header Header
	// Count is the number of records the response held, and Saved what saving them did.
	Count int
	Saved SaveResult
	// Values holds the raw JSON value at each of [Passthrough.Values] (null when missing).
	Values map[string]json.RawMessage
}

// Value decodes the value at path, one of [Passthrough.Values], into out.
func (p *Passed) Value(path string, out any) error {
	raw, ok := p.Values[path]
	if !ok {
		return fmt.Errorf("ferry: %q is not one of the values asked for", path)
	}
	return json.Unmarshal(raw, out)
}

// SaveFrom sends req and saves the records at opt.Items of the JSON response into model, as
// they are, without the response body entering the plugin: the host parses the body natively
// and saves its records as [Sync.Save] would. It is the fast path for a sync that transforms
// nothing. A status other than 2xx saves nothing and is an [*HTTPError]; a body without items
// at opt.Items, or a record without its id, refuses the page with an error, like Save.
// Accept: application/json is sent unless req sets Accept.
func (c HTTPClient) SaveFrom(req Request, model string, opt Passthrough) (*Passed, error) {
	if req.Method == "" {
		req.Method = "GET"
	}
	if req.Header.Get("Accept") == "" {
		req.Header = req.Header.Clone()
		req.Header.Set("Accept", "application/json")
	}
	target := req.target()
	fail := func(err error) (*Passed, error) {
		return nil, fmt.Errorf("ferry: %s %s into %s: %w", req.Method, target, model, err)
	}
	head := struct {
		*Request
		Save any `json:"save"`
	}{&req, struct {
		Model  string   `json:"model"`
		Items  string   `json:"items"`
		ID     string   `json:"id,omitempty"`
		Values []string `json:"values,omitempty"`
	}{model, opt.Items, opt.ID, opt.Values}}
	res, err := c.h.callRequest(fnHTTPSave, head, req.Body)
	if err != nil {
		return fail(err)
	}
	var out struct {
		Status int                        `json:"status"`
		Header Header                     `json:"headers"`
		Count  int                        `json:"count"`
		Saved  SaveResult                 `json:"saved"`
		Values map[string]json.RawMessage `json:"values"`
		Body   string                     `json:"body"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return fail(fmt.Errorf("decode host answer %q: %w", excerpt(res, 80), err))
	}
	resp := Response{Status: out.Status, Header: out.Header, Body: []byte(out.Body), method: req.Method, target: target}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	return &Passed{Status: out.Status, Header: out.Header, Count: out.Count, Saved: out.Saved, Values: out.Values}, nil
}
