package crm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Event types, the "type" of a webhook event's body.
const (
	EventContactCreated = "contact.created"
	EventContactUpdated = "contact.updated"
	EventContactDeleted = "contact.deleted"
)

// SignatureHeader carries a webhook request's signature: "sha256=" and the hex HMAC-SHA256 of
// the raw body under the webhook's secret (see [Sign]).
const SignatureHeader = "X-Provider-Signature"

// Webhook is where a [Server] POSTs an event for every contact change, and the secret it signs
// them with. The zero value turns webhooks off.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Validate reports whether w can be used: no URL (webhooks off), or an absolute http or https
// URL with a non-empty secret. The error wraps ErrInvalid.
func (w Webhook) Validate() error {
	if w.URL == "" {
		return nil
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook: %w: \"url\" must be an absolute http or https URL, got %q", ErrInvalid, w.URL)
	}
	if w.Secret == "" {
		return fmt.Errorf("webhook: %w: \"secret\" must not be empty when \"url\" is set", ErrInvalid)
	}
	return nil
}

// Sign returns the value of the [SignatureHeader] of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Delivery bounds. Events wait in memory in change order, and one goroutine sends them one at
// a time, so the receiver sees the changes in the order they happened.
const (
	// maxQueuedEvents caps the events waiting to be sent; one beyond it is dropped (and
	// counted), so a dead receiver and a big mutation cannot exhaust memory.
	maxQueuedEvents = 100_000
	// webhookTimeout bounds one attempt.
	webhookTimeout = 10 * time.Second
)

// defaultRetryDelays are the waits before each retry of an event: three retries, so four
// attempts in about five seconds, after which the event is given up (and counted).
var defaultRetryDelays = []time.Duration{250 * time.Millisecond, time.Second, 4 * time.Second}

// SetWebhook sets where the server sends contact events from now on, and the secret it signs
// them with; a Webhook with no URL turns them off. Events already waiting go where they were
// bound when their change happened. It returns an error wrapping ErrInvalid when w does not
// validate.
func (s *Server) SetWebhook(w Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.hook = w
	return nil
}

// Webhook returns where the server sends contact events, and the secret it signs them with.
func (s *Server) Webhook() Webhook {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.hook
}

// Close stops sending webhook events: an attempt in flight is abandoned and the events still
// waiting are dropped. The server keeps serving its API. Close waits for the sending
// goroutine to end, so a test that closes the server leaves nothing running.
func (s *Server) Close() {
	s.hooks.close()
}

// notifyContact queues the event for the change that stored e: contact.created when created,
// else contact.updated. The caller holds the write lock, so events queue in change order.
func (s *Server) notifyContact(e *contactEntry, created bool) {
	typ := EventContactUpdated
	if created {
		typ = EventContactCreated
	}
	s.hooks.enqueue(event{typ: typ, id: e.c.ID, contact: e.json})
}

// notifyDeleted queues the contact.deleted event of the contact with the given id. The caller
// holds the write lock.
func (s *Server) notifyDeleted(id string) {
	s.hooks.enqueue(event{typ: EventContactDeleted, id: id})
}

// event is one contact change waiting to be sent.
type event struct {
	hook    Webhook // where it goes: the webhook set when the change happened
	typ     string
	id      string
	contact []byte // the contact's JSON, as GET /contacts serves it; nil for a deletion
}

// body returns the event's JSON: {"type", "contact"} for a created or updated contact,
// {"type", "id"} for a deleted one.
func (e event) body() []byte {
	b := make([]byte, 0, len(`{"type":"","contact":}`)+len(e.typ)+len(e.contact)+len(e.id)+8)
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, e.typ)
	if e.contact != nil {
		b = append(b, `,"contact":`...)
		b = append(b, e.contact...)
	} else {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, e.id)
	}
	return append(b, '}')
}

// notifier sends webhook events. It starts its one goroutine when an event arrives and lets
// it end when the queue is empty, so an idle server runs none.
type notifier struct {
	client    *http.Client
	log       *slog.Logger
	delays    []time.Duration // before each retry
	maxQueued int

	ctx    context.Context // ends at close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	hook    Webhook
	queue   []event
	running bool // a goroutine is sending the queue
	closed  bool

	sent, failed, dropped atomic.Int64
}

func newNotifier(hook Webhook, log *slog.Logger) *notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{
		client: &http.Client{
			Timeout: webhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is an answer that is not 2xx
			},
		},
		log:       log,
		delays:    defaultRetryDelays,
		maxQueued: maxQueuedEvents,
		ctx:       ctx,
		cancel:    cancel,
		hook:      hook,
	}
}

// enqueue queues ev for the current webhook, if one is set. It never blocks on the network.
func (n *notifier) enqueue(ev event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.hook.URL == "" || n.closed {
		return
	}
	if len(n.queue) >= n.maxQueued {
		n.dropped.Add(1)
		return
	}
	ev.hook = n.hook
	n.queue = append(n.queue, ev)
	if !n.running {
		n.running = true
		n.wg.Add(1)
		go n.run()
	}
}

// run sends the queued events in order until the queue is empty or the notifier is closed.
func (n *notifier) run() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		if len(n.queue) == 0 || n.closed {
			n.running = false
			n.mu.Unlock()
			return
		}
		ev := n.queue[0] // it stays queued, so pending counts it, until it is sent
		n.mu.Unlock()
		n.deliver(ev)
		n.mu.Lock()
		if len(n.queue) > 0 { // close empties the queue
			n.queue[0] = event{} // let the sent event's bytes go
			n.queue = n.queue[1:]
		}
		n.mu.Unlock()
	}
}

// deliver sends ev, retrying after each of n.delays, and counts the outcome.
func (n *notifier) deliver(ev event) {
	body := ev.body()
	sig := Sign([]byte(ev.hook.Secret), body)
	for attempt := 0; ; attempt++ {
		err := n.post(ev.hook.URL, ev.typ, body, sig)
		if err == nil {
			n.sent.Add(1)
			return
		}
		if attempt == len(n.delays) || n.ctx.Err() != nil {
			n.failed.Add(1)
			n.log.Warn("webhook event given up", "type", ev.typ, "id", ev.id, "url", ev.hook.URL,
				"attempts", attempt+1, "err", err)
			return
		}
		n.log.Debug("webhook attempt failed", "type", ev.typ, "id", ev.id, "attempt", attempt+1, "err", err)
		timer := time.NewTimer(n.delays[attempt])
		select {
		case <-timer.C:
		case <-n.ctx.Done():
			timer.Stop()
		}
	}
}

// errStatus marks an answer that is not 2xx.
var errStatus = errors.New("webhook answered")

// post makes one attempt at sending body.
func (n *notifier) post(target, typ string, body []byte, sig string) error {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-example-provider")
	req.Header.Set(SignatureHeader, sig)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w %d: %s", errStatus, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// close stops the notifier and waits for its goroutine.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.queue = nil
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
}

// pending returns how many events wait to be sent, the one being sent included.
func (n *notifier) pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.queue)
}
