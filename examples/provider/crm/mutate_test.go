package crm

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestMutatePicks(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		m    Mutation
		want MutationResult
	}{
		{
			name: "contacts",
			opts: Options{Contacts: 30, Companies: 5},
			m:    Mutation{Model: ModelContacts, Add: 3, Update: 4, Delete: 2},
			want: MutationResult{
				Added:   []string{"c-000031", "c-000032", "c-000033"},
				Updated: []string{"c-000001", "c-000002", "c-000003", "c-000004"},
				Deleted: []string{"c-000029", "c-000030"},
			},
		},
		{
			name: "companies",
			opts: Options{Contacts: 1, Companies: 5},
			m:    Mutation{Model: ModelCompanies, Add: 1, Update: 2, Delete: 1},
			want: MutationResult{
				Added:   []string{"co-0006"},
				Updated: []string{"co-0001", "co-0002"},
				Deleted: []string{"co-0005"},
			},
		},
		{
			name: "counts capped at the records available",
			opts: Options{Contacts: 5},
			m:    Mutation{Model: ModelContacts, Update: 10, Delete: 2},
			want: MutationResult{
				Added:   []string{},
				Updated: []string{"c-000001", "c-000002", "c-000003"},
				Deleted: []string{"c-000004", "c-000005"},
			},
		},
		{
			name: "nothing to change",
			opts: Options{},
			m:    Mutation{Model: ModelCompanies, Update: 1, Delete: 1},
			want: MutationResult{Added: []string{}, Updated: []string{}, Deleted: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(tt.opts).Mutate(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Added, tt.want.Added) || !slices.Equal(got.Updated, tt.want.Updated) ||
				!slices.Equal(got.Deleted, tt.want.Deleted) || got.Added == nil || got.Updated == nil || got.Deleted == nil {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMutateNeverReusesIDs(t *testing.T) {
	s := New(Options{Contacts: 3, Companies: 3})
	for _, m := range []Mutation{
		{Model: ModelContacts, Delete: 1}, // c-000003
		{Model: ModelCompanies, Delete: 1},
	} {
		if _, err := s.Mutate(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.PutContact(Contact{ID: "c-000010"}); err != nil {
		t.Fatal(err)
	}
	contacts, err := s.Mutate(Mutation{Model: ModelContacts, Add: 1})
	if err != nil {
		t.Fatal(err)
	}
	companies, err := s.Mutate(Mutation{Model: ModelCompanies, Add: 1})
	if err != nil {
		t.Fatal(err)
	}
	if contacts.Added[0] != "c-000011" || companies.Added[0] != "co-0004" {
		t.Errorf("added %s and %s, want c-000011 (after the put c-000010) and co-0004 (after the deleted co-0003)",
			contacts.Added[0], companies.Added[0])
	}
}

func TestMutateDeterminism(t *testing.T) {
	opts := Options{Contacts: 40, Companies: 6, Seed: 7}
	mutations := []Mutation{
		{Model: ModelContacts, Add: 3, Update: 4, Delete: 2},
		{Model: ModelCompanies, Add: 2, Update: 2, Delete: 1},
		{Model: ModelContacts, Add: 1, Update: 10},
	}
	run := func(now time.Time) (*Server, []MutationResult) {
		s := New(Options{Contacts: opts.Contacts, Companies: opts.Companies, Seed: opts.Seed, Now: fixedClock(now)})
		var results []MutationResult
		for _, m := range mutations {
			res, err := s.Mutate(m)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
		return s, results
	}
	// Two servers whose wall clocks differ: content must match, times may not.
	a, resA := run(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	b, resB := run(time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC))
	if ja, jb := mustJSON(t, resA), mustJSON(t, resB); ja != jb {
		t.Fatalf("results differ:\n%s\n%s", ja, jb)
	}
	withoutTimes := func(s *Server) (string, string) {
		contacts := s.Contacts()
		slices.SortFunc(contacts, func(x, y Contact) int { return cmp.Compare(x.ID, y.ID) })
		for i := range contacts {
			contacts[i].CreatedAt, contacts[i].UpdatedAt = time.Time{}, time.Time{}
			contacts[i].Notes = "" // padding depends on the length of the times
		}
		companies := s.Companies()
		for i := range companies {
			companies[i].UpdatedAt = time.Time{}
		}
		return mustJSON(t, contacts), mustJSON(t, companies)
	}
	ca, coa := withoutTimes(a)
	cb, cob := withoutTimes(b)
	if ca != cb || coa != cob {
		t.Error("the same mutations on the same seed gave different content")
	}

	// Generated data does not depend on the clock at all, and does depend on the seed.
	first := mustJSON(t, New(opts).Contacts())
	if again := mustJSON(t, New(Options{Contacts: 40, Companies: 6, Seed: 7, Now: fixedClock(time.Time{})}).Contacts()); again != first {
		t.Error("the same seed generated different contacts")
	}
	if other := mustJSON(t, New(Options{Contacts: 40, Companies: 6, Seed: 8}).Contacts()); other == first {
		t.Error("different seeds generated the same contacts")
	}
}

func TestMutateOverHTTP(t *testing.T) {
	s := New(Options{Contacts: 10, Companies: 2, Seed: 3})
	c := serve(t, s)
	r := c.do("POST", "/admin/mutate", `{"model":"contacts","add":1,"update":2,"delete":1}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var got MutationResult
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := MutationResult{Added: []string{"c-000011"}, Updated: []string{"c-000001", "c-000002"}, Deleted: []string{"c-000010"}}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("got %s, want %s", r.body, mustJSON(t, want))
	}
	var st Stats
	c.getJSON("/admin/stats", &st)
	if st.Contacts != 10 || st.Companies != 2 {
		t.Errorf("stats = %+v, want 10 contacts and 2 companies", st)
	}

	_, err := s.Mutate(Mutation{Model: "deals"})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown model: err = %v, want ErrInvalid", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
