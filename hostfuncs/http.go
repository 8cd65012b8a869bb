package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferrysync/ferry/proxy"
)

// requestHeader is the JSON line before an HTTP request's body on the wire.
type requestHeader struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	URL     string              `json:"url"`
	Query   map[string][]string `json:"query"`
	Headers map[string][]string `json:"headers"`
	// Save is http_save's: where the response's records are (see saveSpec).
	Save *saveSpec `json:"save"`
}

// responseHeader is the JSON line before an HTTP response's body on the wire.
type responseHeader struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
}

// DecodeRequest parses a guest's "REQUEST_JSON\nBODY" argument. The body is copied, since arg
// may alias guest memory and a retried request sends it again.
func DecodeRequest(arg []byte) (proxy.Request, error) {
	req, _, err := decodeRequest(arg)
	return req, err
}

// decodeRequest is DecodeRequest, also returning the request's JSON header.
func decodeRequest(arg []byte) (proxy.Request, requestHeader, error) {
	head, body, _ := bytes.Cut(arg, []byte{'\n'})
	var h requestHeader
	if err := json.Unmarshal(head, &h); err != nil {
		return proxy.Request{}, h, fmt.Errorf(`argument must be "REQUEST_JSON\nBODY": %w`, err)
	}
	if h.Method == "" {
		h.Method = "GET"
	}
	if (h.Path == "") == (h.URL == "") {
		return proxy.Request{}, h, fmt.Errorf(`request needs exactly one of "path" and "url"`)
	}
	req := proxy.Request{
		Method: strings.ToUpper(h.Method),
		Path:   h.Path,
		URL:    h.URL,
		Query:  h.Query,
		Header: h.Headers,
	}
	if len(body) > 0 {
		req.Body = bytes.Clone(body)
	}
	return req, h, nil
}

// EncodeResponse writes a response as "RESPONSE_JSON\nBODY", the body crossing as one copy.
func EncodeResponse(r *proxy.Response) []byte {
	head, _ := json.Marshal(responseHeader{Status: r.Status, Headers: r.Header})
	out := make([]byte, 0, len(head)+1+len(r.Body))
	out = append(out, head...)
	out = append(out, '\n')
	return append(out, r.Body...)
}

func (c *Call) http(ctx context.Context, arg []byte) ([]byte, error) {
	if c.HTTP == nil {
		return nil, fmt.Errorf("no HTTP access in this call")
	}
	req, err := DecodeRequest(arg)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	return EncodeResponse(resp), nil
}
