package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is how the fault-injecting provider answers one request.
type fault func(w http.ResponseWriter, r *http.Request)

func status(code int, header ...string) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}
}

// reset drops the connection with a TCP reset before answering.
func reset(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// slow answers only after the client has given up.
func slow(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// truncated promises 100 bytes, sends 10 and hangs up.
func truncated(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "100")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("0123456789"))
}

// faultyProvider answers request n with script[n], the last fault repeating, and counts the
// requests it sees. Every answer closes its connection, so the client's transport never
// retries on its own behind the proxy's back.
type faultyProvider struct {
	*httptest.Server
	mu       sync.Mutex
	script   []fault
	requests int
}

func newFaultyProvider(t *testing.T, script ...fault) *faultyProvider {
	p := &faultyProvider{script: script}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f := p.script[min(p.requests, len(p.script)-1)]
		p.requests++
		p.mu.Unlock()
		w.Header().Set("Connection", "close")
		f(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *faultyProvider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// TestProviderFaults sends one request through a provider that misbehaves: transient faults
// end in the provider's good answer, lasting ones in a clear error or the provider's last
// answer, and never in more than Retries+1 attempts. The waits between attempts are recorded,
// not slept, so that a provider asking for 90 seconds costs the test nothing.
func TestProviderFaults(t *testing.T) {
	now := time.Now()
	// A reset given in Unix seconds drops now's fraction of a second: the wait it asks for is
	// from 30 to 31 seconds, whole at the earliest, less the time the test takes to get there.
	resetSecs := now.Add(31 * time.Second).Unix()
	tests := []struct {
		name       string
		script     []fault
		retries    int
		wantStatus int    // the answer the plugin gets; 0 when it gets an error
		wantErr    string // part of that error
		wantTries  int    // requests the provider sees
		// wantWaits are the waits before each retry, each within a second above its value
		// (HTTP dates and Unix times have a second's precision).
		wantWaits []time.Duration
	}{
		{name: "5xx burst, then an answer", script: []fault{status(503), status(502), status(500), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 4, wantWaits: []time.Duration{backoffMark(1), backoffMark(2), backoffMark(3)}},
		{name: "5xx for good: the last answer, after the retries", script: []fault{status(503)}, retries: 2,
			wantStatus: 503, wantTries: 3, wantWaits: []time.Duration{backoffMark(1), backoffMark(2)}},
		{name: "504 is retried", script: []fault{status(504), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{backoffMark(1)}},
		{name: "404 is final", script: []fault{status(404), status(200)}, retries: 3, wantStatus: 404, wantTries: 1},
		{name: "429 with Retry-After in seconds", script: []fault{status(429, "Retry-After", "7"), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "429 with Retry-After as an HTTP date", script: []fault{
			func(w http.ResponseWriter, r *http.Request) {
				status(429, "Retry-After", time.Now().Add(91*time.Second).UTC().Format(http.TimeFormat))(w, r)
			}, status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{90 * time.Second}},
		{name: "429 with X-RateLimit-Reset in seconds from now", script: []fault{status(429, "X-RateLimit-Reset", "5"), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{5 * time.Second}},
		{name: "429 with X-RateLimit-Reset as a Unix time", script: []fault{
			status(429, "X-RateLimit-Reset", strconv.FormatInt(resetSecs, 10)), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{time.Unix(resetSecs, 0).Sub(now) - time.Second}},
		{name: "429 with X-RateLimit-Reset in Unix milliseconds", script: []fault{
			status(429, "X-RateLimit-Reset", strconv.FormatInt(now.Add(12*time.Second).UnixMilli(), 10)), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{11 * time.Second}},
		{name: "Retry-After wins over X-RateLimit-Reset", script: []fault{
			status(429, "Retry-After", "2", "X-RateLimit-Reset", "50"), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{2 * time.Second}},
		{name: "a 500's X-RateLimit-Reset is not a request to wait", script: []fault{status(500, "X-RateLimit-Reset", "3600"), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{backoffMark(1)}},
		{name: "a wait of an hour is capped", script: []fault{status(429, "Retry-After", "3600"), status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{maxRetryWait}},
		{name: "429 for good: the 429, after the retries", script: []fault{status(429, "Retry-After", "1")}, retries: 2,
			wantStatus: 429, wantTries: 3, wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "connection resets, then an answer", script: []fault{reset, reset, status(200)}, retries: 3,
			wantStatus: 200, wantTries: 3, wantWaits: []time.Duration{backoffMark(1), backoffMark(2)}},
		{name: "connection resets for good", script: []fault{reset}, retries: 2,
			wantErr: "connection reset by peer", wantTries: 3, wantWaits: []time.Duration{backoffMark(1), backoffMark(2)}},
		{name: "slower than the timeout, then an answer", script: []fault{slow, status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{backoffMark(1)}},
		{name: "slower than the timeout for good", script: []fault{slow}, retries: 2,
			wantErr: "no response within the 200ms request timeout", wantTries: 3, wantWaits: []time.Duration{backoffMark(1), backoffMark(2)}},
		{name: "a truncated body, then a whole one", script: []fault{truncated, status(200)}, retries: 3,
			wantStatus: 200, wantTries: 2, wantWaits: []time.Duration{backoffMark(1)}},
		{name: "truncated bodies for good", script: []fault{truncated}, retries: 1,
			wantErr: "read response body: unexpected EOF", wantTries: 2, wantWaits: []time.Duration{backoffMark(1)}},
		{name: "no retries configured", script: []fault{reset, status(200)}, retries: 0, wantErr: "connection reset", wantTries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFaultyProvider(t, tt.script...)
			c := New()
			c.backoff = backoffMark
			var waits []time.Duration
			c.sleep = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				return ctx.Err()
			}
			target := &Target{Key: tt.name, BaseURL: mustURL(t, p.URL), AllowPrivate: true, Retries: tt.retries, Timeout: 200 * time.Millisecond}
			resp, ex, err := c.Do(context.Background(), target, Request{Method: "GET", Path: "/x"})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "GET "+p.URL+"/x: ") || ex.Err == "" {
					t.Errorf("err = %q, exchange %+v: want the request named and the error logged", err, ex)
				}
			case err != nil:
				t.Fatal(err)
			case resp.Status != tt.wantStatus || ex.Status != tt.wantStatus:
				t.Fatalf("status %d (logged %d), want %d", resp.Status, ex.Status, tt.wantStatus)
			}
			if got := p.count(); got != tt.wantTries || ex.Retries != tt.wantTries-1 {
				t.Errorf("provider saw %d requests, exchange says %d retries; want %d requests", got, ex.Retries, tt.wantTries)
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits %v, want %v", waits, tt.wantWaits)
			}
			for i, want := range tt.wantWaits {
				if waits[i] < want || waits[i] > want+time.Second {
					t.Errorf("wait %d = %s, want %s (up to a second more)", i, waits[i], want)
				}
			}
		})
	}
}

// backoffMark is a recognisable backoff, so a test can tell it from a provider's wait.
func backoffMark(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// A wait for a retry that would outlast the run ends with the run: the proxy gives up with an
// error rather than keep a dead run's worker.
func TestRetryWaitEndsWithTheRun(t *testing.T) {
	p := newFaultyProvider(t, status(429, "Retry-After", "60"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, ex, err := New().Do(ctx, &Target{BaseURL: mustURL(t, p.URL), AllowPrivate: true, Retries: 3}, Request{Method: "GET", Path: "/"})
	if err == nil || !strings.Contains(err.Error(), "waiting to retry: context deadline exceeded") {
		t.Fatalf("err = %v", err)
	}
	if p.count() != 1 || ex.Retries != 0 {
		t.Errorf("provider saw %d requests, exchange %+v", p.count(), ex)
	}
}

func TestRateLimitReset(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"30", 30 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"1800000045", 45 * time.Second, true},
		{"1799999990", 0, true}, // already past
		{"1800000002500", 2500 * time.Millisecond, true},
		{"-4", 0, false},
		{"soon", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
	}
	for _, tt := range tests {
		got, ok := rateLimitReset(http.Header{"X-Ratelimit-Reset": {tt.value}}, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("rateLimitReset(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}
