package ferry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Pagination is a way for a provider to split a listing into pages: [CursorPagination],
// [LinkPagination], [PagePagination] or [OffsetPagination]. Use one with
// [HTTPClient.Paginate]; a scheme none of them covers is a loop over [HTTPClient.Do].
type Pagination interface {
	// check reports a configuration that cannot work.
	check() error
	// itemsPath is the path of the items array in a page's body.
	itemsPath() string
	// valuePath is the path of the value next reads in a page's body, which the pager finds
	// with the items when it checks the body; "" when next reads none.
	valuePath() string
	// first turns the caller's request into the first page's.
	first(req *Request)
	// next reads pg, just fetched with req, and turns req into the request for the page
	// after it, reporting false when pg was the last.
	next(req *Request, pg *page) (bool, error)
}

// page is one fetched page.
type page struct {
	resp   *Response
	items  []byte // the items array, within resp.Body
	count  int    // elements of items
	cursor string // the next page's cursor, for CursorPagination
	// value is the value at the pagination's valuePath in resp.Body, within it; nil if there
	// is none.
	value []byte
}

// CursorPagination follows a cursor that each page's body holds and the next request sends as
// a query parameter. The listing ends at a page whose cursor is missing, null or "" (or the
// same as the one that fetched it).
type CursorPagination struct {
	// ItemsPath is the dot-separated path of the items array in the body, e.g. "data";
	// "" when the body is the array itself.
	ItemsPath string
	// CursorPath is the dot-separated path of the next page's cursor in the body, e.g.
	// "next_cursor" or "meta.next". A string or a number.
	CursorPath string
	// CursorParam is the query parameter that carries the cursor, e.g. "cursor".
	CursorParam string
	// Start is the cursor of the first page to fetch, for a run that resumes from a
	// checkpoint; "" starts at the beginning.
	Start string
}

func (p CursorPagination) check() error {
	if p.CursorPath == "" || p.CursorParam == "" {
		return errors.New("CursorPagination needs CursorPath and CursorParam")
	}
	return nil
}

func (p CursorPagination) itemsPath() string { return p.ItemsPath }
func (p CursorPagination) valuePath() string { return p.CursorPath }

func (p CursorPagination) first(req *Request) {
	if p.Start != "" {
		req.Query.Set(p.CursorParam, p.Start)
	}
}

func (p CursorPagination) next(req *Request, pg *page) (bool, error) {
	raw := pg.value
	if raw == nil {
		return false, nil
	}
	cursor := string(raw)
	switch {
	case cursor == "null":
		cursor = ""
	case strings.HasPrefix(cursor, `"`):
		if err := json.Unmarshal(raw, &cursor); err != nil {
			return false, fmt.Errorf("cursor at %q: %w", p.CursorPath, err)
		}
	case strings.HasPrefix(cursor, "{") || strings.HasPrefix(cursor, "[") || cursor == "true" || cursor == "false":
		return false, fmt.Errorf("cursor at %q is %s, want a string or a number", p.CursorPath, excerpt(raw, 40))
	}
	if cursor == "" || cursor == req.Query.Get(p.CursorParam) {
		return false, nil
	}
	pg.cursor = cursor
	req.Query.Set(p.CursorParam, cursor)
	return true, nil
}

// LinkPagination follows the rel="next" link of each page's Link header (RFC 8288), as GitHub
// and many others send it. The listing ends at a page without one. An absolute link is
// requested as the Request's URL, so its host must be among the manifest's allowed_hosts (by
// default the host of the base URL); a relative link is resolved against the request's path.
type LinkPagination struct {
	// ItemsPath is the dot-separated path of the items array in the body, e.g. "data";
	// "" when the body is the array itself.
	ItemsPath string
}

func (p LinkPagination) check() error      { return nil }
func (p LinkPagination) itemsPath() string { return p.ItemsPath }
func (p LinkPagination) valuePath() string { return "" }
func (p LinkPagination) first(*Request)    {}

func (p LinkPagination) next(req *Request, pg *page) (bool, error) {
	link, ok := nextLink(pg.resp.Header.Values("Link"))
	if !ok {
		return false, nil
	}
	ref, err := url.Parse(link)
	if err != nil {
		return false, fmt.Errorf("next link %q: %w", link, err)
	}
	base, err := url.Parse(req.target())
	if err != nil {
		return false, fmt.Errorf("request target %q: %w", req.target(), err)
	}
	u := base.ResolveReference(ref)
	if u.String() == base.String() {
		return false, nil // a page that links to itself would never end
	}
	if u.IsAbs() || u.Host != "" {
		req.URL, req.Path, req.Query = u.String(), "", nil
	} else {
		req.URL, req.Path, req.Query = "", u.EscapedPath(), u.Query()
	}
	return true, nil
}

// nextLink returns the target of the first link with relation "next" in the values of Link
// headers.
func nextLink(values []string) (string, bool) {
	for _, s := range values {
		for {
			start := strings.IndexByte(s, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(s[start:], '>')
			if end < 0 {
				break
			}
			target := s[start+1 : start+end]
			s = s[start+end+1:]
			// The link's parameters run to the next comma outside quotes.
			j, quoted := 0, false
			for ; j < len(s) && (quoted || s[j] != ','); j++ {
				if s[j] == '"' {
					quoted = !quoted
				}
			}
			params := s[:j]
			s = s[j:]
			for _, param := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(param, "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target, true
					}
				}
			}
		}
	}
	return "", false
}

// PagePagination numbers pages in a query parameter. The listing ends at an empty page, at a
// page shorter than Limit, or at the last of the total pages the body reports.
type PagePagination struct {
	// ItemsPath is the dot-separated path of the items array in the body, e.g. "data";
	// "" when the body is the array itself.
	ItemsPath string
	// PageParam is the query parameter that carries the page number; "" means "page".
	PageParam string
	// Page is the number of the first page to fetch; 0 means the API's first page, 1 (or 0
	// when ZeroBased).
	Page int
	// ZeroBased says the API numbers its pages from 0.
	ZeroBased bool
	// LimitParam and Limit, when both set, ask for Limit items a page; Limit alone says how
	// many items a page asks for in the request's own query. A shorter page is the last.
	LimitParam string
	Limit      int
	// TotalPagesPath is the dot-separated path of the number of pages in the body, e.g.
	// "total_pages"; "" when the body has none.
	TotalPagesPath string
}

func (p PagePagination) check() error      { return nil }
func (p PagePagination) itemsPath() string { return p.ItemsPath }
func (p PagePagination) valuePath() string { return p.TotalPagesPath }

func (p PagePagination) param() string {
	if p.PageParam == "" {
		return "page"
	}
	return p.PageParam
}

func (p PagePagination) first(req *Request) {
	n := p.Page
	if n == 0 && !p.ZeroBased {
		n = 1
	}
	req.Query.Set(p.param(), strconv.Itoa(n))
	if p.LimitParam != "" && p.Limit > 0 {
		req.Query.Set(p.LimitParam, strconv.Itoa(p.Limit))
	}
}

func (p PagePagination) next(req *Request, pg *page) (bool, error) {
	if pg.count == 0 || p.Limit > 0 && pg.count < p.Limit {
		return false, nil
	}
	n, err := strconv.Atoi(req.Query.Get(p.param()))
	if err != nil {
		return false, fmt.Errorf("page parameter %q: %w", p.param(), err)
	}
	// Without TotalPagesPath the pager looks for no value, and pg.value is nil.
	if raw := pg.value; raw != nil && string(raw) != "null" {
		total, err := strconv.Atoi(string(raw))
		if err != nil {
			return false, fmt.Errorf("total pages at %q is %s, want an integer", p.TotalPagesPath, excerpt(raw, 40))
		}
		last := total
		if p.ZeroBased {
			last = total - 1
		}
		if n >= last {
			return false, nil
		}
	}
	req.Query.Set(p.param(), strconv.Itoa(n+1))
	return true, nil
}

// OffsetPagination moves an item offset in a query parameter by the number of items each page
// held. The listing ends at an empty page or at a page shorter than Limit.
type OffsetPagination struct {
	// ItemsPath is the dot-separated path of the items array in the body, e.g. "data";
	// "" when the body is the array itself.
	ItemsPath string
	// OffsetParam is the query parameter that carries the offset; "" means "offset".
	OffsetParam string
	// Offset is the offset of the first page to fetch.
	Offset int
	// LimitParam and Limit, when both set, ask for Limit items a page; Limit alone says how
	// many items a page asks for in the request's own query. A shorter page is the last.
	LimitParam string
	Limit      int
}

func (p OffsetPagination) check() error      { return nil }
func (p OffsetPagination) itemsPath() string { return p.ItemsPath }
func (p OffsetPagination) valuePath() string { return "" }

func (p OffsetPagination) param() string {
	if p.OffsetParam == "" {
		return "offset"
	}
	return p.OffsetParam
}

func (p OffsetPagination) first(req *Request) {
	req.Query.Set(p.param(), strconv.Itoa(p.Offset))
	if p.LimitParam != "" && p.Limit > 0 {
		req.Query.Set(p.LimitParam, strconv.Itoa(p.Limit))
	}
}

func (p OffsetPagination) next(req *Request, pg *page) (bool, error) {
	if pg.count == 0 || p.Limit > 0 && pg.count < p.Limit {
		return false, nil
	}
	n, err := strconv.Atoi(req.Query.Get(p.param()))
	if err != nil {
		return false, fmt.Errorf("offset parameter %q: %w", p.param(), err)
	}
	req.Query.Set(p.param(), strconv.Itoa(n+pg.count))
	return true, nil
}

// Pager walks the pages of a listing, one request per page:
//
//	p := s.HTTP.Paginate(req, pagination)
//	for p.Next() {
//		// use p.Items(), p.Decode or p.Raw()
//	}
//	if err := p.Err(); err != nil { ... }
//
// A page's data is valid until the next call to Next, which lets it go, so a sync that saves
// each page as it comes keeps only one page in memory.
//
// The pager fetches ahead: once a page is fetched and its next request known, it asks the
// host for the next page in the background (http_start), so the provider's answer arrives
// while the plugin works on the page it has. A loop that stops before the end leaves one
// request made for nothing, which the host cancels when the function returns; turn it off
// with [Pager.Prefetch].
type Pager struct {
	c          HTTPClient
	p          Pagination
	req        Request
	pg         page
	split      []json.RawMessage
	pages      int
	more       bool
	err        error
	noPrefetch bool
	ahead      *started // the next page's request, sent in the background
}

// Paginate returns a [Pager] that fetches the pages of the listing req starts, as p describes.
// Nothing is sent until the first call to [Pager.Next]. req is not modified.
func (c HTTPClient) Paginate(req Request, p Pagination) *Pager {
	q := make(url.Values, len(req.Query)+2)
	for k, v := range req.Query {
		q[k] = append([]string(nil), v...)
	}
	req.Query = q
	return &Pager{c: c, p: p, req: req}
}

// Prefetch sets whether the pager asks for the next page while the plugin works on the last
// (on by default), and returns p. Off, it asks only when Next is called: for a loop that may
// stop early against a provider whose requests are dear.
func (p *Pager) Prefetch(on bool) *Pager {
	p.noPrefetch = !on
	return p
}

// Next fetches the next page and reports whether there is one. It returns false at the end of
// the listing and on the first error, which [Pager.Err] then returns; a status other than 2xx
// is an error.
func (p *Pager) Next() bool {
	if p.err != nil {
		return false
	}
	if p.pages == 0 {
		if err := p.p.check(); err != nil {
			p.err = fmt.Errorf("ferry: paginate: %w", err)
			return false
		}
		p.p.first(&p.req)
	} else if !p.more {
		p.pg, p.split = page{}, nil
		return false
	}
	p.pg, p.split = page{}, nil // let the previous page go before the next arrives
	method, target := p.req.Method, p.req.target()
	if method == "" {
		method = "GET"
	}
	fail := func(err error) bool {
		p.err = fmt.Errorf("ferry: paginate %s %s: %w", method, target, err)
		return false
	}
	var (
		resp *Response
		err  error
	)
	if p.ahead != nil {
		resp, err = p.c.wait(*p.ahead)
		p.ahead = nil
	} else {
		resp, err = p.c.Do(p.req)
	}
	if err != nil {
		p.err = err
		return false
	}
	if err := resp.Err(); err != nil {
		p.err = err
		return false
	}
	// One pass over the body checks it and finds the items and the pagination's value.
	valuePath := p.p.valuePath()
	found := [2]probe{newProbe(p.p.itemsPath()), newProbe(valuePath)}
	probes := found[:1]
	if valuePath != "" {
		probes = found[:2]
	}
	if !scanJSON(resp.Body, probes) {
		return fail(fmt.Errorf("response body is not JSON: %s", excerpt(resp.Body, 80)))
	}
	items, ok := found[0].value(resp.Body)
	switch {
	case !ok:
		// Not an empty page: a wrong path would otherwise end a full sync with nothing
		// saved, and everything cached marked deleted.
		return fail(fmt.Errorf("no items at %q in response body %s", p.p.itemsPath(), excerpt(resp.Body, 80)))
	case string(items) == "null":
		items = []byte("[]")
	case items[0] != '[':
		return fail(fmt.Errorf("items at %q are %s, want a JSON array", p.p.itemsPath(), excerpt(items, 40)))
	}
	p.pg = page{resp: resp, items: items, count: found[0].count}
	p.pg.value, _ = found[1].value(resp.Body)
	p.pages++
	if p.more, err = p.p.next(&p.req, &p.pg); err != nil {
		return fail(err)
	}
	if p.more && !p.noPrefetch {
		// A request that cannot be started is sent again, and fails, when its page is asked for.
		p.ahead = p.c.start(p.req)
	}
	return true
}

// Err returns the error that ended the listing early, or nil.
func (p *Pager) Err() error { return p.err }

// Items returns the current page's items, as subslices of the response body.
func (p *Pager) Items() []json.RawMessage {
	if p.split == nil {
		p.split = splitArray(p.pg.items)
	}
	return p.split
}

// Raw returns the current page's items array as it is in the response body, ready for
// [Host.SaveRaw].
func (p *Pager) Raw() json.RawMessage { return p.pg.items }

// Len returns the number of items on the current page.
func (p *Pager) Len() int { return p.pg.count }

// Decode decodes the current page's items array into out, typically a pointer to a slice.
func (p *Pager) Decode(out any) error {
	if err := json.Unmarshal(p.pg.items, out); err != nil {
		return fmt.Errorf("ferry: decode page %d items: %w", p.pages, err)
	}
	return nil
}

// Response returns the current page's response.
func (p *Pager) Response() *Response { return p.pg.resp }

// Cursor returns, with [CursorPagination], the cursor of the page after the current one: the
// value to store in a checkpoint so that a later run resumes there through
// CursorPagination.Start. It is "" on the last page and with other paginations.
func (p *Pager) Cursor() string { return p.pg.cursor }
