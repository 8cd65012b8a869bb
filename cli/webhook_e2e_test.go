package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/webhooks"
)

// receiver is the app's webhook endpoint: it checks every signature and keeps each delivery
// once, by id; while down it answers 503.
type receiver struct {
	t      *testing.T
	secret []byte

	mu       sync.Mutex
	down     bool
	attempts int
	events   map[string]webhooks.Event // by delivery id
	bad      int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if !webhooks.Verify(rc.secret, body, r.Header.Get("X-Ferry-Signature")) {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil {
		rc.bad++
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.events[r.Header.Get("X-Ferry-Delivery")] = e
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setDown(down bool) {
	rc.mu.Lock()
	rc.down = down
	rc.mu.Unlock()
}

// The app's receiver is down while runs finish and across a server restart: once it is back,
// every event arrives, signed, with counts that match the runs and the records.
func TestWebhooksSurviveDowntimeAndRestart(t *testing.T) {
	e := startE2E(t, 1500, 30)
	rc := &receiver{t: t, secret: []byte("0123456789abcdef-app-secret"), events: map[string]webhooks.Event{}, down: true}
	app := httptest.NewServer(rc)
	defer app.Close()

	e.ferry(false, "deploy", "../examples/crm-go")
	e.ferry(false, "connection", "put", "crm", "acme", "--cred", "token=demo-token", "--base-url", e.provURL)
	e.ferry(false, "webhook", "set", app.URL, "--secret", string(rc.secret))
	e.sync("contacts")
	e.sync("companies")
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 4, Update: 6, Delete: 2}); err != nil {
		t.Fatal(err)
	}
	e.sync("contacts")
	e.sync("contacts") // nothing changed: no event

	// Wait for a failed attempt, so the restart happens with deliveries pending in mid-retry.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		rc.mu.Lock()
		n := rc.attempts
		rc.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery was attempted")
		}
	}
	e.stop(false)
	e.start()
	rc.setDown(false)

	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		rc.mu.Lock()
		n := len(rc.events)
		rc.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events arrived, want 3\n%s", n, e.ferry(false, "webhook", "deliveries"))
		}
	}
	time.Sleep(500 * time.Millisecond) // anything more would be a surplus event
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.bad > 0 || len(rc.events) != 3 {
		t.Fatalf("%d events, %d with a bad signature or body: %v", len(rc.events), rc.bad, rc.events)
	}
	byModel := map[string][]webhooks.Event{}
	for _, ev := range rc.events {
		if ev.Type != "sync.completed" || ev.Changes == nil {
			t.Fatalf("event %+v", ev)
		}
		byModel[ev.Model] = append(byModel[ev.Model], ev)
	}
	if len(byModel["Contact"]) != 2 || len(byModel["Company"]) != 1 {
		t.Fatalf("events per model: %v", byModel)
	}
	for _, ev := range append(byModel["Contact"], byModel["Company"]...) {
		// The counts are the run's...
		var run struct {
			Counts map[string]map[string]int `json:"counts"`
		}
		if err := json.Unmarshal([]byte(e.ferry(false, "runs", "show", ev.RunID)), &run); err != nil {
			t.Fatal(err)
		}
		c := run.Counts[ev.Model]
		if ev.Added != c["added"] || ev.Updated != c["updated"] || ev.Deleted != c["deleted"] {
			t.Errorf("%s event %+v, run counts %v", ev.Model, *ev.Changes, c)
		}
		// ...and the records after cursor_from are exactly those changes (later runs changed
		// nothing more).
		got := map[string]int{}
		for _, r := range e.records(ev.Model, ev.CursorFrom) {
			got[r.meta["last_action"].(string)]++
		}
		if ev.SyncType == webhooks.SyncInitial {
			// From the first cursor, every record of the model, once.
			if got["added"]+got["updated"]+got["deleted"] != ev.Added+latestAdds(byModel[ev.Model], ev) || ev.Added == 0 {
				t.Errorf("initial %s event %+v, records after its cursor %v", ev.Model, *ev.Changes, got)
			}
			continue
		}
		if got["added"] != ev.Added || got["updated"] != ev.Updated || got["deleted"] != ev.Deleted {
			t.Errorf("%s event %+v, records after cursor %s: %v", ev.Model, *ev.Changes, ev.CursorFrom, got)
		}
	}
	if c := byModel["Contact"]; c[0].SyncType == c[1].SyncType {
		t.Errorf("sync types %s and %s, want initial and incremental", c[0].SyncType, c[1].SyncType)
	}
}

// latestAdds counts the records the other events of a model added after ev's cursor: an
// initial event's cursor also sees them.
func latestAdds(events []webhooks.Event, ev webhooks.Event) int {
	n := 0
	for _, o := range events {
		if o.RunID != ev.RunID {
			n += o.Added
		}
	}
	return n
}
