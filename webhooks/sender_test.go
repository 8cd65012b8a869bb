package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/webhooks"
)

// fast retries, so tests do not wait on real backoffs.
var fast = webhooks.WithBackoff(time.Millisecond, 20*time.Millisecond)

// env is a real store in a temporary directory and a real sealer.
type env struct {
	db     *storage.DB
	path   string
	sealer *secrets.Sealer
	secret []byte
	runs   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ferry.db")
	db, err := storage.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.LoadOrCreateSealer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, path: path, sealer: sealer, secret: []byte("whsec-test-0123456789")}
	t.Cleanup(func() { e.db.Close() })
	return e
}

// reopen closes the store and opens it again, as a restarted server does.
func (e *env) reopen(t *testing.T) {
	t.Helper()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
}

func (e *env) setWebhook(t *testing.T, url string) {
	t.Helper()
	sealed, err := e.sealer.Seal(e.secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetWebhookConfig(context.Background(), storage.WebhookConfig{URL: url, Secret: sealed}); err != nil {
		t.Fatal(err)
	}
}

// finishRun finishes a new run that added one record of each model (or, with no models,
// failed), queuing its webhooks as the runner does, and returns the deliveries.
func (e *env) finishRun(t *testing.T, models ...string) []storage.Delivery {
	t.Helper()
	e.runs++
	now := time.Now()
	run := storage.Run{ID: fmt.Sprintf("0193a000-0000-7000-8000-%012d", e.runs), Integration: "crm", Connection: "acme",
		Sync: "contacts", Status: storage.StatusSucceeded, StartedAt: now, EndedAt: &now, Counts: map[string]records.Counts{}}
	for _, m := range models {
		run.Counts[m] = records.Counts{Added: 1}
	}
	if len(models) == 0 {
		run.Status, run.Error = storage.StatusFailed, "provider answered 500"
	}
	ds, err := webhooks.Deliveries(webhooks.Events(run, webhooks.SyncIncremental, nil), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.FinishRun(context.Background(), run, ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

// deliveries returns every delivery in the store by id.
func (e *env) deliveries(t *testing.T) map[string]storage.Delivery {
	t.Helper()
	ds, err := e.db.Deliveries(context.Background(), storage.DeliveryFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.Delivery{}
	for _, d := range ds {
		out[d.ID] = d
	}
	return out
}

// countStatus counts the deliveries in a status.
func (e *env) countStatus(t *testing.T, status string) int {
	t.Helper()
	ds, err := e.db.Deliveries(context.Background(), storage.DeliveryFilter{Status: status, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// start runs a Sender on store until the returned stop is called (or the test ends); stop
// fails the test if Run does not return.
func start(t *testing.T, store webhooks.Store, sealer webhooks.Sealer, opts ...webhooks.Option) (*webhooks.Sender, func()) {
	t.Helper()
	s := webhooks.NewSender(store, sealer, nil, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	s.Notify()
	return s, stop
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is an app's webhook endpoint. It checks every request as an app must (signature,
// headers, body) and records what it received.
type receiver struct {
	secret []byte

	mu          sync.Mutex
	answer      int               // the status to answer; 0 means 204
	hold        chan struct{}     // when set, requests wait for it to close
	attempts    map[string]int    // requests by X-Ferry-Delivery
	delivered   map[string]int    // requests answered 2xx, by X-Ferry-Delivery
	bodies      map[string]string // the first body of each delivery id
	problems    []string          // what was wrong with requests
	inFlight    int
	maxInFlight int
}

func newReceiver(secret []byte) *receiver {
	return &receiver{secret: secret, attempts: map[string]int{}, delivered: map[string]int{}, bodies: map[string]string{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	id := r.Header.Get(webhooks.HeaderDelivery)
	var e webhooks.Event
	var problems []string
	switch {
	case err != nil:
		problems = append(problems, "read body: "+err.Error())
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		problems = append(problems, fmt.Sprintf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type")))
	case !webhooks.Verify(rc.secret, body, r.Header.Get(webhooks.HeaderSignature)):
		problems = append(problems, fmt.Sprintf("delivery %s: bad signature %q", id, r.Header.Get(webhooks.HeaderSignature)))
	case id == "":
		problems = append(problems, "no delivery id")
	case json.Unmarshal(body, &e) != nil || e.Type != r.Header.Get(webhooks.HeaderEvent):
		problems = append(problems, fmt.Sprintf("delivery %s: event header %q, body %s", id, r.Header.Get(webhooks.HeaderEvent), body))
	}

	rc.mu.Lock()
	rc.problems = append(rc.problems, problems...)
	rc.attempts[id]++
	if first, ok := rc.bodies[id]; ok && first != string(body) {
		rc.problems = append(rc.problems, fmt.Sprintf("delivery %s: body changed between attempts", id))
	} else if !ok {
		rc.bodies[id] = string(body)
	}
	rc.inFlight++
	rc.maxInFlight = max(rc.maxInFlight, rc.inFlight)
	hold, answer := rc.hold, rc.answer
	rc.mu.Unlock()

	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	} else {
		time.Sleep(time.Millisecond) // lets concurrent attempts overlap, so the cap is exercised
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.inFlight--
	if answer == 0 && r.Context().Err() == nil {
		rc.delivered[id]++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if answer == 0 {
		answer = http.StatusServiceUnavailable
	}
	http.Error(w, "database down", answer)
}

func (rc *receiver) set(f func(rc *receiver)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f(rc)
}

// check fails the test for any bad request the receiver saw.
func (rc *receiver) check(t *testing.T) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, p := range rc.problems {
		t.Error(p)
	}
}

func TestSenderDeliversSigned(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(e.secret)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.setWebhook(t, srv.URL+"/hooks/ferry")

	var queued []storage.Delivery
	for range 5 {
		queued = append(queued, e.finishRun(t, "Company", "Contact", "Deal", "Note")...)
	}
	queued = append(queued, e.finishRun(t)...) // a failed run
	s, _ := start(t, e.db, e.sealer)
	waitFor(t, "every delivery delivered", func() bool { return e.countStatus(t, storage.DeliveryDelivered) == len(queued) })

	// A run finished while the Sender waits is sent when the runner notifies it.
	queued = append(queued, e.finishRun(t, "Contact")...)
	s.Notify()
	waitFor(t, "the late delivery", func() bool { return e.countStatus(t, storage.DeliveryDelivered) == len(queued) })

	rc.check(t)
	stored := e.deliveries(t)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, q := range queued {
		if rc.delivered[q.ID] != 1 || rc.attempts[q.ID] != 1 {
			t.Errorf("delivery %s: received %d times, answered 2xx %d times; want once", q.ID, rc.attempts[q.ID], rc.delivered[q.ID])
		}
		if rc.bodies[q.ID] != string(q.Body) {
			t.Errorf("delivery %s: received %s, queued %s", q.ID, rc.bodies[q.ID], q.Body)
		}
		d := stored[q.ID]
		if d.Status != storage.DeliveryDelivered || d.Attempts != 1 || d.DeliveredAt == nil || d.LastError != "" {
			t.Errorf("stored delivery = %+v", d)
		}
	}
	if len(rc.attempts) != len(queued) {
		t.Errorf("received %d delivery ids, queued %d", len(rc.attempts), len(queued))
	}
	if rc.maxInFlight > webhooks.DefaultConcurrency {
		t.Errorf("%d deliveries were in flight at once, over the cap of %d", rc.maxInFlight, webhooks.DefaultConcurrency)
	}
}

// TestSenderRetriesAcrossRestart: the app is down (answering 503, or not listening) while the
// Sender retries; the server stops and starts again on the same store; the app comes back;
// every delivery arrives once it is back, retried with the same id and body.
func TestSenderRetriesAcrossRestart(t *testing.T) {
	for _, mode := range []string{"answers 503", "not listening"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(e.secret)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			srv := &http.Server{Handler: rc}
			defer srv.Close()
			if mode == "answers 503" {
				rc.set(func(rc *receiver) { rc.answer = http.StatusServiceUnavailable })
				go srv.Serve(l)
			} else {
				l.Close()
			}
			e.setWebhook(t, "http://"+addr+"/hook")
			var queued []storage.Delivery
			for range 3 {
				queued = append(queued, e.finishRun(t, "Contact", "Company")...)
			}

			_, stop := start(t, e.db, e.sealer, fast)
			waitFor(t, "every delivery to be retried", func() bool {
				for _, d := range e.deliveries(t) {
					if d.Attempts < 2 {
						return false
					}
				}
				return true
			})
			stop()
			for _, d := range e.deliveries(t) {
				if d.Status != storage.DeliveryPending || d.LastError == "" {
					t.Errorf("while the app is down: %+v", d)
				}
				if mode == "answers 503" && d.LastError != "HTTP 503 Service Unavailable: database down" {
					t.Errorf("last error %q", d.LastError)
				}
			}

			// The server restarts on the same data, and the app comes back.
			e.reopen(t)
			start(t, e.db, e.sealer, fast)
			if mode == "answers 503" {
				rc.set(func(rc *receiver) { rc.answer = 0 })
			} else {
				waitFor(t, "the app's address to be free", func() bool {
					l, err = net.Listen("tcp", addr)
					return err == nil
				})
				go srv.Serve(l)
			}
			waitFor(t, "every delivery delivered", func() bool { return e.countStatus(t, storage.DeliveryDelivered) == len(queued) })

			rc.check(t)
			stored := e.deliveries(t)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for _, q := range queued {
				d := stored[q.ID]
				if rc.delivered[q.ID] != 1 || rc.bodies[q.ID] != string(q.Body) || d.Attempts < 3 {
					t.Errorf("delivery %s: delivered %d times, %d attempts: %+v", q.ID, rc.delivered[q.ID], d.Attempts, d)
				}
				// The app may see more: an attempt cut short by the stop is not counted.
				if mode == "answers 503" && rc.attempts[q.ID] < d.Attempts {
					t.Errorf("delivery %s: the app saw %d attempts, the store counts %d", q.ID, rc.attempts[q.ID], d.Attempts)
				}
			}
		})
	}
}

// countingStore is the real store, counting how often the Sender reads the webhook's
// configuration.
type countingStore struct {
	*storage.DB
	configReads atomic.Int32
}

func (s *countingStore) WebhookConfig(ctx context.Context) (storage.WebhookConfig, error) {
	s.configReads.Add(1)
	return s.DB.WebhookConfig(ctx)
}

func TestSenderWaitsForAWebhook(t *testing.T) {
	e := newEnv(t)
	queued := e.finishRun(t, "Contact", "Company")
	store := &countingStore{DB: e.db}
	start(t, store, e.sealer, fast, webhooks.WithPollEvery(2*time.Millisecond))
	waitFor(t, "the Sender to look for a webhook a few times", func() bool { return store.configReads.Load() >= 3 })
	for _, d := range e.deliveries(t) {
		if d.Status != storage.DeliveryPending || d.Attempts != 0 {
			t.Errorf("with no webhook set: %+v", d)
		}
	}

	// Set through the store, as PUT /v1/webhook does, without telling the Sender.
	rc := newReceiver(e.secret)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.setWebhook(t, srv.URL)
	waitFor(t, "delivery once a webhook is set", func() bool { return e.countStatus(t, storage.DeliveryDelivered) == len(queued) })
	rc.check(t)
}

func TestSenderGivesUp(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(e.secret)
	rc.answer = http.StatusInternalServerError
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.setWebhook(t, srv.URL)
	var ahead atomic.Int64 // how far the Sender's clock is ahead of the real one
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	queued := e.finishRun(t, "Contact")
	start(t, e.db, e.sealer, fast, webhooks.WithClock(clock))

	waitFor(t, "retries", func() bool { return e.deliveries(t)[queued[0].ID].Attempts >= 3 })
	if d := e.deliveries(t)[queued[0].ID]; d.Status != storage.DeliveryPending {
		t.Fatalf("failed before the give-up time: %+v", d)
	}
	ahead.Store(int64(webhooks.DefaultGiveUpAfter + time.Hour))
	waitFor(t, "giving up", func() bool { return e.deliveries(t)[queued[0].ID].Status == storage.DeliveryFailed })
	d := e.deliveries(t)[queued[0].ID]
	if d.LastError != "HTTP 500 Internal Server Error: database down" || d.DeliveredAt != nil {
		t.Errorf("failed delivery = %+v", d)
	}
	if _, ok, _ := e.db.NextDeliveryAt(context.Background()); ok {
		t.Error("a failed delivery is still due")
	}
	rc.check(t)
}

// TestSenderStopsWhileAppHangs: an app that never answers does not hold up shutdown, and the
// abandoned attempt is made again later.
func TestSenderStopsWhileAppHangs(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(e.secret)
	rc.hold = make(chan struct{})
	srv := httptest.NewServer(rc)
	defer srv.Close()
	defer close(rc.hold)
	e.setWebhook(t, srv.URL)
	queued := e.finishRun(t, "Contact")

	_, stop := start(t, e.db, e.sealer, webhooks.WithTimeout(time.Hour))
	waitFor(t, "the attempt to reach the app", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.inFlight == 1
	})
	stop() // fails the test if Run does not return
	if d := e.deliveries(t)[queued[0].ID]; d.Status != storage.DeliveryPending || d.Attempts != 0 {
		t.Errorf("after an abandoned attempt: %+v", d)
	}

	rc.set(func(rc *receiver) { rc.hold = nil })
	start(t, e.db, e.sealer)
	waitFor(t, "delivery by the next Sender", func() bool { return e.countStatus(t, storage.DeliveryDelivered) == 1 })
	rc.check(t)
}

func TestSenderDoesNotFollowRedirects(t *testing.T) {
	e := newEnv(t)
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer target.Close()
	app := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
	defer app.Close()
	e.setWebhook(t, app.URL)
	queued := e.finishRun(t, "Contact")
	start(t, e.db, e.sealer, fast)

	waitFor(t, "retries", func() bool { return e.deliveries(t)[queued[0].ID].Attempts >= 2 })
	d := e.deliveries(t)[queued[0].ID]
	if want := "HTTP 307 Temporary Redirect: redirect to " + target.URL + "/elsewhere not followed"; d.Status != storage.DeliveryPending || d.LastError != want {
		t.Errorf("redirected delivery = %+v\nwant last error %q", d, want)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

func TestSenderPrunes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	run := storage.Run{ID: "0193a000-0000-7000-8000-000000000001", Integration: "crm", Connection: "acme", Sync: "contacts", Status: storage.StatusSucceeded}
	var ds []storage.Delivery
	for i, age := range []time.Duration{8 * 24 * time.Hour, 8 * 24 * time.Hour, time.Hour} {
		ds = append(ds, storage.Delivery{ID: fmt.Sprintf("0193b000-0000-7000-8000-%012d", i), Type: webhooks.EventSyncCompleted,
			Body: json.RawMessage(`{}`), Status: storage.DeliveryDelivered, CreatedAt: now.Add(-age), NextAttemptAt: now.Add(-age)})
	}
	ds[1].Status = storage.DeliveryPending // old but never delivered: kept
	if err := e.db.FinishRun(ctx, run, ds); err != nil {
		t.Fatal(err)
	}
	start(t, e.db, e.sealer) // no webhook set: pruning does not need one
	waitFor(t, "pruning", func() bool { return len(e.deliveries(t)) == 2 })
	got := e.deliveries(t)
	if _, ok := got[ds[0].ID]; ok {
		t.Error("the old delivered delivery was kept")
	}
	if _, ok := got[ds[1].ID]; !ok {
		t.Error("the old pending delivery was pruned")
	}
}

// A Sender whose secret cannot be opened (the encryption key changed) keeps deliveries
// pending instead of sending them unsigned.
func TestSenderWithAnUnopenableSecret(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(e.secret)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.setWebhook(t, srv.URL)
	e.finishRun(t, "Contact")
	other, err := secrets.LoadOrCreateSealer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{DB: e.db}
	start(t, store, other, webhooks.WithPollEvery(2*time.Millisecond))
	waitFor(t, "a few tries", func() bool { return store.configReads.Load() >= 3 })
	for _, d := range e.deliveries(t) {
		if d.Status != storage.DeliveryPending || d.Attempts != 0 {
			t.Errorf("delivery = %+v", d)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.attempts) != 0 {
		t.Errorf("the app received %d requests", len(rc.attempts))
	}
	if _, err := other.Open([]byte("x")); !errors.Is(err, secrets.ErrUnauthentic) {
		t.Errorf("open with another key: %v", err)
	}
}

func TestNotifyNeverBlocks(t *testing.T) {
	s := webhooks.NewSender(nil, nil, nil)
	for range 100 {
		s.Notify() // no Run is reading
	}
}
