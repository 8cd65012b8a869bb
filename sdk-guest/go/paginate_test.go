package ferry

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// listing serves items i0..i(n-1) in pages through every pagination scheme the helper covers:
//
//	/cursor?cursor=C&limit=L   {"data":[...],"meta":{"next":"C2"}}, next "" on the last page
//	/link?page=P&per_page=L    [...] with Link: <...>; rel="next" (absolute URL)
//	/rellink?page=P            the same with relative links
//	/pages?page=P&per_page=L   {"items":[...],"total_pages":K}
//	/offset?offset=O&limit=L   [...]
func listing(t *testing.T, n int) (*testHost, *[]string) {
	var requests []string
	item := func(i int) string { return fmt.Sprintf(`{"id":"i%d"}`, i) }
	page := func(from, limit int) string {
		var b []string
		for i := from; i < min(from+limit, n); i++ {
			b = append(b, item(i))
		}
		return "[" + strings.Join(b, ",") + "]"
	}
	atoi := func(s string, def int) int {
		if v, err := strconv.Atoi(s); err == nil {
			return v
		}
		return def
	}
	var th *testHost
	th = serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.URL.RequestURI())
		q := r.URL.Query()
		limit := atoi(q.Get("limit"), atoi(q.Get("per_page"), 10))
		switch r.URL.Path {
		case "/cursor":
			from := atoi(strings.TrimPrefix(q.Get("cursor"), "at-"), 0)
			next := ""
			if from+limit < n {
				next = fmt.Sprintf("at-%d", from+limit)
			}
			fmt.Fprintf(w, `{"data":%s,"meta":{"next":%q}}`, page(from, limit), next)
		case "/link", "/rellink":
			p := atoi(q.Get("page"), 1)
			if p*limit < n {
				next := fmt.Sprintf("%s?page=%d&per_page=%d", r.URL.Path, p+1, limit)
				if r.URL.Path == "/link" {
					next = th.baseURL + next
				}
				w.Header().Add("Link", fmt.Sprintf(`<%s?page=1>; rel="first", <%s>; rel="next"`, r.URL.Path, next))
			}
			fmt.Fprint(w, page((p-1)*limit, limit))
		case "/pages":
			p := atoi(q.Get("page"), 1)
			fmt.Fprintf(w, `{"items":%s,"total_pages":%d}`, page((p-1)*limit, limit), (n+limit-1)/limit)
		case "/offset":
			fmt.Fprint(w, page(atoi(q.Get("offset"), 0), limit))
		default:
			http.Error(w, "no route", http.StatusNotFound)
		}
	})
	return th, &requests
}

func TestPaginate(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		req      Request
		p        Pagination
		wantReqs []string
	}{
		{
			name: "cursor",
			n:    25,
			req:  Request{Path: "/cursor", Query: url.Values{"limit": {"10"}}},
			p:    CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor"},
			wantReqs: []string{"/cursor?limit=10", "/cursor?cursor=at-10&limit=10",
				"/cursor?cursor=at-20&limit=10"},
		},
		{
			name:     "cursor resumed",
			n:        25,
			req:      Request{Path: "/cursor", Query: url.Values{"limit": {"10"}}},
			p:        CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor", Start: "at-10"},
			wantReqs: []string{"/cursor?cursor=at-10&limit=10", "/cursor?cursor=at-20&limit=10"},
		},
		{
			name:     "absolute link",
			n:        20,
			req:      Request{Path: "/link", Query: url.Values{"per_page": {"10"}}},
			p:        LinkPagination{},
			wantReqs: []string{"/link?per_page=10", "/link?page=2&per_page=10"},
		},
		{
			name:     "relative link",
			n:        11,
			req:      Request{Path: "/rellink", Query: url.Values{"per_page": {"5"}}},
			p:        LinkPagination{},
			wantReqs: []string{"/rellink?per_page=5", "/rellink?page=2&per_page=5", "/rellink?page=3&per_page=5"},
		},
		{
			name:     "pages to total_pages",
			n:        20, // the last page is full: only total_pages stops it
			req:      Request{Path: "/pages"},
			p:        PagePagination{ItemsPath: "items", LimitParam: "per_page", Limit: 10, TotalPagesPath: "total_pages"},
			wantReqs: []string{"/pages?page=1&per_page=10", "/pages?page=2&per_page=10"},
		},
		{
			name:     "pages to a short page",
			n:        15,
			req:      Request{Path: "/pages", Query: url.Values{"per_page": {"10"}}},
			p:        PagePagination{ItemsPath: "items", Limit: 10},
			wantReqs: []string{"/pages?page=1&per_page=10", "/pages?page=2&per_page=10"},
		},
		{
			name:     "pages to an empty page",
			n:        20,
			req:      Request{Path: "/pages"},
			p:        PagePagination{ItemsPath: "items"},
			wantReqs: []string{"/pages?page=1", "/pages?page=2", "/pages?page=3"},
		},
		{
			name:     "offset",
			n:        25,
			req:      Request{Path: "/offset"},
			p:        OffsetPagination{LimitParam: "limit", Limit: 10},
			wantReqs: []string{"/offset?limit=10&offset=0", "/offset?limit=10&offset=10", "/offset?limit=10&offset=20"},
		},
		{
			name:     "empty listing",
			n:        0,
			req:      Request{Path: "/cursor"},
			p:        CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor"},
			wantReqs: []string{"/cursor"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, requests := listing(t, tt.n)
			h := newHost(th)
			query := fmt.Sprint(tt.req.Query)
			var ids []string
			p := h.HTTP.Paginate(tt.req, tt.p)
			for p.Next() {
				var items []struct{ ID string }
				if err := p.Decode(&items); err != nil {
					t.Fatal(err)
				}
				if len(p.Items()) != len(items) || p.Len() != len(items) {
					t.Errorf("Items() has %d, Len() %d, Decode %d", len(p.Items()), p.Len(), len(items))
				}
				for _, it := range items {
					ids = append(ids, it.ID)
				}
			}
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			if p.Next() {
				t.Error("Next after the end returned true")
			}
			var want []string
			for i := startOf(tt.p); i < tt.n; i++ {
				want = append(want, fmt.Sprintf("i%d", i))
			}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Errorf("ids = %v, want %v", ids, want)
			}
			if strings.Join(*requests, " ") != strings.Join(tt.wantReqs, " ") {
				t.Errorf("requests = %q, want %q", *requests, tt.wantReqs)
			}
			if fmt.Sprint(tt.req.Query) != query {
				t.Errorf("Paginate modified the caller's query: %v", tt.req.Query)
			}
		})
	}
}

// startOf returns the first item a resumed pagination fetches in listing's data.
func startOf(p Pagination) int {
	if c, ok := p.(CursorPagination); ok && c.Start != "" {
		n, _ := strconv.Atoi(strings.TrimPrefix(c.Start, "at-"))
		return n
	}
	return 0
}

func TestPaginateCursorForCheckpoint(t *testing.T) {
	th, _ := listing(t, 25)
	h := newHost(th)
	p := h.HTTP.Paginate(Request{Path: "/cursor", Query: url.Values{"limit": {"10"}}},
		CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor"})
	var cursors []string
	for p.Next() {
		cursors = append(cursors, p.Cursor())
	}
	if got := strings.Join(cursors, ","); got != "at-10,at-20," {
		t.Errorf("cursors = %q, want at-10,at-20, and \"\" on the last page", got)
	}
}

func TestPaginateErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		p       Pagination
		wantErr string
		pages   int // pages delivered before the error
	}{
		{"status", `{"error":"bad cursor"}`, 400, CursorPagination{ItemsPath: "data", CursorPath: "next", CursorParam: "cursor"},
			`GET /list: status 400: {"error":"bad cursor"}`, 0},
		{"not JSON", `<html>`, 200, LinkPagination{}, "ferry: paginate GET /list: response body is not JSON: <html>", 0},
		{"items missing", `{"results":[]}`, 200, LinkPagination{ItemsPath: "data"},
			`ferry: paginate GET /list: no items at "data" in response body {"results":[]}`, 0},
		{"items not an array", `{"data":{"id":"x"}}`, 200, LinkPagination{ItemsPath: "data"},
			`ferry: paginate GET /list: items at "data" are {"id":"x"}, want a JSON array`, 0},
		{"cursor object", `{"data":[1],"next":{"a":1}}`, 200, CursorPagination{ItemsPath: "data", CursorPath: "next", CursorParam: "c"},
			`ferry: paginate GET /list: cursor at "next" is {"a":1}, want a string or a number`, 0},
		{"misconfigured", `[]`, 200, CursorPagination{}, "ferry: paginate: CursorPagination needs CursorPath and CursorParam", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			p := newHost(th).HTTP.Paginate(Request{Path: "/list"}, tt.p)
			pages := 0
			for p.Next() {
				pages++
			}
			if p.Err() == nil || p.Err().Error() != tt.wantErr {
				t.Errorf("Err() = %v, want %s", p.Err(), tt.wantErr)
			}
			if pages != tt.pages {
				t.Errorf("pages = %d, want %d", pages, tt.pages)
			}
		})
	}
}

func TestPaginateStopsOnRepeatedCursor(t *testing.T) {
	// A provider that hands back the cursor it was given would otherwise loop forever.
	calls := 0
	th := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprint(w, `{"data":[{"id":"x"}],"next":"same"}`)
	})
	p := newHost(th).HTTP.Paginate(Request{Path: "/list"}, CursorPagination{ItemsPath: "data", CursorPath: "next", CursorParam: "c"})
	for p.Next() {
	}
	if p.Err() != nil || calls != 2 {
		t.Errorf("calls = %d, err %v; want 2 calls and no error", calls, p.Err())
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{`<https://api.x.io/items?page=2>; rel="next"`}, "https://api.x.io/items?page=2"},
		{[]string{`<https://api.x.io/a?x=1,2>; rel="prev", <https://api.x.io/b>; rel="next"`}, "https://api.x.io/b"},
		{[]string{`<a>; title="one, two"; rel="last"`, `</b>;rel=next`}, "/b"},
		{[]string{`<c>; rel="prefetch next"`}, "c"},
		{[]string{`<c>; REL="Next"`}, "c"},
		{[]string{`<c>; rel="nextpage"`}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got, ok := nextLink(tt.values)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("nextLink(%q) = %q, %v; want %q", tt.values, got, ok, tt.want)
		}
	}
}

// The body of a page is decoded lazily: Raw hands the array on for SaveRaw without a copy.
func TestPagerRawIsBodySlice(t *testing.T) {
	th, _ := listing(t, 3)
	p := newHost(th).HTTP.Paginate(Request{Path: "/cursor"},
		CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor"})
	if !p.Next() {
		t.Fatal(p.Err())
	}
	raw, body := p.Raw(), p.Response().Body
	if &raw[0] != &body[len(`{"data":`)] {
		t.Error("Raw() is a copy of the body, not a slice of it")
	}
	var v []json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 3 {
		t.Errorf("Raw() = %s", raw)
	}
}

// TestPaginatePrefetch checks that the pager asks for page N+1 (http_start) before it hands
// out page N, takes it with http_wait, and asks only on Next with prefetch off.
func TestPaginatePrefetch(t *testing.T) {
	tests := []struct {
		name     string
		prefetch bool
		// the host calls made, and the cursors of the requests the provider had, once each
		// page is out
		wantCalls, wantReqs []string
	}{
		{
			name:     "on",
			prefetch: true,
			wantCalls: []string{
				"http http_start",
				"http http_start http_wait http_start",
				"http http_start http_wait http_start http_wait",
			},
			wantReqs: []string{"first at-10", "first at-10 at-20", "first at-10 at-20"},
		},
		{
			name:      "off",
			prefetch:  false,
			wantCalls: []string{"http", "http http", "http http http"},
			wantReqs:  []string{"first", "first at-10", "first at-10 at-20"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, requests := listing(t, 25)
			h := newHost(th)
			p := h.HTTP.Paginate(Request{Path: "/cursor", Query: url.Values{"limit": {"10"}}},
				CursorPagination{ItemsPath: "data", CursorPath: "meta.next", CursorParam: "cursor"}).Prefetch(tt.prefetch)
			var ids int
			for i := 0; p.Next(); i++ {
				ids += p.Len()
				var calls, reqs []string
				for _, f := range th.calls {
					calls = append(calls, f.String())
				}
				for _, r := range *requests {
					u, _ := url.Parse(r)
					reqs = append(reqs, cmp.Or(u.Query().Get("cursor"), "first"))
				}
				if i >= len(tt.wantCalls) {
					t.Fatalf("page %d: more pages than the listing has", i+1)
				}
				if got := strings.Join(calls, " "); got != tt.wantCalls[i] {
					t.Errorf("page %d: host calls %q, want %q", i+1, got, tt.wantCalls[i])
				}
				if got := strings.Join(reqs, " "); got != tt.wantReqs[i] {
					t.Errorf("page %d: provider requests at %q, want %q", i+1, got, tt.wantReqs[i])
				}
			}
			if err := p.Err(); err != nil || ids != 25 {
				t.Errorf("%d items, err %v; want 25", ids, err)
			}
		})
	}
}
