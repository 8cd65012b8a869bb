package hostfuncs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
func EncodeResponse(r *proxy.Response) []byte { return appendResponse(nil, r, false) }

// appendResponse appends r as http answers, "RESPONSE_JSON\nBODY", or as http_wait does,
// "BODY\nRESPONSE_JSON" (bodyFirst), where a guest keeps the start of its buffer as the body
// instead of moving the body there. Compact JSON holds no raw newline, so the first newline
// ends the head of the one, and the last starts the head of the other.
func appendResponse(dst []byte, r *proxy.Response, bodyFirst bool) []byte {
	head, _ := json.Marshal(responseHeader{Status: r.Status, Headers: r.Header})
	dst = slices.Grow(dst, len(head)+1+len(r.Body))
	if bodyFirst {
		dst = append(dst, r.Body...)
		dst = append(dst, '\n')
		return append(dst, head...)
	}
	dst = append(dst, head...)
	dst = append(dst, '\n')
	return append(dst, r.Body...)
}

// maxKeptAnswer bounds the answer buffer a Call keeps for its next page, so that one huge
// response does not hold its memory for the rest of the call.
const maxKeptAnswer = 4 << 20

// answerWith encodes resp as appendResponse does, in the buffer of the call's last answer: the
// worker copies each answer out before the guest's next call, so a sync's pages share one
// buffer instead of leaving a page's worth of garbage each.
func (c *Call) answerWith(resp *proxy.Response, bodyFirst bool) []byte {
	out := appendResponse(c.answer[:0], resp, bodyFirst)
	c.answer = out
	if cap(out) > maxKeptAnswer {
		c.answer = nil
	}
	return out
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
	return c.answerWith(resp, false), nil
}

// MaxStartedRequests is how many requests a guest may have started with http_start and not
// yet waited for: enough to fetch ahead, few enough that the responses the server holds for
// a call (each up to proxy.MaxBodySize) stay bounded.
const MaxStartedRequests = 4

// startedRequests are a Call's requests sent in the background by http_start, by id, until
// http_wait takes their responses. Only the guest's calls touch the map; each request's
// goroutine sets only its own answer, before it closes done.
type startedRequests struct {
	last uint64 // the last id given
	byID map[uint64]*startedRequest
}

type startedRequest struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once resp and err are set
	resp   *proxy.Response
	err    error
}

// httpStart is http_start: it checks the request now, sends it on a goroutine, as http would
// (rate limit, retries, redaction, the exchange logged), and returns its id for http_wait.
func (c *Call) httpStart(ctx context.Context, arg []byte) ([]byte, error) {
	if c.HTTP == nil {
		return nil, fmt.Errorf("no HTTP access in this call")
	}
	s := &c.started
	if len(s.byID) >= MaxStartedRequests {
		return nil, fmt.Errorf("%d requests are started and not waited for, the most there may be: wait for one first", len(s.byID))
	}
	req, err := DecodeRequest(arg)
	if err != nil {
		return nil, err
	}
	// The request outlives this host call, not the guest's call: the call's context ends
	// with it, and Flush cancels what the guest never waited for.
	ctx, cancel := context.WithCancel(ctx)
	r := &startedRequest{cancel: cancel, done: make(chan struct{})}
	if s.byID == nil {
		s.byID = make(map[uint64]*startedRequest)
	}
	s.last++
	s.byID[s.last] = r
	go func() {
		defer close(r.done)
		r.resp, r.err = c.HTTP.Fetch(ctx, req)
	}()
	return strconv.AppendUint(nil, s.last, 10), nil
}

// httpWait is http_wait: it waits for the request http_start gave the id of and answers as
// http does, but with the body first. A request is waited for once.
func (c *Call) httpWait(arg []byte) ([]byte, error) {
	s := &c.started
	id, err := strconv.ParseUint(string(arg), 10, 64)
	r := s.byID[id]
	if err != nil || r == nil {
		return nil, fmt.Errorf("no request with id %q is started and not yet waited for", arg)
	}
	delete(s.byID, id)
	<-r.done
	r.cancel()
	if r.err != nil {
		return nil, r.err
	}
	return c.answerWith(r.resp, true), nil
}

// abandonStarted cancels the requests started and never waited for, and waits for their
// goroutines to end, so that none outlives the call.
func (c *Call) abandonStarted() {
	for id, r := range c.started.byID {
		r.cancel()
		<-r.done
		delete(c.started.byID, id)
	}
}
