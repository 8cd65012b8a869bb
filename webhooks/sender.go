package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
)

// Store is the outbox and the webhook's configuration, as the Sender reads and updates them.
type Store interface {
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]storage.Delivery, error)
	UpdateDelivery(ctx context.Context, d storage.Delivery) error
	NextDeliveryAt(ctx context.Context) (time.Time, bool, error)
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
	WebhookConfig(ctx context.Context) (storage.WebhookConfig, error)
}

// Sealer opens the webhook's sealed signing secret.
type Sealer interface {
	Open(sealed []byte) ([]byte, error)
}

var (
	_ Store  = (*storage.DB)(nil)
	_ Sealer = (*secrets.Sealer)(nil)
)

// Defaults of a Sender's settings.
const (
	DefaultBackoffBase = time.Second        // the wait after a first failed attempt
	DefaultBackoffMax  = time.Hour          // the longest wait between attempts (before jitter)
	DefaultGiveUpAfter = 25 * time.Hour     // how long after it was queued a delivery is retried
	DefaultTimeout     = 10 * time.Second   // one attempt's deadline, response included
	DefaultConcurrency = 4                  // attempts in flight at once
	DefaultPollEvery   = 5 * time.Second    // how often to look again while no webhook is set, or after a store error
	DefaultRetention   = 7 * 24 * time.Hour // how long delivered and failed deliveries are kept
	pruneEvery         = time.Hour
	jitter             = 0.2 // each wait is off by up to ±20%, so retries of many deliveries spread out
	maxErrorLen        = 300 // of LastError
)

// Option changes a Sender's settings.
type Option func(*options)

type options struct {
	now                     func() time.Time
	backoffBase, backoffMax time.Duration
	giveUpAfter, timeout    time.Duration
	pollEvery, retention    time.Duration
	concurrency             int
}

// WithClock makes the Sender read the time from now instead of time.Now; it decides what is
// due, backoffs and giving up. Tests move it forward to reach the give-up time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithBackoff sets the wait after a first failed attempt (base, doubled after each further
// failure) and its cap. Tests use milliseconds.
func WithBackoff(base, max time.Duration) Option {
	return func(o *options) { o.backoffBase, o.backoffMax = base, max }
}

// WithGiveUpAfter sets how long after it was queued a delivery that keeps failing is retried
// before it is marked failed.
func WithGiveUpAfter(d time.Duration) Option { return func(o *options) { o.giveUpAfter = d } }

// WithTimeout sets one attempt's deadline.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithConcurrency sets how many attempts may be in flight at once.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithPollEvery sets how often the Sender looks again for a webhook configuration while none
// is set (it is not told when one is), and after a store error.
func WithPollEvery(d time.Duration) Option { return func(o *options) { o.pollEvery = d } }

// WithRetention sets how long delivered and failed deliveries are kept, counted from when they
// were queued; they are pruned once an hour.
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// Sender delivers the outbox: it POSTs each due delivery to the app's webhook, signed, and
// records the outcome. A delivery is sent at least once: an attempt whose outcome was not
// recorded (the server stopped in between) is made again, with the same X-Ferry-Delivery id.
type Sender struct {
	store  Store
	sealer Sealer
	log    *slog.Logger
	opts   options
	client *http.Client
	wake   chan struct{}
}

// NewSender returns a Sender of store's outbox, opening the webhook's secret with sealer. Call
// Run to start it.
func NewSender(store Store, sealer Sealer, logger *slog.Logger, opts ...Option) *Sender {
	o := options{
		now: time.Now, backoffBase: DefaultBackoffBase, backoffMax: DefaultBackoffMax,
		giveUpAfter: DefaultGiveUpAfter, timeout: DefaultTimeout, concurrency: DefaultConcurrency,
		pollEvery: DefaultPollEvery, retention: DefaultRetention,
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.concurrency = max(o.concurrency, 1)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = o.concurrency
	return &Sender{
		store: store, sealer: sealer, log: logger, opts: o,
		client: &http.Client{
			Transport: transport,
			Timeout:   o.timeout,
			// A redirect is an answer, not a delivery: the app must give the URL that takes it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		wake: make(chan struct{}, 1),
	}
}

// Notify wakes the Sender to look for due deliveries now, e.g. after a run queued some. It
// never blocks.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then returns promptly: attempts in flight are abandoned, and
// as their outcome is not recorded they are made again by the next Run, on this store or
// after a restart. Call Run once at a time.
func (s *Sender) Run(ctx context.Context) {
	var lastPrune time.Time
	noConfigLogged := false
	for ctx.Err() == nil {
		if now := s.opts.now(); now.Sub(lastPrune) >= pruneEvery || now.Before(lastPrune) {
			s.prune(ctx, now)
			lastPrune = now
		}
		wait, err := s.deliverDue(ctx)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if !noConfigLogged {
				s.log.Info("webhook deliveries wait: no webhook is set (PUT /v1/webhook)")
				noConfigLogged = true
			}
		case err != nil && ctx.Err() == nil:
			s.log.Error("deliver webhooks", "err", err)
		case err == nil:
			noConfigLogged = false
		}
		if untilPrune := pruneEvery - s.opts.now().Sub(lastPrune); untilPrune < wait {
			wait = untilPrune
		}
		if wait <= 0 {
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// deliverDue makes one attempt at each delivery due now, at most a batch of them, and
// returns how long to wait before looking again.
func (s *Sender) deliverDue(ctx context.Context) (time.Duration, error) {
	batch := 8 * s.opts.concurrency
	due, err := s.store.DueDeliveries(ctx, s.opts.now(), batch)
	if err != nil {
		return s.opts.pollEvery, err
	}
	if len(due) == 0 {
		return s.untilNext(ctx)
	}
	cfg, err := s.store.WebhookConfig(ctx)
	if err != nil {
		return s.opts.pollEvery, err
	}
	secret, err := s.sealer.Open(cfg.Secret)
	if err != nil {
		return s.opts.pollEvery, fmt.Errorf("open the webhook's secret: %w", err)
	}
	var wg sync.WaitGroup
	var storeErr atomic.Pointer[error]
	slots := make(chan struct{}, s.opts.concurrency)
	for _, d := range due {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := s.attempt(ctx, cfg.URL, secret, d); err != nil {
				storeErr.Store(&err)
			}
		})
	}
	wg.Wait()
	if p := storeErr.Load(); p != nil {
		return s.opts.pollEvery, *p
	}
	if len(due) == batch {
		return 0, nil
	}
	return s.untilNext(ctx)
}

// untilNext returns how long until the next pending delivery is due; when none is, up to the
// next prune (Notify wakes the Sender earlier).
func (s *Sender) untilNext(ctx context.Context) (time.Duration, error) {
	next, ok, err := s.store.NextDeliveryAt(ctx)
	if err != nil {
		return s.opts.pollEvery, err
	}
	if !ok {
		return pruneEvery, nil
	}
	return next.Sub(s.opts.now()), nil
}

// attempt POSTs d once and records the outcome. It returns only the store's errors: the app's
// are the delivery's LastError.
func (s *Sender) attempt(ctx context.Context, url string, secret []byte, d storage.Delivery) error {
	sendErr := s.post(ctx, url, secret, d)
	if sendErr != nil && ctx.Err() != nil && errors.Is(sendErr, ctx.Err()) {
		return nil // stopped mid-attempt: it does not count, and is made again next Run
	}
	now := s.opts.now()
	d.Attempts++
	log := s.log.With("delivery", d.ID, "type", d.Type, "run", d.RunID, "attempts", d.Attempts)
	switch {
	case sendErr == nil:
		d.Status, d.DeliveredAt, d.LastError = storage.DeliveryDelivered, &now, ""
		log.Debug("webhook delivered")
	case now.Sub(d.CreatedAt) > s.opts.giveUpAfter:
		d.Status, d.LastError = storage.DeliveryFailed, truncate(sendErr.Error())
		log.Warn("webhook delivery given up", "queued", d.CreatedAt, "err", sendErr)
	default:
		d.NextAttemptAt, d.LastError = now.Add(s.backoff(d.Attempts)), truncate(sendErr.Error())
		log.Info("webhook attempt failed", "next_attempt", d.NextAttemptAt, "err", sendErr)
	}
	// Record even when ctx has just ended: the app has the delivery, and not recording it
	// would only send it again.
	return s.store.UpdateDelivery(context.WithoutCancel(ctx), d)
}

// post sends d to url: nil if the app answered 2xx.
func (s *Sender) post(ctx context.Context, url string, secret []byte, d storage.Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return fmt.Errorf("build request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ferry-Webhooks/1")
	req.Header.Set(HeaderSignature, Sign(secret, d.Body))
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderEvent, d.Type)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return nil
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		return fmt.Errorf("HTTP %s: redirect to %s not followed", resp.Status, loc)
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if msg := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); msg != "" {
		return fmt.Errorf("HTTP %s: %s", resp.Status, msg)
	}
	return fmt.Errorf("HTTP %s", resp.Status)
}

// backoff is the wait after the attempts-th failed attempt: base, doubled after each further
// failure, capped, with jitter.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.opts.backoffMax
	if shift := attempts - 1; shift < 40 {
		if b := s.opts.backoffBase << shift; b > 0 && b < d {
			d = b
		}
	}
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*rand.Float64()))
}

// prune deletes finished deliveries past the retention.
func (s *Sender) prune(ctx context.Context, now time.Time) {
	n, err := s.store.PruneDeliveries(ctx, now.Add(-s.opts.retention))
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Error("prune webhook deliveries", "err", err)
	case n > 0:
		s.log.Info("pruned webhook deliveries", "deleted", n)
	}
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorLen], "") + "…"
}
