package exchanges

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
)

// ErrNotRecorded is wrapped by the error a Replayer returns for a request it has no recording
// of (or no recording left of, when the plugin repeats a request more often than it was
// recorded).
var ErrNotRecorded = errors.New("request not recorded")

// Replayer is a hostfuncs.Fetcher that answers from recorded exchanges instead of the network.
// It is safe for concurrent use.
type Replayer struct {
	dir string

	mu sync.Mutex
	// queues holds, per request key, the recordings not replayed yet, in recorded order.
	queues map[key][]int
	all    []Exchange
	keys   []key // of all
	used   []bool
}

var _ hostfuncs.Fetcher = (*Replayer)(nil)

// key is what a request is matched on: method, target (a relative request's path, or an
// absolute URL without its query), query and body.
type key struct {
	method, target, query, body string
}

// NewReplayer loads the exchanges recorded in dir.
func NewReplayer(dir string) (*Replayer, error) {
	all, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	r := &Replayer{dir: dir, queues: map[key][]int{}, all: all, keys: make([]key, len(all)), used: make([]bool, len(all))}
	for i, ex := range all {
		body, _ := ex.Request.Body.Bytes() // checked by ReadDir
		k, err := requestKey(proxy.Request{Method: ex.Request.Method, Path: ex.Request.Path,
			URL: ex.Request.URL, Query: ex.Request.Query, Body: body})
		if err != nil {
			return nil, fmt.Errorf("recorded exchange %d in %s: %w", i+1, dir, err)
		}
		r.keys[i] = k
		r.queues[k] = append(r.queues[k], i)
	}
	return r, nil
}

// Fetch answers req with the first recording of the same request not replayed yet. A request
// without one fails with an error wrapping ErrNotRecorded that names its method and URL and,
// when there is one, a recorded request to the same place that differs in query or body.
func (r *Replayer) Fetch(_ context.Context, req proxy.Request) (*proxy.Response, error) {
	k, err := requestKey(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queues[k]
	if len(q) == 0 {
		return nil, r.notRecorded(k)
	}
	i := q[0]
	r.queues[k] = q[1:]
	r.used[i] = true
	ex := r.all[i]
	if ex.Response == nil {
		return nil, errors.New(ex.Error)
	}
	body, _ := ex.Response.Body.Bytes()
	return &proxy.Response{Status: ex.Response.Status, Header: ex.Response.Header.Clone(), Body: body}, nil
}

// place is the key's target and query, as a URL.
func (k key) place() string {
	if k.query == "" {
		return k.target
	}
	return k.target + "?" + k.query
}

func (r *Replayer) notRecorded(k key) error {
	shown := k.place()
	times := 0
	var near []string
	for _, ek := range r.keys {
		switch {
		case ek == k:
			times++
		case ek.method == k.method && ek.target == k.target && len(near) < 3:
			n := ek.place()
			if ek.body != k.body {
				n += " (another body)"
			}
			near = append(near, n)
		}
	}
	msg := fmt.Sprintf("%s %s: %v in %s", k.method, shown, ErrNotRecorded, r.dir)
	switch {
	case times > 0:
		msg = fmt.Sprintf("%s %s: %v: it was recorded %d time(s) in %s, and every recording has been replayed", k.method, shown, ErrNotRecorded, times, r.dir)
	case len(near) > 0:
		msg += "; recorded to the same path: " + strings.Join(near, ", ")
	}
	msg += " (record again with ferry dryrun --record)"
	return &notRecordedError{msg}
}

type notRecordedError struct{ msg string }

func (e *notRecordedError) Error() string { return e.msg }
func (e *notRecordedError) Unwrap() error { return ErrNotRecorded }

// Unused returns the recorded exchanges no request has replayed so far, in recorded order.
func (r *Replayer) Unused() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Exchange
	for i, used := range r.used {
		if !used {
			out = append(out, r.all[i])
		}
	}
	return out
}

// requestKey is what req is matched on. The query is the request's query merged with any in
// its path or URL, in canonical order; a JSON body is compared as canonical JSON (key order
// and whitespace do not count).
func requestKey(req proxy.Request) (key, error) {
	k := key{method: strings.ToUpper(req.Method)}
	if k.method == "" {
		k.method = "GET"
	}
	var q url.Values
	if req.Path != "" {
		u, err := url.Parse(req.Path)
		if err != nil {
			return key{}, fmt.Errorf("bad path %q: %w", req.Path, err)
		}
		k.target = "/" + strings.TrimLeft(u.Path, "/")
		q = u.Query()
	} else {
		u, err := url.Parse(req.URL)
		if err != nil {
			return key{}, fmt.Errorf("bad url %q: %w", req.URL, err)
		}
		q = u.Query()
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		k.target = u.String()
	}
	for name, vs := range req.Query {
		q[name] = append(q[name], vs...)
	}
	k.query = q.Encode()
	k.body = canonicalBody(req.Body)
	return k, nil
}

// canonicalBody is a JSON body in canonical form (records.Canonical: sorted keys, no
// whitespace); other bodies stay as they are.
func canonicalBody(b []byte) string {
	if c, err := records.Canonical(b); err == nil {
		return string(c)
	}
	return string(b)
}
