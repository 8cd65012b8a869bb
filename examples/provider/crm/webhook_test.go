package crm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// receiver is an app's webhook endpoint on loopback. It checks every request's signature
// itself (not with Sign) and hands each delivery to the test.
type receiver struct {
	url    string
	secret string
	got    chan delivery

	mu       sync.Mutex
	requests int
	// answer returns the status of request n (from 1); nil answers 204.
	answer func(n int) int
}

// delivery is one request the receiver got.
type delivery struct {
	body     []byte
	header   http.Header
	signedOK bool
}

// hangGuard bounds every wait for a delivery. Deliveries take milliseconds; the guard only
// turns a hang into a failure and asserts nothing about timing.
const hangGuard = 10 * time.Second

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret, got: make(chan delivery, 1000)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(r.secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		r.mu.Lock()
		r.requests++
		n, answer := r.requests, r.answer
		r.mu.Unlock()
		r.got <- delivery{body: body, header: req.Header.Clone(), signedOK: hmac.Equal([]byte(want), []byte(req.Header.Get("X-Provider-Signature")))}
		status := http.StatusNoContent
		if answer != nil {
			status = answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	r.url = ts.URL + "/provider-hook"
	return r
}

// next returns the next delivery, failing the test if none comes.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(hangGuard):
		t.Fatal("no webhook delivery arrived")
		return delivery{}
	}
}

// hookEvent is a webhook body.
type hookEvent struct {
	Type    string          `json:"type"`
	Contact json.RawMessage `json:"contact"`
	ID      string          `json:"id"`
}

// wantEvent is an expected delivery: its type, and the contact's JSON (created, updated) or
// id (deleted).
type wantEvent struct {
	typ     string
	contact string
	id      string
}

// expect reads len(want) deliveries and checks each, in order.
func (r *receiver) expect(t *testing.T, want ...wantEvent) {
	t.Helper()
	for i, w := range want {
		d := r.next(t)
		if !d.signedOK {
			t.Errorf("delivery %d: bad signature %q", i, d.header.Get("X-Provider-Signature"))
		}
		if ct := d.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("delivery %d: Content-Type %q", i, ct)
		}
		var ev hookEvent
		dec := json.NewDecoder(bytes.NewReader(d.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("delivery %d: body %s: %v", i, d.body, err)
		}
		got := wantEvent{typ: ev.Type, contact: string(ev.Contact), id: ev.ID}
		if got != w {
			t.Errorf("delivery %d:\n got  %+v\n want %+v", i, got, w)
		}
	}
}

// waitIdle waits until the server has no webhook event left to send, so its counts are final.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for s.Stats().WebhooksPending > 0 {
		if time.Now().After(deadline) {
			t.Fatal("webhook events still pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// served returns the JSON GET /contacts serves for the contact with the given email.
func served(t *testing.T, c *client, email string) string {
	t.Helper()
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	c.getJSON("/contacts?email="+url.QueryEscape(email), &page)
	if len(page.Data) != 1 {
		t.Fatalf("%d contacts with email %s, want 1", len(page.Data), email)
	}
	return string(page.Data[0])
}

func created(contact string) wantEvent { return wantEvent{typ: EventContactCreated, contact: contact} }
func updated(contact string) wantEvent { return wantEvent{typ: EventContactUpdated, contact: contact} }
func deleted(id string) wantEvent      { return wantEvent{typ: EventContactDeleted, id: id} }

func TestWebhookEveryContactChange(t *testing.T) {
	rcv := newReceiver(t, "hook-secret")
	s := New(Options{Contacts: 4, Companies: 2, Seed: 8, Webhook: Webhook{URL: rcv.url, Secret: "hook-secret"}})
	t.Cleanup(s.Close)
	c := serve(t, s)

	// The API's writes: the body of each event is the contact exactly as GET serves it.
	r := c.do(http.MethodPost, "/contacts", `{"email":"new@x.example","first_name":"Nia"}`)
	rcv.expect(t, created(served(t, c, "new@x.example")))
	var made Contact
	if err := json.Unmarshal(r.body, &made); err != nil {
		t.Fatal(err)
	}
	c.do(http.MethodPatch, "/contacts/"+made.ID, `{"title":"COO"}`)
	rcv.expect(t, updated(served(t, c, "new@x.example")))

	// The admin API's writes, and the Go methods behind them.
	c.do(http.MethodPut, "/admin/contacts/mary", `{"email":"mary@x.example"}`)
	rcv.expect(t, created(served(t, c, "mary@x.example")))
	mustPut(t, s, Contact{ID: "mary", Email: "mary@x.example", Title: "CTO"})
	rcv.expect(t, updated(served(t, c, "mary@x.example")))
	c.do(http.MethodDelete, "/admin/contacts/mary", nil)
	rcv.expect(t, deleted("mary"))

	// A mutation: one event per change, in the order of the changes.
	var res MutationResult
	if err := json.Unmarshal(c.do(http.MethodPost, "/admin/mutate", `{"model":"contacts","add":2,"update":1,"delete":1}`).body, &res); err != nil {
		t.Fatal(err)
	}
	js := map[string]string{}
	for _, ct := range s.Contacts() {
		js[ct.ID] = mustJSON(t, ct)
	}
	want := []wantEvent{deleted(res.Deleted[0]), updated(js[res.Updated[0]]), created(js[res.Added[0]]), created(js[res.Added[1]])}
	rcv.expect(t, want...)
	// Generated contacts are served from their cached JSON: the event's matches GET's.
	if got := served(t, c, contactByID(t, s, res.Added[0]).Email); got != want[2].contact {
		t.Errorf("event contact %s, served %s", want[2].contact, got)
	}

	// Companies send no events.
	if _, err := s.Mutate(Mutation{Model: ModelCompanies, Add: 1, Update: 1, Delete: 1}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if st := s.Stats(); st.WebhooksPending != 0 || st.WebhooksSent != 9 || st.WebhooksFailed != 0 {
		t.Errorf("stats = %+v, want 9 sent and none pending after company changes", st)
	}
}

func TestWebhookAdminRoute(t *testing.T) {
	rcv := newReceiver(t, "s3cret")
	s := New(Options{Contacts: 2})
	t.Cleanup(s.Close)
	c := serve(t, s)

	// No webhook: changes queue nothing.
	if _, err := s.CreateContact(NewContact{Email: "quiet@x.example"}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.WebhooksPending != 0 || st.WebhooksSent != 0 {
		t.Fatalf("stats without a webhook = %+v", st)
	}

	r := c.do(http.MethodPut, "/admin/webhook", map[string]string{"url": rcv.url, "secret": "s3cret"})
	if r.status != http.StatusOK || string(r.body) != fmt.Sprintf(`{"url":%q}`, rcv.url) {
		t.Fatalf("PUT /admin/webhook: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodGet, "/admin/webhook", nil); string(r.body) != fmt.Sprintf(`{"url":%q}`, rcv.url) {
		t.Errorf("GET /admin/webhook = %s: want the url and never the secret", r.body)
	}
	if err := s.DeleteContact("c-000001"); err != nil {
		t.Fatal(err)
	}
	rcv.expect(t, deleted("c-000001"))

	// A new secret signs the events of the changes after it.
	c.do(http.MethodPut, "/admin/webhook", map[string]string{"url": rcv.url, "secret": "rotated"})
	if err := s.DeleteContact("c-000002"); err != nil {
		t.Fatal(err)
	}
	if d := rcv.next(t); d.signedOK || d.header.Get(SignatureHeader) != Sign([]byte("rotated"), d.body) {
		t.Errorf("after a secret change: signature %q, want one under the new secret", d.header.Get(SignatureHeader))
	}

	// An empty url turns webhooks off.
	c.do(http.MethodPut, "/admin/webhook", `{"url":""}`)
	if _, err := s.CreateContact(NewContact{Email: "quiet2@x.example"}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if st := s.Stats(); st.WebhooksPending != 0 || st.WebhooksSent != 2 {
		t.Errorf("stats after turning webhooks off = %+v, want 2 sent, none pending", st)
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(n int) int
		wantSent   int64
		wantFailed int64
		wantTries  int // requests for the first event
	}{
		{"succeeds on the third try", func(n int) int { return map[bool]int{true: 500, false: 204}[n < 3] }, 2, 0, 3},
		{"not 2xx is a failure", func(n int) int { return map[bool]int{true: 302, false: 200}[n == 1] }, 2, 0, 2},
		{"gives up after four tries, then sends the next", func(n int) int { return map[bool]int{true: 503, false: 204}[n <= 4] }, 1, 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, "k")
			rcv.answer = tt.answer
			s := New(Options{Contacts: 3, Webhook: Webhook{URL: rcv.url, Secret: "k"}})
			t.Cleanup(s.Close)
			s.hooks.delays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}

			if err := s.DeleteContact("c-000001"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteContact("c-000002"); err != nil {
				t.Fatal(err)
			}
			var first []delivery
			for range tt.wantTries {
				first = append(first, rcv.next(t))
			}
			for i, d := range first {
				if string(d.body) != `{"type":"contact.deleted","id":"c-000001"}` || !d.signedOK {
					t.Errorf("try %d of the first event: body %s, signed %v", i+1, d.body, d.signedOK)
				}
			}
			if d := rcv.next(t); string(d.body) != `{"type":"contact.deleted","id":"c-000002"}` {
				t.Errorf("then %s, want the second event", d.body)
			}
			waitIdle(t, s)
			if st := s.Stats(); st.WebhooksSent != tt.wantSent || st.WebhooksFailed != tt.wantFailed {
				t.Errorf("stats = %+v, want %d sent, %d failed", st, tt.wantSent, tt.wantFailed)
			}
		})
	}
}

func TestWebhookNeverBlocksTheAPI(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, "k")
	rcv.answer = func(n int) int {
		if n == 1 {
			<-release // the receiver hangs on the first event
		}
		return 204
	}
	s := New(Options{Contacts: 5, Webhook: Webhook{URL: rcv.url, Secret: "k"}})
	t.Cleanup(s.Close)
	c := serve(t, s)

	// Every write answers while the receiver hangs (else this test would hang).
	c.do(http.MethodPatch, "/contacts/c-000001", `{"title":"A"}`)
	rcv.next(t) // the first event is in flight, and stuck
	c.do(http.MethodPatch, "/contacts/c-000002", `{"title":"B"}`)
	c.do(http.MethodPost, "/admin/mutate", `{"model":"contacts","delete":1}`)
	if st := s.Stats(); st.WebhooksPending != 3 {
		t.Errorf("pending = %d, want 3 (one in flight, two waiting)", st.WebhooksPending)
	}
	close(release)
	rcv.expect(t, updated(mustJSON(t, contactByID(t, s, "c-000002"))), deleted("c-000005"))
}

func TestWebhookQueueBound(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, "k")
	rcv.answer = func(n int) int {
		if n == 1 {
			<-release
		}
		return 204
	}
	s := New(Options{Contacts: 10, Webhook: Webhook{URL: rcv.url, Secret: "k"}})
	t.Cleanup(s.Close)
	s.hooks.maxQueued = 3
	if _, err := s.Mutate(Mutation{Model: ModelContacts, Delete: 5}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.WebhooksPending != 3 || st.WebhooksDropped != 2 {
		t.Errorf("stats = %+v, want 3 pending and 2 dropped", st)
	}
	close(release)
	rcv.expect(t, deleted("c-000006"), deleted("c-000007"), deleted("c-000008"))
}

func TestWebhookClose(t *testing.T) {
	rcv := newReceiver(t, "k")
	rcv.answer = func(int) int { return 500 }
	s := New(Options{Contacts: 3, Webhook: Webhook{URL: rcv.url, Secret: "k"}})
	s.hooks.delays = []time.Duration{time.Hour} // the sender waits to retry when Close comes
	if err := s.DeleteContact("c-000001"); err != nil {
		t.Fatal(err)
	}
	rcv.next(t)
	s.Close() // returns: the wait to retry ends with it
	if err := s.DeleteContact("c-000002"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.WebhooksPending != 0 || st.Contacts != 1 {
		t.Errorf("after Close: stats %+v, want the API working and nothing queued", st)
	}
	s.Close() // twice is harmless
}

// TestWebhookHammer changes contacts from several goroutines at once: every change arrives
// once, and in the order the changes were made (updated_at order, which the server's clock
// makes strict).
func TestWebhookHammer(t *testing.T) {
	rcv := newReceiver(t, "k")
	s := New(Options{Contacts: 50, Webhook: Webhook{URL: rcv.url, Secret: "k"}})
	t.Cleanup(s.Close)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				switch i % 3 {
				case 0:
					_, err = s.CreateContact(NewContact{Email: fmt.Sprintf("w%d-%d@x.example", w, i)})
				case 1:
					title := fmt.Sprint(w, i)
					_, err = s.PatchContact(contactID(1+(w*each+i)%50), ContactPatch{Title: &title})
				default:
					_, err = s.Mutate(Mutation{Model: ModelContacts, Update: 1})
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var last time.Time
	for i := range workers * each {
		d := rcv.next(t)
		var ev struct {
			Type    string  `json:"type"`
			Contact Contact `json:"contact"`
		}
		if err := json.Unmarshal(d.body, &ev); err != nil || !d.signedOK {
			t.Fatalf("event %d: %s (%v, signed %v)", i, d.body, err, d.signedOK)
		}
		if !ev.Contact.UpdatedAt.After(last) {
			t.Fatalf("event %d (%s %s at %s) is not after the previous one (%s)", i, ev.Type, ev.Contact.ID, ev.Contact.UpdatedAt, last)
		}
		last = ev.Contact.UpdatedAt
	}
	waitIdle(t, s)
	if st := s.Stats(); st.WebhooksSent != workers*each || st.WebhooksFailed != 0 {
		t.Errorf("stats = %+v, want %d sent, none failed", st, workers*each)
	}
}

func TestWebhookValidate(t *testing.T) {
	tests := []struct {
		hook Webhook
		ok   bool
	}{
		{Webhook{}, true},
		{Webhook{URL: "http://127.0.0.1:7400/v1/hooks/crm/acme", Secret: "s"}, true},
		{Webhook{URL: "https://app.example/hook", Secret: "s"}, true},
		{Webhook{URL: "http://127.0.0.1:7400/hook"}, false},
		{Webhook{URL: "127.0.0.1:7400/hook", Secret: "s"}, false},
		{Webhook{URL: "ftp://x.example/hook", Secret: "s"}, false},
		{Webhook{URL: "http:///hook", Secret: "s"}, false},
		{Webhook{Secret: "s"}, true}, // no URL: off, whatever the secret
	}
	for _, tt := range tests {
		if err := tt.hook.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tt.hook, err, tt.ok)
		}
	}
}
