package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/internal/logbuf"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/server"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/webhooks"
)

// Secrets of the two-way tests: the provider signs its webhooks to Ferry with the first (the
// connection's webhook secret), Ferry signs its webhooks to the app with the second.
const (
	providerHookSecret = "provider-whsec-5b1e0c9d7a3f4e21"
	appHookSecret      = "app-whsec-0123456789abcdef0123"
)

// twoWay is the whole two-way path on loopback: a started Ferry server (runner, scheduler and
// webhook sender running, real worker processes) with the example Go plugin deployed as
// integration crm, the example provider, connection acme to it with the provider's webhook
// secret, and the app's webhook receiver.
type twoWay struct {
	*testServer
	provider *crm.Server
	app      *appReceiver
}

// newTwoWay starts it all, with the provider holding the given number of generated contacts
// and connection acme the given metadata (a JSON object). Neither webhook is set yet.
func newTwoWay(t *testing.T, contacts int, metadata string) *twoWay {
	t.Helper()
	dir := filepath.Join("..", "examples", "crm-go")
	manifest, err := os.ReadFile(filepath.Join(dir, "ferry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "plugin.wasm"))
	if err != nil {
		t.Fatalf("the example plugin is not built (run `make build` first): %v", err)
	}

	app := &appReceiver{secret: []byte(appHookSecret), events: map[string]webhooks.Event{}, bodies: map[string]json.RawMessage{}}
	appServer := httptest.NewServer(app)
	t.Cleanup(appServer.Close)
	app.url = appServer.URL + "/ferry-hook"

	logs := &logbuf.Buffer{}
	data := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: data, CacheDir: worker.CacheDir, Workers: 1, WorkerCommand: []string{worker.Bin, "worker"},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	// Registered last, so stopped first: the provider sends nothing to a closed server.
	p := crm.New(crm.Options{Contacts: contacts, Seed: 11})
	ps := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Close()
		ps.Close()
	})

	w := &twoWay{testServer: &testServer{Server: hs, key: srv.APIKey, data: data}, provider: p, app: app}
	if status, body := w.deploy(t, manifest, wasm); status != http.StatusCreated {
		t.Fatalf("deploy crm-go: %d %s", status, body)
	}
	conn := fmt.Sprintf(`{"credentials":{"token":%q},"base_url":%q,"webhook_secret":%q,"metadata":%s}`,
		crm.DefaultToken, ps.URL, providerHookSecret, metadata)
	if status, body := w.json(t, "PUT", "/v1/connections/crm/acme", conn); status != http.StatusCreated {
		t.Fatalf("connect acme: %d %s", status, body)
	}
	return w
}

// listen points Ferry's outbound webhooks at the app's receiver.
func (w *twoWay) listen(t *testing.T) {
	t.Helper()
	body := fmt.Sprintf(`{"url":%q,"secret":%q}`, w.app.url, appHookSecret)
	if status, b := w.json(t, "PUT", "/v1/webhook", body); status != http.StatusOK {
		t.Fatalf("set the app's webhook: %d %s", status, b)
	}
}

// hookProvider points the provider's webhooks at Ferry's inbound hook for acme.
func (w *twoWay) hookProvider(t *testing.T) {
	t.Helper()
	err := w.provider.SetWebhook(crm.Webhook{URL: w.URL + "/v1/hooks/crm/acme", Secret: providerHookSecret})
	if err != nil {
		t.Fatal(err)
	}
}

// sync runs a sync of acme now and returns the finished run, failing the test unless it
// succeeded.
func (w *twoWay) sync(t *testing.T, name string) storage.Run {
	t.Helper()
	status, body := w.json(t, "POST", "/v1/syncs/crm/acme/"+name+"/trigger", "{}")
	var trig struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(body, &trig); status != http.StatusAccepted && status != http.StatusOK || err != nil || trig.RunID == "" {
		t.Fatalf("trigger %s: %d %s", name, status, body)
	}
	var run storage.Run
	waitFor(t, "run "+trig.RunID+" of "+name+" to end", func() bool {
		run = w.run(t, trig.RunID)
		return run.Status != "queued" && run.Status != "running"
	})
	if run.Status != "succeeded" {
		t.Fatalf("sync %s: %s: %s", name, run.Status, run.Error)
	}
	return run
}

// run reads a run by id.
func (w *twoWay) run(t *testing.T, id string) storage.Run {
	t.Helper()
	status, body := w.json(t, "GET", "/v1/runs/"+id, "")
	var run storage.Run
	if err := json.Unmarshal(body, &run); status != http.StatusOK || err != nil {
		t.Fatalf("run %s: %d %s", id, status, body)
	}
	return run
}

// runs lists acme's runs of every kind, newest first.
func (w *twoWay) runs(t *testing.T) []storage.Run {
	t.Helper()
	status, body := w.json(t, "GET", "/v1/runs?integration=crm&connection=acme", "")
	var out struct{ Runs []storage.Run }
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil {
		t.Fatalf("runs: %d %s", status, body)
	}
	return out.Runs
}

// action calls an action of acme and returns its output, failing the test unless it is 200.
func (w *twoWay) action(t *testing.T, name, input string) map[string]any {
	t.Helper()
	status, body := w.json(t, "POST", "/v1/actions/crm/acme/"+name, input)
	var out map[string]any
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil {
		t.Fatalf("action %s %s: %d %s", name, input, status, body)
	}
	return out
}

// cachedContact is a Contact record as Ferry serves it: its content and its _ferry metadata.
type cachedContact struct {
	data map[string]any
	meta records.Meta
}

// contacts reads acme's Contact records, those with the given ids if any, else those after
// cursor (every one if cursor is "").
func (w *twoWay) contacts(t *testing.T, cursor string, ids ...string) []cachedContact {
	t.Helper()
	path := "/v1/records?integration=crm&connection=acme&model=Contact&limit=10000&cursor=" + cursor
	for i, id := range ids {
		if i == 0 {
			path += "&ids=" + id
		} else {
			path += "," + id
		}
	}
	status, body := w.json(t, "GET", path, "")
	var out struct {
		Records    []map[string]any `json:"records"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil || out.NextCursor != "" {
		t.Fatalf("records: %d %.500s", status, body)
	}
	var recs []cachedContact
	for _, r := range out.Records {
		var meta records.Meta
		b, _ := json.Marshal(r["_ferry"])
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatalf("_ferry of %v: %v", r["id"], err)
		}
		delete(r, "_ferry")
		recs = append(recs, cachedContact{data: r, meta: meta})
	}
	return recs
}

// contact reads the cached Contact with the given id, failing the test if there is none.
func (w *twoWay) contact(t *testing.T, id string) cachedContact {
	t.Helper()
	recs := w.contacts(t, "", id)
	if len(recs) != 1 {
		t.Fatalf("cached contact %s: %d records", id, len(recs))
	}
	return recs[0]
}

// providerContact returns the provider's contact with the given id.
func (w *twoWay) providerContact(t *testing.T, id string) crm.Contact {
	t.Helper()
	for _, c := range w.provider.Contacts() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("the provider has no contact %s", id)
	return crm.Contact{}
}

// deliveries lists every webhook delivery Ferry has queued for the app, newest first.
func (w *twoWay) deliveries(t *testing.T) []delivery {
	t.Helper()
	status, body := w.json(t, "GET", "/v1/webhook/deliveries?limit=1000", "")
	var out struct{ Deliveries []delivery }
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil {
		t.Fatalf("deliveries: %d %s", status, body)
	}
	return out.Deliveries
}

// delivery is one outbound webhook as GET /v1/webhook/deliveries shows it.
type delivery struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	RunID  string          `json:"run_id"`
	Status string          `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// asMap round-trips v through JSON, so that it compares with a decoded record.
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// appReceiver is the app's webhook endpoint: it keeps every event whose Ferry signature
// verifies, once per delivery id, and refuses (and counts) the rest.
type appReceiver struct {
	secret []byte
	url    string

	mu     sync.Mutex
	events map[string]webhooks.Event  // by X-Ferry-Delivery
	bodies map[string]json.RawMessage // the same events as sent
	bad    int                        // requests refused
}

func (a *appReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.URL.Path != "/ferry-hook" || !webhooks.Verify(a.secret, body, r.Header.Get("X-Ferry-Signature")) {
		a.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil {
		a.bad++
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("X-Ferry-Delivery")
	a.events[id] = e
	a.bodies[id] = body
	w.WriteHeader(http.StatusNoContent)
}

// received returns the events received so far, by delivery id, and how many requests were
// refused.
func (a *appReceiver) received() (map[string]webhooks.Event, map[string]json.RawMessage, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	events := make(map[string]webhooks.Event, len(a.events))
	bodies := make(map[string]json.RawMessage, len(a.bodies))
	for id, e := range a.events {
		events[id] = e
		bodies[id] = a.bodies[id]
	}
	return events, bodies, a.bad
}

// noChange is the counts of a model that a run fetched n records of and changed none.
func noChange(n int) records.Counts { return records.Counts{Unchanged: n} }

// TestActionWritesAreNotEchoed: a record an action wrote to the provider and saved in the cache
// comes back with the next sync as unchanged, its cursor untouched, and the app is told nothing
// of it (neither by the action nor by the sync). A change made at the provider afterwards is
// news: the next sync updates it and the app is told once, which shows the app would have heard
// of an echo.
func TestActionWritesAreNotEchoed(t *testing.T) {
	w := newTwoWay(t, 20, `{"field_mapping":{"company":"title"}}`)
	if run := w.sync(t, "contacts"); run.Counts["Contact"] != (records.Counts{Added: 20}) {
		t.Fatalf("initial sync: %+v", run.Counts)
	}
	w.listen(t)

	const email = "mary.jackson@nasa.example"
	var id string // the provider's id of the contact, from create-contact's output
	steps := []struct {
		name, action, input string
		wantOut             map[string]any // "id" is filled in from the first step
		lastAction          records.Action // of the cached contact after the action
		written             bool           // whether the action changed the provider's contact
		title               string         // the cached contact's title: the input's company, by the field mapping
	}{
		{"create-contact creates", "create-contact",
			`{"email":"` + email + `","first_name":"Mary","last_name":"Jackson","company":"NASA Langley","app_id":"user-42"}`,
			map[string]any{"created": true}, records.Added, true, "NASA Langley"},
		{"create-contact again finds it", "create-contact",
			`{"email":"` + email + `","first_name":"Mary","last_name":"Jackson","company":"NASA Langley","app_id":"user-42"}`,
			map[string]any{"created": false}, records.Added, false, "NASA Langley"},
		{"update-contact through the link", "update-contact",
			`{"app_id":"user-42","last_name":"Jackson-Smith","company":"NASA Ames"}`,
			map[string]any{"updated": true}, records.Updated, true, "NASA Ames"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out := w.action(t, st.action, st.input)
			if id == "" {
				id, _ = out["id"].(string)
			}
			want := map[string]any{"id": id}
			for k, v := range st.wantOut {
				want[k] = v
			}
			if id == "" || !reflect.DeepEqual(out, want) {
				t.Fatalf("output %v, want %v", out, want)
			}

			// The cache holds what the provider holds, at once.
			before := w.contact(t, id)
			if got, want := before.data, asMap(t, w.providerContact(t, id)); !reflect.DeepEqual(got, want) {
				t.Errorf("cached contact\n%v\nthe provider's\n%v", got, want)
			}
			if before.meta.LastAction != st.lastAction || before.data["title"] != st.title {
				t.Errorf("cached contact: last_action %s, title %v; want %s, %q", before.meta.LastAction, before.data["title"], st.lastAction, st.title)
			}

			// The sync brings the provider's contact back: unchanged.
			run := w.sync(t, "contacts")
			wantCounts := noChange(0)
			if st.written {
				wantCounts = noChange(1) // the incremental sync fetched the contact the action wrote
			}
			if got := run.Counts["Contact"]; got != wantCounts {
				t.Errorf("sync after %s: counts %+v, want %+v", st.action, got, wantCounts)
			}
			if after := w.contact(t, id); after.meta != before.meta || !reflect.DeepEqual(after.data, before.data) {
				t.Errorf("the sync rewrote the contact: _ferry %+v, was %+v", after.meta, before.meta)
			}
			// Neither the action nor the sync queued a webhook for the app: it was told of
			// nothing.
			if ds := w.deliveries(t); len(ds) != 0 {
				t.Errorf("deliveries queued for the app: %+v", ds)
			}
		})
	}
	if t.Failed() {
		return
	}
	status, body := w.json(t, "GET", "/v1/links/crm/acme/Contact/user-42", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"external_id":"`+id+`"`) {
		t.Errorf("link of user-42: %d %s", status, body)
	}

	// A change made at the provider is news: the sync updates the contact and the app hears
	// of it, once.
	notes := "met at the 1958 NACA conference"
	if _, err := w.provider.PatchContact(id, crm.ContactPatch{Notes: &notes}); err != nil {
		t.Fatal(err)
	}
	run := w.sync(t, "contacts")
	if got := run.Counts["Contact"]; got != (records.Counts{Updated: 1}) {
		t.Errorf("sync after a provider change: %+v", got)
	}
	ds := w.deliveries(t)
	if len(ds) != 1 || ds[0].RunID != run.ID {
		t.Fatalf("deliveries after a provider change: %+v", ds)
	}
	waitFor(t, "the app to receive delivery "+ds[0].ID, func() bool {
		events, _, _ := w.app.received()
		_, ok := events[ds[0].ID]
		return ok
	})
	events, _, bad := w.app.received()
	e := events[ds[0].ID]
	if len(events) != 1 || bad != 0 || e.Type != webhooks.EventSyncCompleted || e.Sync != "contacts" || e.Model != "Contact" ||
		e.Changes == nil || e.Added != 0 || e.Updated != 1 || e.Deleted != 0 {
		t.Fatalf("the app received %+v (refused %d), want one sync.completed of contacts with 1 update", events, bad)
	}
	// Its cursor_from leads the app to the one change.
	if recs := w.contacts(t, e.CursorFrom); len(recs) != 1 || recs[0].data["id"] != id || recs[0].data["notes"] != notes {
		t.Errorf("records after cursor_from %q: %+v", e.CursorFrom, recs)
	}
}

// TestProviderWebhookReachesCacheAndApp: a change made at the provider is POSTed, signed, to
// Ferry's inbound hook; the plugin's webhook handler saves it (or deletes the record), so the
// cache serves the new value without a sync; and the app is told by exactly one signed
// sync.completed of the webhook handler, whose cursor_from leads to that one change. A sync
// afterwards fetches the same contacts and changes nothing.
func TestProviderWebhookReachesCacheAndApp(t *testing.T) {
	w := newTwoWay(t, 20, `{}`)
	if run := w.sync(t, "contacts"); run.Counts["Contact"] != (records.Counts{Added: 20}) {
		t.Fatalf("initial sync: %+v", run.Counts)
	}
	w.listen(t)
	w.hookProvider(t)

	title, email := "Chief Example Officer", "katherine.johnson@nasa.example"
	steps := []struct {
		name   string
		change func(t *testing.T) (id string, stored *crm.Contact) // stored is nil for a deletion
		want   records.Counts
		action records.Action
	}{
		{"created at the provider", func(t *testing.T) (string, *crm.Contact) {
			c, err := w.provider.CreateContact(crm.NewContact{Email: email, FirstName: "Katherine", LastName: "Johnson"})
			if err != nil {
				t.Fatal(err)
			}
			return c.ID, &c
		}, records.Counts{Added: 1}, records.Added},
		{"updated at the provider", func(t *testing.T) (string, *crm.Contact) {
			c, err := w.provider.PatchContact("c-000003", crm.ContactPatch{Title: &title})
			if err != nil {
				t.Fatal(err)
			}
			return c.ID, &c
		}, records.Counts{Updated: 1}, records.Updated},
		{"deleted at the provider", func(t *testing.T) (string, *crm.Contact) {
			if err := w.provider.DeleteContact("c-000005"); err != nil {
				t.Fatal(err)
			}
			return "c-000005", nil
		}, records.Counts{Deleted: 1}, records.Deleted},
	}
	var seen []string // delivery ids of the steps so far
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			id, stored := st.change(t)
			// The provider's event has been answered once it is sent; Ferry answers after the
			// handler's call is stored with its deliveries.
			waitFor(t, "the provider to send its event", func() bool {
				s := w.provider.Stats()
				return s.WebhooksSent+s.WebhooksFailed == int64(i+1) && s.WebhooksPending == 0
			})
			if s := w.provider.Stats(); s.WebhooksFailed != 0 {
				t.Fatalf("Ferry refused the provider's event: %+v", s)
			}

			// The cache holds the change, no sync needed.
			rec := w.contact(t, id)
			if rec.meta.LastAction != st.action {
				t.Errorf("cached %s: last_action %s, want %s", id, rec.meta.LastAction, st.action)
			}
			if stored != nil && !reflect.DeepEqual(rec.data, asMap(t, *stored)) {
				t.Errorf("cached contact\n%v\nthe provider's\n%v", rec.data, asMap(t, *stored))
			}
			if stored == nil && rec.meta.DeletedAt == nil {
				t.Errorf("cached %s is not deleted: %+v", id, rec.meta)
			}

			// The handler's call is logged as a run of kind webhook.
			runs := w.runs(t)
			if len(runs) == 0 {
				t.Fatal("no runs")
			}
			if runs[0].Kind != storage.KindWebhook || runs[0].Trigger != "webhook" ||
				runs[0].Status != "succeeded" || runs[0].Counts["Contact"] != st.want {
				t.Fatalf("latest run: %+v, want a succeeded webhook call with %+v", runs[0], st.want)
			}
			call := runs[0]

			// One delivery for the call, and the app gets it, signed.
			var fresh []delivery
			for _, d := range w.deliveries(t) {
				if !slices.Contains(seen, d.ID) {
					fresh = append(fresh, d)
				}
			}
			if len(fresh) != 1 || fresh[0].RunID != call.ID || fresh[0].Type != webhooks.EventSyncCompleted {
				t.Fatalf("new deliveries: %+v, want one sync.completed of run %s", fresh, call.ID)
			}
			d := fresh[0]
			seen = append(seen, d.ID)
			waitFor(t, "the app to receive delivery "+d.ID, func() bool {
				events, _, _ := w.app.received()
				_, ok := events[d.ID]
				return ok
			})
			events, bodies, bad := w.app.received()
			e := events[d.ID]
			if bad != 0 || string(bodies[d.ID]) != string(d.Body) {
				t.Errorf("the app received %s (refused %d), Ferry queued %s", bodies[d.ID], bad, d.Body)
			}
			if e.Integration != "crm" || e.Connection != "acme" || e.Sync != "webhook" || e.Model != "Contact" ||
				e.RunID != call.ID || e.SyncType != webhooks.SyncIncremental || e.Changes == nil ||
				e.Added != st.want.Added || e.Updated != st.want.Updated || e.Deleted != st.want.Deleted {
				t.Errorf("event %s, want one %+v of Contact by the webhook handler", bodies[d.ID], st.want)
			}
			if recs := w.contacts(t, e.CursorFrom); len(recs) != 1 || recs[0].data["id"] != id {
				t.Errorf("records after cursor_from %q: %d, want %s alone", e.CursorFrom, len(recs), id)
			}
		})
		if t.Failed() {
			return
		}
	}

	// The app heard each change once, and nothing else.
	events, _, bad := w.app.received()
	if len(events) != len(steps) || bad != 0 {
		t.Errorf("the app received %d events (refused %d), want %d", len(events), bad, len(steps))
	}

	// The sync fetches the created and the updated contact, already current, and the deletion
	// feed's contact, already deleted: nothing changes, nobody is told.
	run := w.sync(t, "contacts")
	if got := run.Counts["Contact"]; got != noChange(2) {
		t.Errorf("sync after the webhooks: %+v, want 2 unchanged", got)
	}
	if ds := w.deliveries(t); len(ds) != len(steps) {
		t.Errorf("deliveries after the sync: %d, want %d", len(ds), len(steps))
	}
}
