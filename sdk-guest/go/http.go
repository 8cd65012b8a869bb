package ferry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Request is an HTTP request to the provider, sent through the host's proxy.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string `json:"method"`
	// Path is resolved against the connection's base URL (or the manifest's
	// provider.base_url), e.g. "/contacts".
	Path string `json:"path,omitempty"`
	// URL is an absolute URL to use instead of Path; the host allows it only to the
	// manifest's allowed_hosts.
	URL string `json:"url,omitempty"`
	// Query is added to the URL's query.
	Query url.Values `json:"query,omitempty"`
	// Header holds the request's headers. The host drops those that would carry credentials
	// (Authorization and the manifest's auth header): it injects the connection's own.
	Header Header `json:"headers,omitempty"`
	// Body is sent as is; set a Content-Type header to match.
	Body []byte `json:"-"`
}

// target returns the request's URL or path and query, for messages.
func (r *Request) target() string {
	t := r.Path
	if r.URL != "" {
		t = r.URL
	}
	if len(r.Query) > 0 {
		sep := "?"
		if strings.Contains(t, "?") {
			sep = "&"
		}
		t += sep + r.Query.Encode()
	}
	return t
}

// Response is the provider's answer to a [Request].
type Response struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Header holds the response's headers.
	Header Header `json:"headers"`
	// Body is the whole response body.
	Body []byte `json:"-"`

	method, target string // of the request, for messages
}

// Err returns nil when the status is 2xx and an [*HTTPError] otherwise. The host already
// retried 429 and 5xx statuses, so one that reaches the plugin is final.
func (r *Response) Err() error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	return &HTTPError{Method: r.method, Target: r.target, Status: r.Status, Body: excerpt(bytes.TrimSpace(r.Body), 512)}
}

// JSON decodes the body into out.
func (r *Response) JSON(out any) error {
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("ferry: %s %s: decode %d response body %s: %w", r.method, r.target, r.Status, excerpt(r.Body, 80), err)
	}
	return nil
}

// HTTPError reports a response whose status is not 2xx. Use errors.As to act on the status,
// for instance to treat a 404 as "already deleted".
type HTTPError struct {
	Method string // the request's method
	Target string // the request's path or URL, with its query
	Status int    // the response's status code
	Body   string // the start of the response body, at most 512 bytes
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s %s: status %d", e.Method, e.Target, e.Status)
	}
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Target, e.Status, e.Body)
}

// HTTPClient sends requests to the provider through the host, which injects the connection's
// credentials, applies its rate limit and per-request timeout and retries 429, 5xx and network
// errors with backoff. Its zero value is not usable: use the HTTP field of a [Sync] or
// [Action].
type HTTPClient struct {
	h *Host
}

// Do sends req and returns the provider's response, whatever its status: check it with
// [Response.Err] or use [HTTPClient.GetJSON] and [HTTPClient.SendJSON], which do. Do fails only
// when no response could be had: host not allowed, network error after retries, timeout, or a
// rate limit wait past the run's deadline.
func (c HTTPClient) Do(req Request) (*Response, error) {
	if req.Method == "" {
		req.Method = "GET"
	}
	res, err := c.h.callRequest(fnHTTP, &req, req.Body)
	return decodeResponse(res, err, false, req.Method, req.target())
}

// started is a request sent in the background by [HTTPClient.start]; [HTTPClient.wait] takes
// its response.
type started struct {
	id             []byte // the host's id of the request
	method, target string
}

// start sends req as Do does, but in the background (http_start): the host fetches the
// response while the plugin goes on, until wait. It returns nil if the request could not be
// started; Do then says why.
func (c HTTPClient) start(req Request) *started {
	if req.Method == "" {
		req.Method = "GET"
	}
	id, err := c.h.callRequest(fnHTTPStart, &req, req.Body)
	if err != nil {
		return nil
	}
	return &started{id: id, method: req.Method, target: req.target()}
}

// wait waits for the response to a request start sent (http_wait), as Do answers.
func (c HTTPClient) wait(s started) (*Response, error) {
	res, err := c.h.call(fnHTTPWait, s.id)
	return decodeResponse(res, err, true, s.method, s.target)
}

// decodeResponse parses the host's RESPONSE_JSON\nBODY, or BODY\nRESPONSE_JSON (bodyFirst,
// http_wait's), or words its failure.
func decodeResponse(res []byte, err error, bodyFirst bool, method, target string) (*Response, error) {
	fail := func(err error) (*Response, error) {
		return nil, fmt.Errorf("ferry: %s %s: %w", method, target, err)
	}
	if err != nil {
		return fail(err)
	}
	// The body stays in the result buffer, uncopied.
	head, body := res, []byte(nil)
	if bodyFirst {
		if i := bytes.LastIndexByte(res, '\n'); i >= 0 {
			head, body = res[i+1:], res[:i]
		}
	} else if i := bytes.IndexByte(res, '\n'); i >= 0 {
		head, body = res[:i], res[i+1:]
	}
	resp := &Response{method: method, target: target}
	if err := json.Unmarshal(head, resp); err != nil {
		return fail(fmt.Errorf("decode host response %q: %w", excerpt(head, 80), err))
	}
	resp.Body = body
	return resp, nil
}

// Get sends a GET request for path with query, which may be nil.
func (c HTTPClient) Get(path string, query url.Values) (*Response, error) {
	return c.Do(Request{Method: "GET", Path: path, Query: query})
}

// GetJSON sends a GET request for path with query (which may be nil), asking for JSON, and
// decodes the response body into out. A status other than 2xx is an [*HTTPError].
func (c HTTPClient) GetJSON(path string, query url.Values, out any) error {
	return c.doJSON(Request{Method: "GET", Path: path, Query: query}, out)
}

// SendJSON sends a request with method to path with in encoded as its JSON body (no body when
// in is nil) and decodes the response body into out, unless out is nil or the body is empty.
// A status other than 2xx is an [*HTTPError]. Actions use it to write to the provider.
func (c HTTPClient) SendJSON(method, path string, in, out any) error {
	req := Request{Method: method, Path: path}
	if in != nil {
		body, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("ferry: %s %s: encode body: %w", method, path, err)
		}
		req.Body = body
		req.Header = Header{"Content-Type": {"application/json"}}
	}
	return c.doJSON(req, out)
}

func (c HTTPClient) doJSON(req Request, out any) error {
	if req.Header.Get("Accept") == "" {
		req.Header = req.Header.Clone()
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	if err := resp.Err(); err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	return resp.JSON(out)
}

// Header holds HTTP header fields. Keys are matched case-insensitively; Set and Add store them
// in canonical form (Content-Type).
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	if v := h.Values(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns all values of key.
func (h Header) Values(key string) []string {
	if v, ok := h[canonicalKey(key)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// Set replaces the values of key with value.
func (h Header) Set(key, value string) {
	h.Del(key)
	h[canonicalKey(key)] = []string{value}
}

// Add appends value to the values of key.
func (h Header) Add(key, value string) {
	k := canonicalKey(key)
	h[k] = append(h[k], value)
}

// Del removes key.
func (h Header) Del(key string) {
	for k := range h {
		if strings.EqualFold(k, key) {
			delete(h, k)
		}
	}
}

// Clone returns a copy of h, or a new empty Header when h is nil.
func (h Header) Clone() Header {
	c := make(Header, len(h)+1)
	for k, v := range h {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// canonicalKey returns key with the first letter and each letter after a hyphen in upper case
// and the rest in lower case, as net/http stores header keys. (net/http itself is too heavy for
// a plugin to import for this.)
func canonicalKey(key string) string {
	b := []byte(key)
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}
