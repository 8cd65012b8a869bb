//go:build !wasip1

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/sdk-guest/go/ferrytest"
)

// These tests run the built plugin (plugin.wasm: build it first) with `ferry dryrun`, against
// HTTP exchanges recorded from the example provider (examples/provider, seed 1, 30 contacts,
// 150 companies, on its default address, which ferry.yaml names):
//
//	ferry dryrun . contacts --cred token=demo-token --record testdata/exchanges/contacts-initial
//	ferry dryrun . companies --cred token=demo-token --record testdata/exchanges/companies
//	# then POST /admin/mutate {"model":"contacts","add":2,"update":3,"delete":1}, and:
//	ferry dryrun . contacts --cred token=demo-token --record testdata/exchanges/contacts-incremental \
//		--checkpoint '{"updated_after":"2024-02-29T15:32:44.517381Z","cursor":""}'
//
// They need the ferry binary: FERRY_BIN, or ferry on PATH (`make test` sets FERRY_BIN).

func TestContactsFirstRun(t *testing.T) {
	res := ferrytest.DryRun(t, ".", "contacts", ferrytest.Options{Replay: "testdata/exchanges/contacts-initial"})
	if got := res.Counts["Contact"]; got != (ferrytest.Counts{Added: 30}) {
		t.Errorf("counts %+v, want 30 added", got)
	}
	var contacts []Contact
	res.Decode(t, "Contact", &contacts)
	if len(contacts) != 30 {
		t.Fatalf("%d contacts, want 30", len(contacts))
	}
	// The provider lists contacts by updated_at, and the cache keeps them in the order saved.
	first := contacts[0]
	if first.ID != "c-000023" || first.Email != "grace.liskov.23@northwindbeacon7.example" || first.Address.City != "Berlin" {
		t.Errorf("first contact %+v", first)
	}
	if !slices.IsSortedFunc(contacts, func(a, b Contact) int { return a.UpdatedAt.Compare(b.UpdatedAt) }) {
		t.Error("contacts not saved in updated_at order")
	}
	var cp contactsCheckpoint
	res.DecodeCheckpoint(t, &cp)
	want := contactsCheckpoint{UpdatedAfter: "2024-02-29T15:32:44.517381Z"}
	if cp != want {
		t.Errorf("checkpoint %+v, want %+v: the newest updated_at, no listing in progress", cp, want)
	}
	// A first run has nothing cached that could have been deleted: no deletion feed.
	if res.Requests != 1 {
		t.Errorf("%d requests, want 1 page and no deletion feed", res.Requests)
	}
}

func TestContactsIncrementalRun(t *testing.T) {
	res := ferrytest.DryRun(t, ".", "contacts", ferrytest.Options{
		Replay:     "testdata/exchanges/contacts-incremental",
		Checkpoint: contactsCheckpoint{UpdatedAfter: "2024-02-29T15:32:44.517381Z"},
	})
	// Two contacts added and three updated since the checkpoint; the dry run's store is empty,
	// so all five count as added.
	if got, want := res.IDs("Contact"), []string{"c-000001", "c-000002", "c-000003", "c-000031", "c-000032"}; !slices.Equal(got, want) {
		t.Errorf("contacts %v, want %v", got, want)
	}
	if got := res.Counts["Contact"]; got != (ferrytest.Counts{Added: 5}) {
		t.Errorf("counts %+v", got)
	}
	var fedDeletions bool
	for _, e := range res.Log {
		if e.HTTP != nil && strings.HasPrefix(e.HTTP.URL, "/contacts/deleted?since=2024-02-29T15") && e.HTTP.Status == 200 {
			fedDeletions = true
		}
	}
	if !fedDeletions {
		t.Error("the run did not read the deletion feed since its checkpoint")
	}
	var cp contactsCheckpoint
	res.DecodeCheckpoint(t, &cp)
	if cp.UpdatedAfter <= "2024-02-29T15:32:44.517381Z" || cp.Cursor != "" {
		t.Errorf("checkpoint %+v did not move past the changes", cp)
	}
}

func TestCompaniesFullRun(t *testing.T) {
	res := ferrytest.DryRun(t, ".", "companies", ferrytest.Options{Replay: "testdata/exchanges/companies"})
	var companies []Company
	res.Decode(t, "Company", &companies)
	if len(companies) != 150 || companies[0].ID != "co-0001" || companies[149].ID != "co-0150" {
		t.Fatalf("%d companies from %v: want co-0001 to co-0150", len(companies), res.IDs("Company")[:1])
	}
	if companies[0].Name != "Harbor Atlas Labs" || companies[0].Employees != 11114 {
		t.Errorf("first company %+v", companies[0])
	}
	// Two pages, the second reached through the Link header's absolute URL.
	if res.Requests != 2 || res.Counts["Company"] != (ferrytest.Counts{Added: 150}) {
		t.Errorf("%d requests, counts %+v", res.Requests, res.Counts["Company"])
	}
}

func TestReplayRefusesAnUnrecordedRequest(t *testing.T) {
	// The first run's recording has no deletion feed, which a run from a checkpoint reads.
	res := ferrytest.DryRun(t, ".", "contacts", ferrytest.Options{
		Replay:       "testdata/exchanges/contacts-initial",
		Checkpoint:   contactsCheckpoint{UpdatedAfter: "2024-02-29T15:32:44.517381Z"},
		AllowFailure: true,
	})
	if res.Status != "failed" || !strings.Contains(res.Error, "GET /contacts") || !strings.Contains(res.Error, "not recorded") {
		t.Errorf("status %s, error %q: want a failure naming the unrecorded request", res.Status, res.Error)
	}
}
