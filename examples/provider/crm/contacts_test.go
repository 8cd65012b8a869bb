package crm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// pageAll follows next_cursor from first (a path with query) to the last page and returns
// the contacts in the order served and the number of pages.
func (c *client) pageAll(first string) (seen []Contact, pages int) {
	c.t.Helper()
	next := first
	for {
		var p contactsPage
		c.getJSON(next, &p)
		pages++
		seen = append(seen, p.Data...)
		if p.NextCursor == "" {
			return seen, pages
		}
		if len(p.Data) == 0 {
			c.t.Fatalf("page %d is empty but has a next cursor", pages)
		}
		u, _ := url.Parse(first)
		q := u.Query()
		q.Set("cursor", p.NextCursor)
		next = u.Path + "?" + q.Encode()
	}
}

func TestContactsPagingVisitsEachOnce(t *testing.T) {
	s := New(Options{Contacts: 250, Companies: 10, Seed: 2})
	c := serve(t, s)
	want := contactIDs(s.Contacts())
	tests := []struct {
		query     string
		wantPages int
	}{
		{"", 3}, // limit 100 by default
		{"?limit=1", 250},
		{"?limit=7", 36},
		{"?limit=50", 5}, // a full last page ends the paging: no empty page after it
		{"?limit=249", 2},
		{"?limit=1000", 1},
	}
	for _, tt := range tests {
		t.Run("limit"+tt.query, func(t *testing.T) {
			seen, pages := c.pageAll("/contacts" + tt.query)
			if got := contactIDs(seen); !slices.Equal(got, want) {
				t.Fatalf("paging served %d contacts, want each of the %d once, in (updated_at, id) order", len(got), len(want))
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}
}

func TestContactsOrder(t *testing.T) {
	s := New(Options{Contacts: 500, Companies: 3, Seed: 9})
	all := s.Contacts()
	byID := true
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.UpdatedAt.After(b.UpdatedAt) || a.UpdatedAt.Equal(b.UpdatedAt) && a.ID >= b.ID {
			t.Fatalf("contacts %d and %d out of (updated_at, id) order: %s %s, %s %s", i-1, i, a.UpdatedAt, a.ID, b.UpdatedAt, b.ID)
		}
		byID = byID && a.ID < b.ID
	}
	if byID {
		t.Error("generated contacts are in id order too; the cursor would not be tested against id paging")
	}
}

func TestContactsPagingWhileChanging(t *testing.T) {
	s := New(Options{Contacts: 100, Companies: 5, Seed: 4})
	c := serve(t, s)
	before := s.Contacts()

	var p contactsPage
	var seen []string
	c.getJSON("/contacts?limit=10", &p)
	seen = append(seen, contactIDs(p.Data)...)
	c.getJSON("/contacts?limit=10&cursor="+p.NextCursor, &p)
	seen = append(seen, contactIDs(p.Data)...)

	// Between pages: update a contact already seen and one not yet seen, delete one not yet
	// seen, and add one.
	seenUpdated, unseenUpdated, unseenDeleted := before[3], before[50], before[60]
	for _, id := range []string{seenUpdated.ID, unseenUpdated.ID} {
		if r := c.do("PUT", "/admin/contacts/"+id, Contact{FirstName: "Changed"}); r.status != http.StatusOK {
			t.Fatalf("put %s: status %d, body %s", id, r.status, r.body)
		}
	}
	if err := s.DeleteContact(unseenDeleted.ID); err != nil {
		t.Fatal(err)
	}
	res, err := s.Mutate(Mutation{Model: ModelContacts, Add: 1})
	if err != nil {
		t.Fatal(err)
	}

	rest, _ := c.pageAll("/contacts?limit=10&cursor=" + p.NextCursor)
	seen = append(seen, contactIDs(rest)...)

	count := map[string]int{}
	for _, id := range seen {
		count[id]++
	}
	for _, ct := range s.Contacts() {
		want := 1
		if ct.ID == seenUpdated.ID {
			want = 2 // once before the change, once after
		}
		if count[ct.ID] != want {
			t.Errorf("contact %s seen %d times, want %d", ct.ID, count[ct.ID], want)
		}
		delete(count, ct.ID)
	}
	if count[unseenDeleted.ID] != 0 || len(count) != 0 {
		t.Errorf("seen contacts that no longer exist: %v (deleted before being reached: %s)", count, unseenDeleted.ID)
	}
	if last := seen[len(seen)-1]; last != res.Added[0] {
		t.Errorf("last contact served = %s, want the one added during paging, %s", last, res.Added[0])
	}
}

func TestContactsUpdatedAfter(t *testing.T) {
	s := New(Options{Contacts: 50, Companies: 5, Seed: 6})
	c := serve(t, s)
	before := s.Contacts()
	t0 := before[len(before)-1].UpdatedAt

	res, err := s.Mutate(Mutation{Model: ModelContacts, Add: 2, Update: 3, Delete: 1})
	if err != nil {
		t.Fatal(err)
	}
	changed := append(slices.Clone(res.Updated), res.Added...)

	since := func(t time.Time) string {
		return "/contacts?updated_after=" + url.QueryEscape(t.Format(time.RFC3339Nano))
	}
	got, _ := c.pageAll(since(t0))
	if !slices.Equal(contactIDs(got), changed) {
		t.Fatalf("updated after the last change = %v, want exactly the changed %v", contactIDs(got), changed)
	}
	for i, ct := range got {
		if !ct.UpdatedAt.After(t0) || i > 0 && !ct.UpdatedAt.After(got[i-1].UpdatedAt) {
			t.Errorf("contact %s: updated_at %s is not after the previous change", ct.ID, ct.UpdatedAt)
		}
	}

	// The filter is strict: a client that stores the updated_at of the last contact it saw
	// and asks for what came after never sees that contact again.
	got2, _ := c.pageAll(since(got[1].UpdatedAt) + "&limit=1")
	if !slices.Equal(contactIDs(got2), changed[2:]) {
		t.Errorf("updated after %s = %v, want %v", got[1].UpdatedAt, contactIDs(got2), changed[2:])
	}
	var p contactsPage
	c.getJSON(since(got[len(got)-1].UpdatedAt), &p)
	if len(p.Data) != 0 || p.NextCursor != "" {
		t.Errorf("updated after the newest change: %d contacts, next %q; want none", len(p.Data), p.NextCursor)
	}
	// RFC 3339 without fractional seconds works too.
	all, _ := c.pageAll("/contacts?limit=1000&updated_after=2000-01-01T00:00:00Z")
	if len(all) != 51 {
		t.Errorf("updated after 2000: %d contacts, want all 51", len(all))
	}
}

func TestClockNeverRepeatsOrGoesBack(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
	}{
		{"wall clock stopped in the past", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"wall clock stopped now", time.Now()},
		{"wall clock in another zone", time.Now().In(time.FixedZone("X", 5*3600))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Contacts: 10, Companies: 2, Now: fixedClock(tt.now)})
			last := s.Contacts()[9].UpdatedAt
			for i := range 5 {
				got, _, err := s.PutContact(Contact{ID: fmt.Sprint("x", i%2)})
				if err != nil {
					t.Fatal(err)
				}
				if !got.UpdatedAt.After(last) || got.UpdatedAt.Location() != time.UTC {
					t.Fatalf("change %d at %s, want a UTC time after %s", i, got.UpdatedAt, last)
				}
				last = got.UpdatedAt
			}
			if err := s.DeleteContact("x0"); err != nil {
				t.Fatal(err)
			}
			if d := s.DeletedContacts(time.Time{}); !d[0].DeletedAt.After(last) {
				t.Errorf("deletion at %s, want after %s", d[0].DeletedAt, last)
			}
		})
	}
}

func TestDeletionFeed(t *testing.T) {
	s := New(Options{Contacts: 20, Companies: 2, Seed: 8})
	c := serve(t, s)
	feed := func(query string) []Deletion {
		var body struct {
			Data []Deletion `json:"data"`
		}
		c.getJSON("/contacts/deleted"+query, &body)
		return body.Data
	}
	if d := feed(""); d == nil || len(d) != 0 {
		t.Fatalf("feed before deletions = %v, want []", d)
	}

	res, err := s.Mutate(Mutation{Model: ModelContacts, Delete: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.do("DELETE", "/admin/contacts/c-000003", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: status %d, body %s", r.status, r.body)
	}
	if r := c.do("DELETE", "/admin/contacts/c-000003", nil); r.status != http.StatusNotFound {
		t.Fatalf("delete again: status %d, want 404", r.status)
	}

	all := feed("")
	wantIDs := append(slices.Clone(res.Deleted), "c-000003")
	if !slices.Equal(deletionIDs(all), wantIDs) {
		t.Fatalf("feed = %v, want %v", deletionIDs(all), wantIDs)
	}
	at := func(d Deletion) string { return url.QueryEscape(d.DeletedAt.Format(time.RFC3339Nano)) }
	if got := deletionIDs(feed("?since=" + at(all[0]))); !slices.Equal(got, wantIDs[1:]) {
		t.Errorf("feed since the first deletion = %v, want %v", got, wantIDs[1:])
	}
	if got := feed("?since=" + at(all[2])); len(got) != 0 {
		t.Errorf("feed since the last deletion = %v, want none", got)
	}
	for _, ct := range s.Contacts() {
		if slices.Contains(wantIDs, ct.ID) {
			t.Errorf("deleted contact %s is still served", ct.ID)
		}
	}

	// A contact created again leaves the feed, so a client applying the feed after the
	// contacts does not delete it.
	if r := c.do("PUT", "/admin/contacts/c-000003", Contact{FirstName: "Back"}); r.status != http.StatusCreated {
		t.Fatalf("recreate: status %d, body %s", r.status, r.body)
	}
	if got := deletionIDs(feed("")); !slices.Equal(got, res.Deleted) {
		t.Errorf("feed after recreating c-000003 = %v, want %v", got, res.Deleted)
	}
}

func TestGeneratedRecordSize(t *testing.T) {
	s := New(Options{Contacts: 2000, Companies: 50, Seed: 11})
	if _, err := s.Mutate(Mutation{Model: ModelContacts, Add: 10, Update: 10}); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.contacts {
		if len(e.json) != recordSize {
			t.Fatalf("contact %s: %d bytes of JSON, want %d", e.c.ID, len(e.json), recordSize)
		}
		want, err := json.Marshal(e.c)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.json) != string(want) {
			t.Fatalf("contact %s: cached JSON\n%s\ndiffers from json.Marshal\n%s", e.c.ID, e.json, want)
		}
	}
}

func TestAppendContactJSONMatchesEncodingJSON(t *testing.T) {
	base := Contact{ID: "c-1", Tags: []string{"a"}, CreatedAt: genesis, UpdatedAt: genesis.Add(1500 * time.Microsecond)}
	tests := []struct {
		name   string
		change func(*Contact)
	}{
		{"plain", func(*Contact) {}},
		{"nil tags", func(c *Contact) { c.Tags = nil }},
		{"empty tags", func(c *Contact) { c.Tags = []string{} }},
		{"quotes and backslashes", func(c *Contact) { c.Notes = `say "hi" \ bye` }},
		{"html", func(c *Contact) { c.Title = "<b>R&D</b>" }},
		{"control characters", func(c *Contact) { c.Notes = "line\nnext\ttab\x01" }},
		{"unicode", func(c *Contact) { c.LastName = "Gödel 🚀 \u2028" }},
		{"invalid utf-8", func(c *Contact) { c.Email = "a\xffb" }},
		{"nanoseconds", func(c *Contact) { c.CreatedAt = genesis.Add(123456789) }},
		{"zero time", func(c *Contact) { c.CreatedAt = time.Time{} }},
		{"other zone", func(c *Contact) { c.UpdatedAt = genesis.In(time.FixedZone("", -7*3600)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cloneContact(base)
			tt.change(&c)
			want, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendContactJSON(nil, &c); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestConcurrentPagingAndChanges pages through the contacts from several goroutines while
// others change them; run it with -race. Each pass must serve contacts in strictly
// increasing (updated_at, id) order: the cursor never goes back, whatever changes.
func TestConcurrentPagingAndChanges(t *testing.T) {
	s := New(Options{Contacts: 300, Companies: 10, Seed: 12})
	c := serve(t, s)
	done := make(chan struct{})
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.Mutate(Mutation{Model: ModelContacts, Add: 1, Update: 2, Delete: 1}); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := s.PutContact(Contact{ID: fmt.Sprintf("w%d-%d", w, i%5)}); err != nil {
					t.Error(err)
					return
				}
				_ = s.Stats()
			}
		})
	}
	for range 4 {
		readers.Go(func() {
			for range 3 {
				seen, _ := c.pageAll("/contacts?limit=37")
				for i := 1; i < len(seen); i++ {
					a, b := seen[i-1], seen[i]
					if a.UpdatedAt.After(b.UpdatedAt) || a.UpdatedAt.Equal(b.UpdatedAt) && a.ID >= b.ID {
						t.Errorf("served %s (%s) after %s (%s)", b.ID, b.UpdatedAt, a.ID, a.UpdatedAt)
						return
					}
				}
			}
		})
	}
	readers.Wait()
	close(done)
	writers.Wait()
}
