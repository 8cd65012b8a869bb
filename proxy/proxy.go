package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for a Target's zero values.
const (
	DefaultTimeout = 30 * time.Second
	// MaxBodySize bounds a response body a plugin may receive.
	MaxBodySize = 64 << 20
	// maxRetryWait caps a single wait between attempts, whatever Retry-After asks for.
	maxRetryWait = 2 * time.Minute
)

// Request is a plugin's HTTP request, before the host adds anything.
type Request struct {
	Method string
	// Path is resolved against the target's base URL; URL is an absolute URL instead.
	Path   string
	URL    string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Response is what the plugin gets back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Auth says how a connection's credentials go into a request.
type Auth struct {
	// Type is one of bearer, header, query, basic, none.
	Type string
	// Name is the header (type header) or query parameter (type query) that carries the secret.
	Name string
}

// Target is the connection a request is made for.
type Target struct {
	// Key identifies the connection for rate limiting, e.g. "crm/acme".
	Key     string
	BaseURL *url.URL
	// AllowedHosts are hosts ("api.example.com", any port), host:port pairs, or "*.example.com".
	// The base URL's host is always allowed.
	AllowedHosts []string
	Auth         Auth
	// Credentials by name: token (bearer), value (header, query), username and password (basic).
	Credentials map[string]string
	// RatePerSecond and Burst set the connection's token bucket; 0 means unlimited.
	RatePerSecond float64
	Burst         int
	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a failed attempt is retried.
	Retries int
	// AllowPrivate lets requests reach loopback, private, link-local and other non-public
	// addresses (see PrivateRange), which are refused otherwise. The check is made on the
	// address actually dialled, after DNS resolution.
	AllowPrivate bool
}

// Exchange describes one request for the run's log. URL has its secrets redacted.
type Exchange struct {
	Method   string
	URL      string
	Status   int
	Duration time.Duration
	Retries  int
	Err      string
}

// Client sends requests for every connection; it keeps one token bucket per Target.Key, so all
// runs of a connection share its rate limit. A Client is safe for concurrent use.
type Client struct {
	// public reaches only public addresses; private, for targets with AllowPrivate, any. They
	// are separate so that a pooled connection to a private address opened for one target is
	// never reused for a target that may not reach it.
	public, private *http.Client

	mu       sync.Mutex
	limiters map[string]*rate.Limiter

	// backoff returns the wait before retry n (1-based); replaced in tests.
	backoff func(n int) time.Duration
	// sleep waits d or until ctx ends; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Client.
func New() *Client {
	return &Client{
		public:   newHTTPClient(false),
		private:  newHTTPClient(true),
		limiters: make(map[string]*rate.Limiter),
		backoff:  jitteredBackoff,
		sleep:    sleep,
	}
}

// newHTTPClient returns an HTTP client that follows no redirect and, unless allowPrivate,
// connects to public addresses only.
func newHTTPClient(allowPrivate bool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	transport.DialContext = newDialer(allowPrivate).DialContext
	// A forward proxy from the environment would do the DNS resolution and the connecting
	// itself, out of reach of the address check: providers are always dialled directly.
	transport.Proxy = nil
	return &http.Client{
		Transport: transport,
		// A redirect could lead the credentials to a host that is not allowed; the plugin
		// sees the 3xx and decides.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Do sends req for target t and returns the final response, after retries. A response of any
// status is a result; an error means no response could be had (a host not allowed, a network
// error on the last attempt, the context ending). The Exchange is filled in either way.
func (c *Client) Do(ctx context.Context, t *Target, req Request) (*Response, Exchange, error) {
	start := time.Now()
	ex := Exchange{Method: req.Method}
	u, err := t.resolve(req)
	if err != nil {
		ex.URL = redactString(req.Path+req.URL, t)
		ex.Err = redactString(err.Error(), t)
		return nil, ex, errors.New(ex.Err)
	}
	ex.URL = redact(u, t)
	limiter := c.limiter(t)
	var resp *Response
	for attempt := 0; ; attempt++ {
		ex.Retries = attempt
		if err = limiter.Wait(ctx); err != nil {
			err = fmt.Errorf("waiting for the rate limit: %w", err)
			break
		}
		resp, err = c.attempt(ctx, t, req, u)
		if attempt >= t.Retries || !retryable(ctx, resp, err) {
			break
		}
		wait := c.backoff(attempt + 1)
		if resp != nil {
			if ra, ok := providerWait(resp, time.Now()); ok {
				wait = ra
			}
		}
		if wait > maxRetryWait {
			wait = maxRetryWait
		}
		if werr := c.sleep(ctx, wait); werr != nil {
			err = fmt.Errorf("waiting to retry: %w", werr)
			resp = nil
			break
		}
	}
	ex.Duration = time.Since(start)
	if err != nil {
		// net/http's errors quote the request's URL, which holds a query-auth secret: the
		// message goes to the plugin and the log only redacted, and so not wrapped.
		ex.Err = redactString(err.Error(), t)
		return nil, ex, fmt.Errorf("%s %s: %s", req.Method, ex.URL, ex.Err)
	}
	ex.Status = resp.Status
	return resp, ex, nil
}

// permanentError is an attempt's failure that another attempt would repeat.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func (c *Client) attempt(parent context.Context, t *Target, req Request, u *url.URL) (*Response, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, permanentError{err}
	}
	for name, values := range req.Header {
		if t.secretHeader(name) {
			continue
		}
		for _, v := range values {
			hreq.Header.Add(name, v)
		}
	}
	t.authorize(hreq)
	client := c.public
	if t.AllowPrivate {
		client = c.private
	}
	hresp, err := client.Do(hreq)
	var blocked *BlockedAddressError
	if errors.As(err, &blocked) {
		return nil, permanentError{blocked}
	}
	if err == nil {
		defer hresp.Body.Close()
		var data []byte
		data, err = readBody(hresp)
		switch {
		case err != nil:
			err = fmt.Errorf("read response body: %w", err)
		case len(data) > MaxBodySize:
			return nil, permanentError{fmt.Errorf("response body over the %d-byte limit", MaxBodySize)}
		default:
			resp := &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: data}
			t.redactResponse(resp)
			return resp, nil
		}
	}
	if parent.Err() == nil && ctx.Err() != nil {
		return nil, fmt.Errorf("no response within the %s request timeout", timeout)
	}
	return nil, err
}

func (c *Client) limiter(t *Target) *rate.Limiter {
	limit, burst := rate.Inf, 0
	if t.RatePerSecond > 0 {
		limit, burst = rate.Limit(t.RatePerSecond), max(t.Burst, 1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limiters[t.Key]
	if l == nil {
		l = rate.NewLimiter(limit, burst)
		c.limiters[t.Key] = l
		return l
	}
	// A new version may change the limit; keep the bucket's state otherwise.
	if l.Limit() != limit || l.Burst() != burst {
		l.SetLimit(limit)
		l.SetBurst(burst)
	}
	return l
}

// retryable reports whether an attempt that ended so is worth another: any transport failure
// (reset, timeout, truncated body) or a status that says "later".
func retryable(ctx context.Context, resp *Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		var perm permanentError
		return !errors.As(err, &perm)
	}
	switch resp.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// providerWait is how long the provider asked us to wait before trying again: Retry-After on
// any retryable answer, else, on a 429, X-RateLimit-Reset.
func providerWait(resp *Response, now time.Time) (time.Duration, bool) {
	if d, ok := retryAfter(resp.Header, now); ok {
		return d, true
	}
	if resp.Status == http.StatusTooManyRequests {
		return rateLimitReset(resp.Header, now)
	}
	return 0, false
}

// Thresholds that tell the forms of X-RateLimit-Reset apart: providers send the moment the
// window resets as Unix seconds (GitHub, Okta) or milliseconds, or the seconds left until then
// (others). No delta comes near a billion seconds (31 years), and no Unix time in seconds of
// this century is below it, nor any in milliseconds below a trillion.
const (
	epochSecondsFrom = 1_000_000_000
	epochMillisFrom  = 1_000_000_000_000
)

// rateLimitReset reads X-RateLimit-Reset as a Unix time (seconds or milliseconds) or as seconds
// from now, deciding by magnitude.
func rateLimitReset(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	switch {
	case n >= epochMillisFrom:
		return max(time.UnixMilli(int64(n)).Sub(now), 0), true
	case n >= epochSecondsFrom:
		return max(time.Unix(int64(n), 0).Sub(now), 0), true
	}
	return time.Duration(n * float64(time.Second)), true
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// jitteredBackoff is exponential backoff from 250ms with full jitter, capped at 30s.
func jitteredBackoff(n int) time.Duration {
	ceiling := min(250*time.Millisecond<<min(n-1, 7), 30*time.Second)
	return ceiling/2 + rand.N(ceiling/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// readBody reads a response's body, up to one byte past MaxBodySize. A body whose length the
// response states (net/http holds the body to it) is read into one buffer of that size:
// io.ReadAll would grow its buffer from 512 bytes, copying and clearing some twice the body
// on the way.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= MaxBodySize {
		buf := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
}
