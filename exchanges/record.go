package exchanges

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/proxy"
)

// Headers never recorded, whoever set them: they carry credentials or sessions. The host
// drops the plugin's own Authorization header anyway, and adds the real one after the point
// where a Recorder sees the request.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// droppedHeaders are response headers not worth recording: a replayed JSON body is compact,
// so its length may differ from the recorded one's.
var droppedHeaders = []string{"Content-Length"}

// RecordOptions configure a Recorder.
type RecordOptions struct {
	// BaseURL is the connection's base URL, to show relative requests' full URL in the files.
	BaseURL string
	// SecretHeaders are more headers to leave out of the files (e.g. the header a manifest's
	// auth type "header" puts the credential in).
	SecretHeaders []string
}

// Recorder writes a connection's HTTP exchanges to files in a directory, one file per
// exchange, numbered in the order they were made. Wrap puts it around the connection's real
// HTTP access. It is safe for concurrent use.
type Recorder struct {
	dir    string
	base   *url.URL
	secret map[string]bool

	mu sync.Mutex
	n  int
}

// NewRecorder returns a Recorder writing to dir, which it creates if needed. Exchanges a
// previous recording left in dir (files named like 0001-GET-contacts.json) are removed first,
// so the directory holds one recording; other files are left alone.
func NewRecorder(dir string, opt RecordOptions) (*Recorder, error) {
	r := &Recorder{dir: dir, secret: map[string]bool{}}
	if opt.BaseURL != "" {
		u, err := url.Parse(opt.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("record exchanges: base URL %q: %w", opt.BaseURL, err)
		}
		r.base = u
	}
	for _, h := range append(secretHeaders, opt.SecretHeaders...) {
		r.secret[http.CanonicalHeaderKey(h)] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record exchanges: %w", err)
	}
	old, err := recordedFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("record exchanges: %w", err)
	}
	for _, name := range old {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("record exchanges: remove the previous recording: %w", err)
		}
	}
	return r, nil
}

// Wrap returns a Fetcher that sends each request through next and records the exchange.
func (r *Recorder) Wrap(next hostfuncs.Fetcher) hostfuncs.Fetcher {
	return &recording{r: r, next: next}
}

// recording is a Fetcher recording what its next Fetcher does.
type recording struct {
	r    *Recorder
	next hostfuncs.Fetcher
}

// Fetch sends req through the wrapped Fetcher and records the exchange. A recording that
// cannot be written fails the request, so a recording is never silently incomplete.
func (f *recording) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	r := f.r
	resp, err := f.next.Fetch(ctx, req)
	ex := Exchange{Request: r.request(req)}
	if err != nil {
		ex.Error = err.Error()
	} else {
		h := r.headers(resp.Header)
		for _, name := range droppedHeaders {
			h.Del(name)
		}
		if len(h) == 0 {
			h = nil
		}
		ex.Response = &Response{Status: resp.Status, Header: h, Body: newBody(resp.Body)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if werr := r.write(fileName(r.n, req), ex); werr != nil {
		return nil, fmt.Errorf("%s %s: record the exchange: %w", req.Method, ex.Request.URL, werr)
	}
	return resp, err
}

// Count returns the number of exchanges recorded so far.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *Recorder) request(req proxy.Request) Request {
	out := Request{Method: req.Method, Path: req.Path, URL: req.URL, Header: r.headers(req.Header), Body: newBody(req.Body)}
	if len(req.Query) > 0 {
		out.Query = req.Query
	}
	if req.Path != "" {
		out.URL = r.resolve(req)
	}
	return out
}

// resolve writes a relative request's URL as the proxy resolves it, for readers of the file.
func (r *Recorder) resolve(req proxy.Request) string {
	rel, err := url.Parse(req.Path)
	if err != nil || r.base == nil {
		return req.Path
	}
	u := *r.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(rel.Path, "/")
	u.RawPath = ""
	q := u.Query()
	for k, vs := range rel.Query() {
		q[k] = append(q[k], vs...)
	}
	for k, vs := range req.Query {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (r *Recorder) headers(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	out := http.Header{}
	for k, vs := range h {
		if !r.secret[http.CanonicalHeaderKey(k)] {
			out[k] = vs
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// write writes ex to name through a temporary file, so a file is never half written.
func (r *Recorder) write(name string, ex Exchange) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ex); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(r.dir, ".exchange-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(r.dir, name))
}
