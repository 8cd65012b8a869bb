package crm

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	s := New(Options{Token: "s3cret", Contacts: 3, Companies: 2})
	c := serve(t, s)
	tests := []struct {
		name   string
		header string // Authorization; "" sends none
		path   string
		want   int
	}{
		{"no header", "", "/contacts", http.StatusUnauthorized},
		{"wrong token", "Bearer demo-token", "/contacts", http.StatusUnauthorized},
		{"token prefix", "Bearer s3cre", "/contacts", http.StatusUnauthorized},
		{"basic scheme", "Basic s3cret", "/contacts", http.StatusUnauthorized},
		{"scheme only", "Bearer", "/contacts", http.StatusUnauthorized},
		{"bare token", "s3cret", "/contacts", http.StatusUnauthorized},
		{"admin route", "Bearer nope", "/admin/stats", http.StatusUnauthorized},
		{"unknown route", "", "/nope", http.StatusUnauthorized},
		{"right token", "Bearer s3cret", "/contacts", http.StatusOK},
		{"scheme case-insensitive", "bearer s3cret", "/companies", http.StatusOK},
		{"right token admin", "Bearer s3cret", "/admin/stats", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, c.base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decode body: %v", err)
			}
			if len(body) != 1 || body["error"] != "unauthorized" {
				t.Errorf("body = %v, want {\"error\":\"unauthorized\"}", body)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	if got := s.Stats().Requests; got != 2 {
		t.Errorf("requests = %d, want 2: only authorized data requests count", got)
	}
}

func TestBadParameters(t *testing.T) {
	c := serve(t, New(Options{Contacts: 5, Companies: 5}))
	notACursor := base64.RawURLEncoding.EncodeToString([]byte("yesterday"))
	tests := []struct {
		method, path string
		body         any
		want         int
		mention      string // the error message names this
	}{
		{"GET", "/contacts?limit=0", nil, 400, "limit"},
		{"GET", "/contacts?limit=-1", nil, 400, "limit"},
		{"GET", "/contacts?limit=1001", nil, 400, "limit"},
		{"GET", "/contacts?limit=ten", nil, 400, "limit"},
		{"GET", "/contacts?cursor=%21%21%21", nil, 400, "cursor"},
		{"GET", "/contacts?cursor=" + notACursor, nil, 400, "cursor"},
		{"GET", "/contacts?updated_after=yesterday", nil, 400, "updated_after"},
		{"GET", "/contacts?updated_after=2024-13-01T00:00:00Z", nil, 400, "updated_after"},
		{"GET", "/contacts?updated_after=2024-01-01", nil, 400, "updated_after"},
		{"GET", "/contacts/deleted?since=soon", nil, 400, "since"},
		{"GET", "/companies?page=0", nil, 400, "page"},
		{"GET", "/companies?page=two", nil, 400, "page"},
		{"GET", "/companies?per_page=0", nil, 400, "per_page"},
		{"GET", "/companies?per_page=1001", nil, 400, "per_page"},
		{"POST", "/admin/mutate", `{"model":"deals","add":1}`, 400, "model"},
		{"POST", "/admin/mutate", `{"model":"contacts","add":-1}`, 400, "add"},
		{"POST", "/admin/mutate", `{"model":"contacts","update":2000000}`, 400, "update"},
		{"POST", "/admin/mutate", `{"model":"contacts","remove":1}`, 400, "remove"},
		{"POST", "/admin/mutate", `{"model":"contacts"`, 400, "decode"},
		{"POST", "/admin/mutate", `{"model":"contacts"} {}`, 400, "after the JSON value"},
		{"PUT", "/admin/contacts/c-1", `{"id":"c-2"}`, 400, "does not match"},
		{"PUT", "/admin/contacts/c-1", `{"nickname":"x"}`, 400, "nickname"},
		{"PUT", "/admin/contacts/c-1", `[]`, 400, "decode"},
		{"PUT", "/admin/companies/co-1", `{"employees":"many"}`, 400, "employees"},
		{"DELETE", "/admin/contacts/c-999999", nil, 404, "c-999999"},
		{"DELETE", "/admin/companies/co-9999", nil, 404, "co-9999"},
		{"GET", "/contact", nil, 404, "/contact"},
		{"DELETE", "/contacts", nil, 405, "GET, POST"},
		{"PUT", "/contacts/c-000001", nil, 405, "PATCH"},
		{"POST", "/contacts", nil, 400, "decode"},
		{"POST", "/contacts", `{"email":"a@x.example","id":"c-9"}`, 400, `unknown field "id"`},
		{"POST", "/contacts", `{"email":"a@x.example","updated_at":"2024-01-01T00:00:00Z"}`, 400, "updated_at"},
		{"POST", "/contacts", `{"email":"a@x.example","nickname":"x"}`, 400, "nickname"},
		{"POST", "/contacts", `{"first_name":"Mary"}`, 400, "email"},
		{"POST", "/contacts", `{"email":"  "}`, 400, "email"},
		{"POST", "/contacts", `{"email":42}`, 400, "email"},
		{"PATCH", "/contacts/c-000001", `{"email":""}`, 400, "email"},
		{"PATCH", "/contacts/c-000001", `{"address":{"zip":"1"}}`, 400, "zip"},
		{"PATCH", "/contacts/c-000001", `{"id":"c-2"}`, 400, `unknown field "id"`},
		{"PATCH", "/contacts/c-000001", `{"title":`, 400, "decode"},
		{"PATCH", "/contacts/c-999999", `{"title":"CEO"}`, 404, "c-999999"},
		{"PUT", "/admin/webhook", `{"url":"ftp://x.example/hook","secret":"s"}`, 400, "url"},
		{"PUT", "/admin/webhook", `{"url":"/hook","secret":"s"}`, 400, "url"},
		{"PUT", "/admin/webhook", `{"url":"http://127.0.0.1:1/hook"}`, 400, "secret"},
		{"PUT", "/admin/webhook", `{"url":"http://127.0.0.1:1/hook","secret":"s","events":[]}`, 400, "events"},
		{"GET", "/admin/contacts/c-000001", nil, 405, "PUT, DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := c.do(tt.method, tt.path, tt.body)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e errorBody
			if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
				t.Fatalf("body %s is not {\"error\": message}: %v", r.body, err)
			}
			if !strings.Contains(e.Error, tt.mention) {
				t.Errorf("error %q does not mention %q", e.Error, tt.mention)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	// A clock that stands still never refills the bucket, so the test counts requests and
	// does not depend on how fast it runs.
	s := New(Options{Contacts: 5, Companies: 5, RateLimit: 3, Now: fixedClock(time.Now())})
	c := serve(t, s)
	for i, path := range []string{"/contacts", "/companies", "/contacts/deleted"} {
		if r := c.do("GET", path, nil); r.status != http.StatusOK {
			t.Fatalf("request %d (GET %s) within the burst: status %d, body %s", i+1, path, r.status, r.body)
		}
	}
	for _, path := range []string{"/contacts", "/companies"} {
		r := c.do("GET", path, nil)
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("GET %s over the limit: status %d, want 429", path, r.status)
		}
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want \"1\"", got)
		}
		var e errorBody
		if err := json.Unmarshal(r.body, &e); err != nil || !strings.Contains(e.Error, "rate limit") {
			t.Errorf("body %s: want a JSON error about the rate limit (%v)", r.body, err)
		}
	}
	// Admin routes are not limited, so a test can always change and inspect the data.
	if r := c.do("POST", "/admin/mutate", Mutation{Model: ModelContacts, Add: 1}); r.status != http.StatusOK {
		t.Fatalf("mutate over the limit: status %d, body %s", r.status, r.body)
	}
	var st Stats
	c.getJSON("/admin/stats", &st)
	want := Stats{Contacts: 6, Companies: 5, Requests: 5, RateLimited: 2}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
}

func TestNoRateLimit(t *testing.T) {
	s := New(Options{Contacts: 1, Now: fixedClock(time.Now())})
	c := serve(t, s)
	for i := range 50 {
		if r := c.do("GET", "/contacts", nil); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, r.status)
		}
	}
	if got := s.Stats(); got.Requests != 50 || got.RateLimited != 0 {
		t.Errorf("stats = %+v, want 50 requests, none limited", got)
	}
}

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

func TestCompaniesPaging(t *testing.T) {
	s := New(Options{Companies: 20, Contacts: 1, Seed: 3})
	c := serve(t, s)
	tests := []struct {
		name       string
		first      string
		perPage    int
		totalPages int
		skip       int // companies before the first page fetched
	}{
		{"default page size", "/companies", 50, 1, 0},
		{"uneven pages", "/companies?per_page=8", 8, 3, 0},
		{"even pages", "/companies?per_page=5", 5, 4, 0},
		{"one per page", "/companies?page=1&per_page=1", 1, 20, 0},
		{"start at page 3", "/companies?page=3&per_page=5", 5, 4, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			next, pages := tt.first, 0
			for next != "" {
				var p companiesPage
				r := c.getJSON(next, &p)
				pages++
				if want := tt.skip/tt.perPage + pages; p.Page != want || p.PerPage != tt.perPage || p.TotalPages != tt.totalPages {
					t.Fatalf("got page %d, per_page %d, total_pages %d; want %d, %d, %d",
						p.Page, p.PerPage, p.TotalPages, want, tt.perPage, tt.totalPages)
				}
				got = append(got, companyIDs(p.Data)...)
				next = ""
				if link := r.header.Get("Link"); link != "" {
					m := linkNext.FindStringSubmatch(link)
					if m == nil {
						t.Fatalf("page %d: Link %q is not <URL>; rel=\"next\"", p.Page, link)
					}
					next = m[1] // an absolute URL on this server
					if !strings.HasPrefix(next, c.base+"/companies?") {
						t.Fatalf("page %d: next URL %q is not on %s", p.Page, next, c.base)
					}
				} else if p.Page < p.TotalPages {
					t.Fatalf("page %d of %d has no Link header", p.Page, p.TotalPages)
				}
			}
			if want := companyIDs(s.Companies())[tt.skip:]; !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}

	t.Run("past the last page", func(t *testing.T) {
		var p companiesPage
		r := c.getJSON("/companies?page=99&per_page=10", &p)
		if len(p.Data) != 0 || p.TotalPages != 2 || r.header.Get("Link") != "" {
			t.Errorf("got %d companies, total_pages %d, Link %q; want none, 2, none", len(p.Data), p.TotalPages, r.header.Get("Link"))
		}
	})

	t.Run("deleted company disappears", func(t *testing.T) {
		if r := c.do("DELETE", "/admin/companies/co-0005", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: status %d, body %s", r.status, r.body)
		}
		var p companiesPage
		c.getJSON("/companies?per_page=100", &p)
		if len(p.Data) != 19 || slices.Contains(companyIDs(p.Data), "co-0005") {
			t.Errorf("after delete: %v", companyIDs(p.Data))
		}
	})
}

func TestAdminPutContact(t *testing.T) {
	s := New(Options{Contacts: 10, Companies: 2, Seed: 5})
	c := serve(t, s)
	body := map[string]any{
		"first_name": "Mary", "last_name": "Jackson", "email": "mary@example.com",
		"tags": []string{"lead"}, "address": map[string]string{"city": "Hampton"},
		"created_at": "2020-05-06T07:08:09Z", "updated_at": "1999-01-01T00:00:00Z",
	}
	r := c.do("PUT", "/admin/contacts/mary", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", r.status, r.body)
	}
	var created Contact
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "mary" || created.FirstName != "Mary" || created.Address.City != "Hampton" ||
		!created.CreatedAt.Equal(time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("created = %+v", created)
	}
	all := s.Contacts()
	if all[len(all)-1].ID != "mary" || !created.UpdatedAt.After(all[len(all)-2].UpdatedAt) {
		t.Errorf("a put contact should be last, with the newest update time; last is %s", all[len(all)-1].ID)
	}

	delete(body, "created_at")
	body["id"] = "mary"
	body["title"] = "Engineer"
	r = c.do("PUT", "/admin/contacts/mary", body)
	if r.status != http.StatusOK {
		t.Fatalf("replace: status %d, body %s", r.status, r.body)
	}
	var replaced Contact
	if err := json.Unmarshal(r.body, &replaced); err != nil {
		t.Fatal(err)
	}
	if replaced.Title != "Engineer" || !replaced.CreatedAt.Equal(created.CreatedAt) || !replaced.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("replaced = %+v; want the new title, the old created_at and a later updated_at", replaced)
	}
	if st := s.Stats(); st.Contacts != 11 {
		t.Errorf("contacts = %d, want 11", st.Contacts)
	}

	r = c.do("PUT", "/admin/contacts/bare", `{}`)
	var bare Contact
	if err := json.Unmarshal(r.body, &bare); err != nil || r.status != http.StatusCreated {
		t.Fatalf("bare: status %d, body %s", r.status, r.body)
	}
	if bare.Tags == nil || bare.CreatedAt.IsZero() || !bare.CreatedAt.Equal(bare.UpdatedAt) {
		t.Errorf("bare = %+v; want empty tags and created_at = updated_at", bare)
	}
}

func TestAdminPutCompany(t *testing.T) {
	s := New(Options{Companies: 3})
	c := serve(t, s)
	r := c.do("PUT", "/admin/companies/co-0002a", `{"name":"Wedge","employees":7}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", r.status, r.body)
	}
	r = c.do("PUT", "/admin/companies/co-0002", `{"name":"Renamed"}`)
	if r.status != http.StatusOK {
		t.Fatalf("replace: status %d, body %s", r.status, r.body)
	}
	var p companiesPage
	c.getJSON("/companies", &p)
	if got, want := companyIDs(p.Data), []string{"co-0001", "co-0002", "co-0002a", "co-0003"}; !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v (id order)", got, want)
	}
	if p.Data[1].Name != "Renamed" || p.Data[2].Employees != 7 || p.Data[2].UpdatedAt.IsZero() {
		t.Errorf("companies = %+v", p.Data)
	}
}
