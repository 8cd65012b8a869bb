package crm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// client talks to a Server over a real loopback HTTP connection.
type client struct {
	t     testing.TB
	base  string
	token string
}

// serve starts s on loopback for the duration of the test.
func serve(t testing.TB, s *Server) *client {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &client{t: t, base: ts.URL, token: DefaultToken}
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the client's token; body, if not nil, is sent as JSON (a string
// or []byte is sent as is).
func (c *client) do(method, pathOrURL string, body any) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode request body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	url := pathOrURL
	if len(url) > 0 && url[0] == '/' {
		url = c.base + url
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatalf("new request %s %s: %v", method, url, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// getJSON GETs path, requires a 200 and decodes the body into v.
func (c *client) getJSON(path string, v any) response {
	c.t.Helper()
	r := c.do(http.MethodGet, path, nil)
	if r.status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, body %s", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		c.t.Fatalf("GET %s: decode %s: %v", path, r.body, err)
	}
	return r
}

// contactsPage is the body of GET /contacts.
type contactsPage struct {
	Data       []Contact `json:"data"`
	NextCursor string    `json:"next_cursor"`
}

// companiesPage is the body of GET /companies.
type companiesPage struct {
	Data       []Company `json:"data"`
	Page       int       `json:"page"`
	PerPage    int       `json:"per_page"`
	TotalPages int       `json:"total_pages"`
}

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// fixedClock returns a clock that always says t, which stops the rate limit from refilling.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func ids[T any](records []T, id func(T) string) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = id(r)
	}
	return out
}

func contactIDs(cs []Contact) []string   { return ids(cs, func(c Contact) string { return c.ID }) }
func companyIDs(cs []Company) []string   { return ids(cs, func(c Company) string { return c.ID }) }
func deletionIDs(ds []Deletion) []string { return ids(ds, func(d Deletion) string { return d.ID }) }
