package syncs

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/records"
)

// faultyFront stands before a provider and spoils the first answers as its script says, one
// fault a request; later requests reach the provider. Every answer closes its connection, so
// that each attempt the proxy makes is one request here.
type faultyFront struct {
	mu       sync.Mutex
	script   []string // "503", "reset", "truncated", "429" (Retry-After: 1), "always-503"
	requests int
	next     http.Handler
}

func (f *faultyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := ""
	if n := f.requests; n < len(f.script) {
		fault = f.script[n]
	} else if len(f.script) > 0 && f.script[len(f.script)-1] == "always-503" {
		fault = "always-503"
	}
	f.requests++
	f.mu.Unlock()
	w.Header().Set("Connection", "close")
	switch fault {
	case "":
		f.next.ServeHTTP(w, r)
	case "503", "always-503":
		http.Error(w, "provider overloaded", http.StatusServiceUnavailable)
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case "reset":
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	case "truncated":
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(`[{"id":"trunc`))
	}
}

func (f *faultyFront) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// A run whose provider fails now and then completes, each failure retried; one whose
// provider keeps failing fails with the provider's answer after the manifest's retries (3),
// deleting nothing.
func TestProviderFaultsDuringARun(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, "items-incremental.yaml", "kitchen")
	e.provider.set("a", "b")
	tests := []struct {
		name      string
		script    []string
		status    string
		counts    records.Counts
		errPart   string
		wantTries int
	}{
		{"a 503, a reset and a truncated body", []string{"503", "reset", "truncated"}, StatusSucceeded, records.Counts{Added: 2}, "", 4},
		{"429 with Retry-After", []string{"429"}, StatusSucceeded, records.Counts{Added: 2}, "", 2},
		{"a burst longer than the retries", []string{"503", "503", "503", "503", "503"}, StatusFailed, records.Counts{}, "503", 4},
		{"down for good", []string{"always-503"}, StatusFailed, records.Counts{}, "503", 4},
		{"resets for good", []string{"reset", "reset", "reset", "reset", "reset"}, StatusFailed, records.Counts{}, "connection reset by peer", 4},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			front := &faultyFront{script: tt.script, next: e.provider}
			srv := httptest.NewServer(front)
			defer srv.Close()
			conn := "faulty-" + strconv.Itoa(i)
			if _, _, err := e.runner.cfg.Connections.Put(context.Background(), "items", conn,
				connections.Put{Credentials: map[string]string{"token": "test-token"}, BaseURL: &srv.URL}); err != nil {
				t.Fatal(err)
			}
			run := e.run(t, "items", conn, "items", TriggerOptions{})
			wantRun(t, run, tt.status, tt.counts, tt.errPart)
			if got := front.count(); got != tt.wantTries {
				t.Errorf("the provider saw %d requests, want %d", got, tt.wantTries)
			}
			log, err := e.db.RunLog(context.Background(), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			var logged bool
			for _, entry := range log {
				if h := entry.HTTP; h != nil && h.Retries == tt.wantTries-1 {
					logged = true
				}
			}
			if !logged {
				t.Errorf("the run's log does not show the request with %d retries: %+v", tt.wantTries-1, log)
			}
		})
	}
}

// pagesProvider serves the hostile plugin's paging syncs 20 pages per model and notes when each request came.
type pagesProvider struct {
	mu    sync.Mutex
	times []time.Time
}

const pagesPerModel = 20

func (p *pagesProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.times = append(p.times, time.Now())
	p.mu.Unlock()
	model := r.URL.Query().Get("model")
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page := map[string]any{"items": []map[string]string{{"id": fmt.Sprintf("%s-%d", model, n)}}}
	if n+1 < pagesPerModel {
		page["next"] = n + 1
	}
	json.NewEncoder(w).Encode(page)
}

// The manifest's rate limit (10 per second, bursts of 3) is a token bucket per connection:
// measured at the provider over two syncs of one connection running at once, no stretch of
// time ever holds more requests than the bucket allows, give or take the network's jitter.
func TestRateLimitHoldsAcrossRuns(t *testing.T) {
	e := newEnv(t)
	m := e.deployWith(t, "pages.yaml", "hostile")
	provider := &pagesProvider{}
	srv := httptest.NewServer(provider)
	defer srv.Close()
	if _, _, err := e.runner.cfg.Connections.Put(context.Background(), "pages", "acme", connections.Put{BaseURL: &srv.URL}); err != nil {
		t.Fatal(err)
	}
	a, err := e.runner.Trigger(context.Background(), "pages", "acme", "pages-a", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.runner.Trigger(context.Background(), "pages", "acme", "pages-b", TriggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runA, runB := e.wait(t, a.ID), e.wait(t, b.ID)
	for _, run := range []struct {
		model string
		ended string
		added int
	}{{"A", runA.Status, runA.Counts["A"].Added}, {"B", runB.Status, runB.Counts["B"].Added}} {
		if run.ended != StatusSucceeded || run.added != pagesPerModel {
			t.Fatalf("sync of %s: %s, %d added", run.model, run.ended, run.added)
		}
	}
	if runA.EndedAt.Before(runB.StartedAt) || runB.EndedAt.Before(runA.StartedAt) {
		t.Fatalf("the runs did not overlap: %v–%v and %v–%v", runA.StartedAt, runA.EndedAt, runB.StartedAt, runB.EndedAt)
	}

	provider.mu.Lock()
	times := slices.Clone(provider.times)
	provider.mu.Unlock()
	slices.SortFunc(times, func(x, y time.Time) int { return x.Compare(y) })
	if len(times) != 2*pagesPerModel {
		t.Fatalf("the provider saw %d requests, want %d", len(times), 2*pagesPerModel)
	}
	rate, burst := m.Provider.RateLimit.PerSecond, float64(m.Provider.RateLimit.Burst)
	// A request reaches the provider a little after the bucket let it go; allow a tenth of a
	// second of that, and one request for rounding.
	slack := 1 + rate*0.1
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			n := float64(j - i + 1)
			allowed := burst + rate*times[j].Sub(times[i]).Seconds() + slack
			if n > allowed {
				t.Fatalf("requests %d to %d: %.0f in %s, more than the bucket allows (%.1f)", i, j, n, times[j].Sub(times[i]), allowed)
			}
		}
	}
	// The same, as a reader of the provider's logs would count: requests per second.
	perSecond := map[int64]int{}
	for _, at := range times {
		perSecond[at.Unix()]++
	}
	for sec, n := range perSecond {
		if float64(n) > rate+burst+slack {
			t.Errorf("second %d saw %d requests", sec, n)
		}
	}
	t.Logf("%d requests in %s, per second: %v", len(times), times[len(times)-1].Sub(times[0]).Round(time.Millisecond), perSecond)
}
