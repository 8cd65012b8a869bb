package crm

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestCreateContact(t *testing.T) {
	s := New(Options{Contacts: 5, Companies: 2, Seed: 4})
	c := serve(t, s)
	tests := []struct {
		name   string
		before func() // changes the ids used so far
		body   string
		wantID string
		check  func(t *testing.T, got Contact)
	}{
		{
			name:   "after the generated ids",
			body:   `{"first_name":"Mary","last_name":"Jackson","email":"mary@nasa.example","title":"Engineer","tags":["vip"],"address":{"city":"Hampton"}}`,
			wantID: "c-000006",
			check: func(t *testing.T, got Contact) {
				if got.FirstName != "Mary" || got.LastName != "Jackson" || got.Email != "mary@nasa.example" ||
					got.Title != "Engineer" || !slices.Equal(got.Tags, []string{"vip"}) || got.Address.City != "Hampton" {
					t.Errorf("fields not kept: %+v", got)
				}
			},
		},
		{
			name:   "email only: empty tags, not null",
			body:   `{"email":"solo@x.example"}`,
			wantID: "c-000007",
			check: func(t *testing.T, got Contact) {
				if got.Tags == nil || len(got.Tags) != 0 {
					t.Errorf("tags = %#v, want []", got.Tags)
				}
			},
		},
		{
			name:   "after an id put by the admin API",
			before: func() { mustPut(t, s, Contact{ID: "c-000042", Email: "put@x.example"}) },
			body:   `{"email":"next@x.example"}`,
			wantID: "c-000043",
		},
		{
			name: "ids of deleted contacts are not reused",
			before: func() {
				if err := s.DeleteContact("c-000043"); err != nil {
					t.Fatal(err)
				}
			},
			body:   `{"email":"again@x.example"}`,
			wantID: "c-000044",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			start := time.Now().UTC().Add(-time.Second)
			r := c.do(http.MethodPost, "/contacts", tt.body)
			if r.status != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", r.status, r.body)
			}
			var got Contact
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.wantID {
				t.Errorf("id = %q, want %q", got.ID, tt.wantID)
			}
			if got.CreatedAt.Before(start) || !got.CreatedAt.Equal(got.UpdatedAt) {
				t.Errorf("created_at %s, updated_at %s: want both set to now", got.CreatedAt, got.UpdatedAt)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			// The contact is stored as answered, and served last: it is the newest change.
			all := s.Contacts()
			if last := all[len(all)-1]; last.ID != got.ID || mustJSON(t, last) != mustJSON(t, got) {
				t.Errorf("newest stored contact = %s, want the created one %s", mustJSON(t, last), r.body)
			}
		})
	}
	if got := s.Stats().Requests; got != int64(len(tests)) {
		t.Errorf("requests = %d, want %d: POST /contacts is a data route", got, len(tests))
	}
}

func TestPatchContact(t *testing.T) {
	s := New(Options{Contacts: 3, Companies: 1, Seed: 5})
	c := serve(t, s)
	before := contactByID(t, s, "c-000002")

	r := c.do(http.MethodPatch, "/contacts/c-000002", `{"title":"CFO","tags":["board"],"address":{"city":"Ghent"},"notes":null}`)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	var got Contact
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := cloneContact(before)
	want.Title, want.Tags, want.Address.City = "CFO", []string{"board"}, "Ghent"
	want.UpdatedAt = got.UpdatedAt
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("patched contact:\n got  %s\n want %s (only the given fields change; null keeps a value)", mustJSON(t, got), mustJSON(t, want))
	}
	if !got.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("updated_at %s is not after the old %s", got.UpdatedAt, before.UpdatedAt)
	}
	if stored := contactByID(t, s, "c-000002"); mustJSON(t, stored) != mustJSON(t, got) {
		t.Errorf("stored %s, answered %s", mustJSON(t, stored), r.body)
	}
	// An updated contact moves to the end of the order, so "updated after" sees it.
	var page contactsPage
	c.getJSON("/contacts?updated_after="+url.QueryEscape(before.UpdatedAt.Format(time.RFC3339Nano)), &page)
	if ids := contactIDs(page.Data); len(ids) == 0 || ids[len(ids)-1] != "c-000002" {
		t.Errorf("contacts updated after the old time = %v, want c-000002 last", ids)
	}

	// An empty patch is still a change.
	r = c.do(http.MethodPatch, "/contacts/c-000002", `{}`)
	var again Contact
	if err := json.Unmarshal(r.body, &again); err != nil || r.status != http.StatusOK || !again.UpdatedAt.After(got.UpdatedAt) {
		t.Errorf("empty patch: status %d, updated_at %s after %s (%v)", r.status, again.UpdatedAt, got.UpdatedAt, err)
	}
}

func TestContactsEmailFilter(t *testing.T) {
	s := New(Options{Contacts: 20, Companies: 2, Seed: 6})
	c := serve(t, s)
	known := contactByID(t, s, "c-000007").Email
	twin1, err := s.CreateContact(NewContact{Email: "twin@x.example"})
	if err != nil {
		t.Fatal(err)
	}
	twin2, err := s.CreateContact(NewContact{Email: "twin@x.example", FirstName: "Second"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		query     url.Values
		wantIDs   []string
		wantPages int
	}{
		{"a generated contact", url.Values{"email": {known}}, []string{"c-000007"}, 1},
		{"unknown", url.Values{"email": {"nobody@x.example"}}, nil, 1},
		{"exact match only: case", url.Values{"email": {"TWIN@x.example"}}, nil, 1},
		{"exact match only: prefix", url.Values{"email": {"twin@x"}}, nil, 1},
		{"two with the same email", url.Values{"email": {"twin@x.example"}}, []string{twin1.ID, twin2.ID}, 1},
		{"paged by one", url.Values{"email": {"twin@x.example"}, "limit": {"1"}}, []string{twin1.ID, twin2.ID}, 2},
		{"with updated_after", url.Values{"email": {"twin@x.example"}, "updated_after": {twin1.UpdatedAt.Format(time.RFC3339Nano)}}, []string{twin2.ID}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen, pages := c.pageAll("/contacts?" + tt.query.Encode())
			if got := contactIDs(seen); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}
	// No match is an empty list, not null.
	r := c.do(http.MethodGet, "/contacts?email=nobody%40x.example", nil)
	if string(r.body) != `{"data":[],"next_cursor":""}` {
		t.Errorf("body = %s", r.body)
	}
}

func TestWritesAreRateLimited(t *testing.T) {
	s := New(Options{Contacts: 2, RateLimit: 2, Now: fixedClock(time.Now())})
	c := serve(t, s)
	if r := c.do(http.MethodPost, "/contacts", `{"email":"a@x.example"}`); r.status != http.StatusCreated {
		t.Fatalf("POST within the burst: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPatch, "/contacts/c-000001", `{"title":"CEO"}`); r.status != http.StatusOK {
		t.Fatalf("PATCH within the burst: %d %s", r.status, r.body)
	}
	for _, m := range []string{http.MethodPost, http.MethodPatch} {
		path := map[string]string{http.MethodPost: "/contacts", http.MethodPatch: "/contacts/c-000001"}[m]
		if r := c.do(m, path, `{"email":"b@x.example"}`); r.status != http.StatusTooManyRequests {
			t.Errorf("%s over the limit: %d, want 429", m, r.status)
		}
	}
	if st := s.Stats(); st.Requests != 4 || st.RateLimited != 2 || st.Contacts != 3 {
		t.Errorf("stats = %+v, want 4 requests, 2 limited, 3 contacts", st)
	}
}

func contactByID(t *testing.T, s *Server, id string) Contact {
	t.Helper()
	for _, c := range s.Contacts() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no contact %s", id)
	return Contact{}
}

func mustPut(t *testing.T, s *Server, c Contact) Contact {
	t.Helper()
	stored, _, err := s.PutContact(c)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}
