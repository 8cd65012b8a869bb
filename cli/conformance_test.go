package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
)

// examplePlugins are the example plugins that implement the same syncs, in Go (Ferry's ABI),
// Rust (Ferry's ABI) and AssemblyScript (Extism's ABI), with their integration ids.
var examplePlugins = []struct{ dir, integration string }{
	{"../examples/crm-go", "crm"},
	{"../examples/crm-rust", "crm-rust"},
	{"../examples/crm-assemblyscript", "crm-assemblyscript"},
}

// syncOf runs a sync of an integration's acme connection and returns its counts per model.
func (e *e2e) syncOf(integration, sync string) map[string]map[string]int {
	e.t.Helper()
	out := e.ferry(false, "sync", "trigger", integration, "acme", sync, "--wait")
	id := strings.Fields(out)[1]
	var run struct {
		Counts map[string]map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(e.ferry(false, "runs", "show", id)), &run); err != nil {
		e.t.Fatal(err)
	}
	return run.Counts
}

// recordsOf returns an integration's records of a model, without _ferry, by id.
func (e *e2e) recordsOf(integration, model string) map[string]map[string]any {
	e.t.Helper()
	out := e.ferry(false, "records", integration, "acme", model, "--all", "--limit", "1000")
	recs := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			e.t.Fatal(err)
		}
		meta := r["_ferry"].(map[string]any)
		delete(r, "_ferry")
		r["last_action"] = meta["last_action"]
		recs[r["id"].(string)] = r
	}
	return recs
}

func (e *e2e) checkpointOf(integration, sync string) any {
	e.t.Helper()
	var st struct {
		Checkpoint any `json:"checkpoint"`
	}
	if err := json.Unmarshal([]byte(e.ferry(false, "sync", "status", integration, "acme", sync)), &st); err != nil {
		e.t.Fatal(err)
	}
	return st.Checkpoint
}

// The example plugins in every language behave the same: same records, counts and
// checkpoints, before and after the provider's data changes, and the same action outputs.
func TestConformance(t *testing.T) {
	for _, p := range examplePlugins {
		if _, err := os.Stat(p.dir + "/plugin.wasm"); err != nil {
			t.Fatalf("%s is not built (run `make build` first): %v", p.dir, err)
		}
	}
	e := startE2E(t, 2500, 130)
	for _, p := range examplePlugins {
		e.ferry(false, "deploy", p.dir)
		e.ferry(false, "connection", "put", p.integration, "acme", "--cred", "token=demo-token", "--base-url", e.provURL)
	}
	compare := func(stage string) {
		t.Helper()
		for _, sync := range []string{"contacts", "companies"} {
			counts := map[string]map[string]map[string]int{}
			for _, p := range examplePlugins {
				counts[p.integration] = e.syncOf(p.integration, sync)
			}
			for _, p := range examplePlugins[1:] {
				if !reflect.DeepEqual(counts[p.integration], counts["crm"]) {
					t.Errorf("%s %s counts: %s %v, crm-go %v", stage, sync, p.integration, counts[p.integration], counts["crm"])
				}
				if a, b := e.checkpointOf(p.integration, sync), e.checkpointOf("crm", sync); !reflect.DeepEqual(a, b) {
					t.Errorf("%s %s checkpoint: %s %v, crm-go %v", stage, sync, p.integration, a, b)
				}
			}
		}
		for _, model := range []string{"Contact", "Company"} {
			want := e.recordsOf("crm", model)
			for _, p := range examplePlugins[1:] {
				got := e.recordsOf(p.integration, model)
				if len(got) != len(want) {
					t.Errorf("%s %s: %s has %d records, crm-go %d", stage, model, p.integration, len(got), len(want))
					continue
				}
				for id, r := range want {
					if !reflect.DeepEqual(got[id], r) {
						t.Errorf("%s %s %s: %s has %v, crm-go %v", stage, model, id, p.integration, got[id], r)
						break
					}
				}
			}
		}
	}
	compare("initial")
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 7, Update: 11, Delete: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelCompanies, Add: 2, Update: 3, Delete: 4}); err != nil {
		t.Fatal(err)
	}
	compare("after changes")

	e.actionsAndWebhooks()
}

// actionsAndWebhooks checks the plugins' actions and webhook handlers against each other and
// the provider, after the syncs have filled their caches (each cache is then the provider's
// contacts exactly). The provider sends its webhook events to a recorder from the start, so
// every change the actions and a later mutation make arrives as an event; each event is then
// posted, as the provider sent it, to every plugin's inbound hook.
func (e *e2e) actionsAndWebhooks() {
	t := e.t
	t.Helper()
	const hookSecret = "conformance-webhook-secret"
	for _, p := range examplePlugins {
		e.ferry(false, "connection", "put", p.integration, "acme",
			"--metadata", `{"field_mapping":{"company":"title"}}`, "--webhook-secret", hookSecret)
	}
	events := newEventRecorder(t)
	if err := e.provider.SetWebhook(crm.Webhook{URL: events.url, Secret: hookSecret}); err != nil {
		t.Fatal(err)
	}
	// action runs an action and returns its output, decoded and as the CLI printed it (whose
	// bytes, key order included, must not depend on the plugin's language).
	action := func(integration, name, input string) (map[string]any, string) {
		t.Helper()
		out := e.ferry(false, "action", integration, "acme", name, "--input", input)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s output %q: %v", integration, name, out, err)
		}
		return m, out
	}
	contactInput := func(email, appID string) string {
		return fmt.Sprintf(`{"email":%q,"first_name":"Ada","company":"Analytical Engines","app_id":%q}`, email, appID)
	}

	// create-contact: each plugin creates a contact, which the others then find by its email
	// (and link to the same app id) instead of creating another.
	ids := map[string]string{} // creating integration -> the contact's provider id
	for _, p := range examplePlugins {
		email, appID := "conformance-"+p.integration+"@example.com", "app-"+p.integration
		first, _ := action(p.integration, "create-contact", contactInput(email, appID))
		id, _ := first["id"].(string)
		if first["created"] != true || id == "" || len(first) != 2 {
			t.Fatalf("%s create-contact %s: %v, want {created: true, id}", p.integration, email, first)
		}
		ids[p.integration] = id
		found := ""
		for _, q := range examplePlugins {
			if q == p {
				continue
			}
			got, out := action(q.integration, "create-contact", contactInput(email, appID))
			if want := map[string]any{"created": false, "id": id}; !reflect.DeepEqual(got, want) {
				t.Errorf("%s create-contact %s after %s: %v, want %v", q.integration, email, p.integration, got, want)
			}
			if found != "" && out != found {
				t.Errorf("create-contact %s outputs differ: %s, %s", email, found, out)
			}
			found = out
		}
		// The metadata's field mapping sent the input's company as the provider's title.
		if c := e.providerContact(id); c["title"] != "Analytical Engines" || c["first_name"] != "Ada" || c["email"] != email {
			t.Errorf("%s created %v", p.integration, c)
		}
	}
	// Every plugin saved the three contacts as the provider has them, and linked them.
	for _, p := range examplePlugins {
		recs := e.recordsOf(p.integration, "Contact")
		for creator, id := range ids {
			want := e.providerContact(id)
			want["last_action"] = "added"
			if !reflect.DeepEqual(recs[id], want) {
				t.Errorf("%s record of the contact %s created: %v, want %v", p.integration, creator, recs[id], want)
			}
			var link struct {
				ExternalID string `json:"external_id"`
			}
			out := e.ferry(false, "links", "get", p.integration, "acme", "Contact", "app-"+creator)
			if err := json.Unmarshal([]byte(out), &link); err != nil || link.ExternalID != id {
				t.Errorf("%s link of app-%s: %s (%v), want external id %s", p.integration, creator, out, err, id)
			}
		}
	}

	// update-contact: every plugin changes the contact linked to app-crm with the same input,
	// answers the same output and saves what the provider answered it.
	id, updated := ids["crm"], ""
	for _, p := range examplePlugins {
		got, out := action(p.integration, "update-contact", `{"app_id":"app-crm","last_name":"Lovelace","company":"Engines Ltd"}`)
		if want := map[string]any{"id": id, "updated": true}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s update-contact: %v, want %v", p.integration, got, want)
		}
		if updated != "" && out != updated {
			t.Errorf("update-contact outputs differ: %s, %s", updated, out)
		}
		updated = out
		want := e.providerContact(id)
		if want["last_name"] != "Lovelace" || want["title"] != "Engines Ltd" || want["first_name"] != "Ada" {
			t.Errorf("%s update-contact: the provider has %v", p.integration, want)
		}
		want["last_action"] = "updated"
		if got := e.recordsOf(p.integration, "Contact")[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s update-contact saved %v, want %v", p.integration, got, want)
		}
		// Without a link, every plugin fails the same way.
		out = e.ferry(true, "action", p.integration, "acme", "update-contact", "--input", `{"app_id":"nobody","last_name":"X"}`)
		if !strings.Contains(out, `update-contact: no Contact is linked to app id "nobody": create it with create-contact`) {
			t.Errorf("%s update-contact without a link: %s", p.integration, out)
		}
	}

	// The webhook handlers: the provider's events for the changes above and for a mutation,
	// in the order it sent them, then two of the test's own.
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 4, Update: 5, Delete: 3}); err != nil {
		t.Fatal(err)
	}
	sent := events.wait(t, e.provider, 3+3+4+5+3) // created, updated (once per plugin), then the mutation's
	for _, ev := range sent {
		for _, p := range examplePlugins {
			if status, body := e.postHook(p.integration, ev.body, ev.signature); status != http.StatusNoContent {
				t.Fatalf("%s hook: event %s: status %d: %s", p.integration, ev.body, status, body)
			}
		}
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"type":"contact.merged","id":"c-1"}`, http.StatusNoContent}, // ignored
		{`{"type":"contact.created"}`, http.StatusUnprocessableEntity}, // no contact: failed, so the provider retries
	} {
		for _, p := range examplePlugins {
			if status, body := e.postHook(p.integration, []byte(tc.body), crm.Sign([]byte(hookSecret), []byte(tc.body))); status != tc.status {
				t.Errorf("%s hook: event %s: status %d, want %d: %s", p.integration, tc.body, status, tc.status, body)
			}
		}
	}
	// Every cache is the provider's contacts again, with the same actions recorded.
	want := map[string]map[string]any{}
	for _, c := range e.provider.Contacts() {
		want[c.ID] = asJSON(t, c)
	}
	caches := map[string]map[string]map[string]any{}
	for _, p := range examplePlugins {
		caches[p.integration] = e.recordsOf(p.integration, "Contact")
		live, wrong := 0, 0
		for id, r := range caches[p.integration] {
			if r["last_action"] == "deleted" {
				if _, ok := want[id]; ok {
					t.Errorf("%s after the webhooks: %s deleted, the provider has it", p.integration, id)
				}
				continue
			}
			live++
			got := maps.Clone(r)
			delete(got, "last_action")
			if !reflect.DeepEqual(got, want[id]) {
				if wrong++; wrong == 1 {
					t.Errorf("%s after the webhooks: %s is %v, the provider has %v", p.integration, id, got, want[id])
				}
			}
		}
		if wrong > 1 {
			t.Errorf("%s after the webhooks: %d contacts differ from the provider's", p.integration, wrong)
		}
		if live != len(want) {
			t.Errorf("%s after the webhooks: %d live contacts, the provider has %d", p.integration, live, len(want))
		}
	}
	for _, p := range examplePlugins[1:] {
		if !reflect.DeepEqual(caches[p.integration], caches["crm"]) {
			t.Errorf("after the webhooks: the contacts of %s and crm-go differ", p.integration)
		}
	}
}

// providerContact returns the provider's contact with the given id as JSON.
func (e *e2e) providerContact(id string) map[string]any {
	e.t.Helper()
	for _, c := range e.provider.Contacts() {
		if c.ID == id {
			return asJSON(e.t, c)
		}
	}
	e.t.Fatalf("the provider has no contact %s", id)
	return nil
}

// postHook posts body with the provider's signature header to an integration's inbound hook
// for the acme connection, and returns the response's status and body.
func (e *e2e) postHook(integration string, body []byte, signature string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/v1/hooks/"+integration+"/acme", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(crm.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// providerEvent is a webhook event the provider sent: its body and signature header.
type providerEvent struct {
	body      []byte
	signature string
}

// eventRecorder is the provider's webhook receiver: it keeps each event in the order it
// arrived (the provider sends them one at a time, in change order).
type eventRecorder struct {
	url    string
	mu     sync.Mutex
	events []providerEvent
}

func newEventRecorder(t *testing.T) *eventRecorder {
	rec := &eventRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.events = append(rec.events, providerEvent{body: body, signature: r.Header.Get(crm.SignatureHeader)})
		rec.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

// wait returns the events once the provider has sent them all, and fails the test unless
// there are n.
func (rec *eventRecorder) wait(t *testing.T, p *crm.Server, n int) []providerEvent {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); p.Stats().WebhooksPending > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if st := p.Stats(); st.WebhooksPending > 0 || st.WebhooksFailed > 0 || len(rec.events) != n {
		t.Fatalf("the provider sent %d webhook events, want %d (stats %+v)", len(rec.events), n, st)
	}
	return slices.Clone(rec.events)
}
