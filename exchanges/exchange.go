package exchanges

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ferrysync/ferry/proxy"
)

// Exchange is one recorded HTTP exchange: what the plugin asked for and what it got back, or
// the error it got instead of a response.
type Exchange struct {
	Request  Request   `json:"request"`
	Response *Response `json:"response,omitempty"`
	// Error is the message the plugin got when no response could be had (a host not allowed,
	// a network error after retries).
	Error string `json:"error,omitempty"`
}

// Request is a plugin's request as it made it, before the host added credentials.
type Request struct {
	Method string `json:"method"`
	// Path is the path the plugin gave, relative to the connection's base URL; empty when it
	// gave an absolute URL.
	Path string `json:"path,omitempty"`
	// URL is the absolute URL the plugin gave or, for a relative request, the URL it was sent
	// to (for reading; replay matches on Path and Query).
	URL    string      `json:"url"`
	Query  url.Values  `json:"query,omitempty"`
	Header http.Header `json:"headers,omitempty"`
	Body
}

// Response is the provider's answer.
type Response struct {
	Status int         `json:"status"`
	Header http.Header `json:"headers,omitempty"`
	Body
}

// Body is a request's or response's body, written the most readable way that keeps it
// intact: as JSON when it is JSON, as text when it is UTF-8, in base64 otherwise. At most one
// field is set; none for an empty body.
type Body struct {
	// JSON is a JSON body, re-indented in the file; it is replayed compact.
	JSON json.RawMessage `json:"body_json,omitempty"`
	// Text is a UTF-8 body that is not JSON.
	Text string `json:"body,omitempty"`
	// Base64 is any other body.
	Base64 string `json:"body_base64,omitempty"`
}

// newBody encodes b.
func newBody(b []byte) Body {
	switch {
	case len(b) == 0:
		return Body{}
	case json.Valid(b):
		return Body{JSON: json.RawMessage(bytes.Clone(b))}
	case utf8.Valid(b):
		return Body{Text: string(b)}
	}
	return Body{Base64: base64.StdEncoding.EncodeToString(b)}
}

// Bytes returns the body's bytes.
func (b Body) Bytes() ([]byte, error) {
	switch {
	case len(b.JSON) > 0:
		var buf bytes.Buffer
		if err := json.Compact(&buf, b.JSON); err != nil {
			return nil, fmt.Errorf("body_json: %w", err)
		}
		return buf.Bytes(), nil
	case b.Text != "":
		return []byte(b.Text), nil
	case b.Base64 != "":
		out, err := base64.StdEncoding.DecodeString(b.Base64)
		if err != nil {
			return nil, fmt.Errorf("body_base64: %w", err)
		}
		return out, nil
	}
	return nil, nil
}

// fileName is how the n-th exchange (from 1) is named: 0001-GET-contacts.json.
func fileName(n int, req proxy.Request) string {
	target := req.Path
	if target == "" {
		if u, err := url.Parse(req.URL); err == nil {
			target = u.Path
		}
	}
	target, _, _ = strings.Cut(target, "?")
	slug := strings.Trim(nonWord.ReplaceAllString(target, "-"), "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	name := fmt.Sprintf("%04d-%s", n, strings.ToUpper(req.Method))
	if slug != "" {
		name += "-" + slug
	}
	return name + ".json"
}

var (
	nonWord = regexp.MustCompile(`[^A-Za-z0-9_.]+`)
	// recordedFile matches the files a Recorder writes.
	recordedFile = regexp.MustCompile(`^[0-9]{4,}-[A-Z]+[A-Za-z0-9_.-]*\.json$`)
)

// recordedFiles lists the exchange files in dir, in order.
func recordedFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && recordedFile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	// Numbers may outgrow four digits: order by number, then name.
	slices.SortFunc(names, func(a, b string) int {
		na, _, _ := strings.Cut(a, "-")
		nb, _, _ := strings.Cut(b, "-")
		if len(na) != len(nb) {
			return len(na) - len(nb)
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

// ReadDir reads the exchanges recorded in dir, in the order they were made.
func ReadDir(dir string) ([]Exchange, error) {
	names, err := recordedFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read recorded exchanges: %w", err)
	}
	out := make([]Exchange, 0, len(names))
	for _, name := range names {
		ex, err := readFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, ex)
	}
	return out, nil
}

func readFile(path string) (Exchange, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Exchange{}, fmt.Errorf("read recorded exchange: %w", err)
	}
	var ex Exchange
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		return Exchange{}, fmt.Errorf("recorded exchange %s: %w", path, err)
	}
	if ex.Request.Method == "" || (ex.Request.Path == "" && ex.Request.URL == "") {
		return Exchange{}, fmt.Errorf("recorded exchange %s: request needs a method and a path or url", path)
	}
	if (ex.Response == nil) == (ex.Error == "") {
		return Exchange{}, fmt.Errorf("recorded exchange %s: needs exactly one of response and error", path)
	}
	for _, b := range []Body{ex.Request.Body, responseBody(ex.Response)} {
		if _, err := b.Bytes(); err != nil {
			return Exchange{}, fmt.Errorf("recorded exchange %s: %w", path, err)
		}
	}
	return ex, nil
}

func responseBody(r *Response) Body {
	if r == nil {
		return Body{}
	}
	return r.Body
}
