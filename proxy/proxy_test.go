package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo is a provider that answers with what it received, as
// "METHOD PATH?QUERY|Authorization|X-Api-Key|body", and keeps the last of it: the proxy
// redacts the credentials in what the plugin gets back.
type echo struct {
	*httptest.Server
	last atomic.Value // string
}

func echoServer(t *testing.T) *echo {
	t.Helper()
	e := &echo{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := fmt.Sprintf("%s %s|%s|%s|%s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), body)
		e.last.Store(got)
		fmt.Fprint(w, got)
	}))
	t.Cleanup(e.Close)
	return e
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDoAuthAndResolve(t *testing.T) {
	srv := echoServer(t)
	tests := []struct {
		name   string
		target Target
		req    Request
		want   string
		logURL string
	}{
		{
			name:   "bearer, plugin's own Authorization dropped",
			target: Target{Auth: Auth{Type: "bearer"}, Credentials: map[string]string{"token": "s3cret-token"}},
			req:    Request{Method: "GET", Path: "/contacts", Header: http.Header{"Authorization": {"Bearer mine"}}},
			want:   "GET /contacts|Bearer s3cret-token||",
		},
		{
			name:   "header auth, plugin cannot set that header",
			target: Target{Auth: Auth{Type: "header", Name: "X-Api-Key"}, Credentials: map[string]string{"value": "k-123456"}},
			req:    Request{Method: "POST", Path: "items", Header: http.Header{"X-API-KEY": {"forged"}}, Body: []byte(`{"a":1}`)},
			want:   `POST /items||k-123456|{"a":1}`,
		},
		{
			name:   "query auth is redacted in the log and overrides the plugin's",
			target: Target{Auth: Auth{Type: "query", Name: "api_key"}, Credentials: map[string]string{"value": "q-secret"}},
			req:    Request{Method: "GET", Path: "/x?page=2", Query: url.Values{"api_key": {"forged"}, "limit": {"10"}}},
			want:   "GET /x?api_key=q-secret&limit=10&page=2|||",
			logURL: "/x?limit=10&page=2",
		},
		{
			name:   "basic",
			target: Target{Auth: Auth{Type: "basic"}, Credentials: map[string]string{"username": "user-1", "password": "pass-1"}},
			req:    Request{Method: "GET", Path: "/"},
			want:   "GET /|Basic dXNlci0xOnBhc3MtMQ==||",
		},
		{
			name:   "base path is a prefix",
			target: Target{Auth: Auth{Type: "none"}, BaseURL: mustURL(t, srv.URL+"/api/v2/")},
			req:    Request{Method: "GET", Path: "/contacts", Query: url.Values{"a": {"b"}}},
			want:   "GET /api/v2/contacts?a=b|||",
		},
		{
			name:   "absolute URL to the base host",
			target: Target{Auth: Auth{Type: "none"}},
			req:    Request{Method: "GET", URL: srv.URL + "/abs"},
			want:   "GET /abs|||",
		},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.target.BaseURL == nil {
				tt.target.BaseURL = mustURL(t, srv.URL)
			}
			tt.target.Key = tt.name
			tt.target.AllowPrivate = true // the provider is on loopback
			resp, ex, err := c.Do(context.Background(), &tt.target, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := srv.last.Load().(string); got != tt.want {
				t.Errorf("provider saw %q, want %q", got, tt.want)
			}
			wantBack := tt.want
			for _, secret := range tt.target.echoedSecrets() {
				wantBack = strings.ReplaceAll(wantBack, string(secret), "REDACTED")
			}
			if got := string(resp.Body); got != wantBack {
				t.Errorf("plugin got %q, want %q", got, wantBack)
			}
			if ex.Status != 200 || ex.Method != tt.req.Method {
				t.Errorf("exchange = %+v", ex)
			}
			for _, secret := range tt.target.Credentials {
				if strings.Contains(ex.URL, secret) {
					t.Errorf("exchange URL %q shows a secret", ex.URL)
				}
			}
			if tt.logURL != "" && !strings.HasSuffix(ex.URL, tt.logURL) {
				t.Errorf("exchange URL = %q, want suffix %q", ex.URL, tt.logURL)
			}
		})
	}
}

func TestDoRefusesHosts(t *testing.T) {
	srv := echoServer(t)
	base := mustURL(t, srv.URL)
	tests := []struct {
		name    string
		allowed []string
		req     Request
		wantErr string
	}{
		{"other host", nil, Request{Method: "GET", URL: "http://example.com/x"}, `host "example.com" is not in the allowed hosts`},
		{"relative url", nil, Request{Method: "GET", URL: "/x"}, "not absolute"},
		{"scheme", []string{"example.com"}, Request{Method: "GET", URL: "ftp://example.com/x"}, `scheme "ftp" not allowed`},
		{"userinfo", nil, Request{Method: "GET", URL: "http://a:b@" + base.Host + "/"}, "credentials in the URL"},
		{"absolute path", nil, Request{Method: "GET", Path: "http://example.com/x"}, "must be a path relative"},
		{"wildcard does not match the bare domain", []string{"*.example.com"}, Request{Method: "GET", URL: "http://example.com/"}, "not in the allowed hosts"},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ex, err := c.Do(context.Background(), &Target{AllowPrivate: true, BaseURL: base, AllowedHosts: tt.allowed}, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if ex.Err == "" {
				t.Error("exchange has no error")
			}
		})
	}
}

func TestAllowedHosts(t *testing.T) {
	target := Target{AllowedHosts: []string{"api.example.com", "files.example.com:8443", "*.cdn.example.net"}}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://api.example.com/x", true},
		{"https://api.example.com:9999/x", false},
		{"https://api.example.com:443/x", true},
		{"http://api.example.com/x", true},
		{"https://files.example.com:8443/x", true},
		{"https://files.example.com/x", false},
		{"https://a.cdn.example.net/x", true},
		{"https://evil.com/?api.example.com", false},
		{"https://api.example.com.evil.com/", false},
	}
	for _, tt := range tests {
		if got := target.allowed(mustURL(t, tt.url)); got != tt.want {
			t.Errorf("allowed(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestDoRetries(t *testing.T) {
	tests := []struct {
		name        string
		statuses    []int // answered in turn; the last one repeats
		header      http.Header
		retries     int
		wantStatus  int
		wantRetries int
	}{
		{"503 then 200", []int{503, 503, 200}, nil, 3, 200, 2},
		{"429 with Retry-After", []int{429, 200}, http.Header{"Retry-After": {"0"}}, 3, 200, 1},
		{"gives up with the last answer", []int{502}, nil, 2, 502, 2},
		{"404 is final", []int{404, 200}, nil, 3, 404, 0},
		{"no retries configured", []int{500, 200}, nil, 0, 500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := min(int(n.Add(1))-1, len(tt.statuses)-1)
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.statuses[i])
			}))
			defer srv.Close()
			c := New()
			c.backoff = func(int) time.Duration { return 0 }
			resp, ex, err := c.Do(context.Background(), &Target{AllowPrivate: true, BaseURL: mustURL(t, srv.URL), Retries: tt.retries}, Request{Method: "GET", Path: "/"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus || ex.Retries != tt.wantRetries {
				t.Errorf("status %d after %d retries, want %d after %d", resp.Status, ex.Retries, tt.wantStatus, tt.wantRetries)
			}
			if int(n.Load()) != tt.wantRetries+1 {
				t.Errorf("provider saw %d requests, want %d", n.Load(), tt.wantRetries+1)
			}
		})
	}
}

func TestDoNetworkErrorAfterRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	base := mustURL(t, srv.URL)
	srv.Close() // nothing listens there any more
	c := New()
	c.backoff = func(int) time.Duration { return 0 }
	_, ex, err := c.Do(context.Background(), &Target{AllowPrivate: true, BaseURL: base, Retries: 2}, Request{Method: "GET", Path: "/"})
	if err == nil {
		t.Fatal("want an error")
	}
	if ex.Retries != 2 || ex.Err == "" {
		t.Errorf("exchange = %+v, want 2 retries and an error", ex)
	}
}

func TestDoTimeoutAndRedirect(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
			return
		}
		http.Redirect(w, r, "http://example.com/", http.StatusFound)
	}))
	defer srv.Close()
	defer close(release)
	c := New()
	target := &Target{AllowPrivate: true, BaseURL: mustURL(t, srv.URL), Timeout: 50 * time.Millisecond}
	_, _, err := c.Do(context.Background(), target, Request{Method: "GET", Path: "/slow"})
	if err == nil || !strings.Contains(err.Error(), "no response within the 50ms request timeout") {
		t.Errorf("slow: err = %v", err)
	}
	resp, _, err := c.Do(context.Background(), target, Request{Method: "GET", Path: "/redirect"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusFound || resp.Header.Get("Location") != "http://example.com/" {
		t.Errorf("redirect was followed or lost: %d %v", resp.Status, resp.Header)
	}
}

// A failed request's error reaches the plugin and the log without the query-auth secret,
// however short, even though net/http's own error quotes the URL.
func TestErrorsAreRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	base := mustURL(t, srv.URL)
	srv.Close()
	for _, secret := range []string{"TOPSECRET123", "ab"} {
		target := &Target{AllowPrivate: true, BaseURL: base, Auth: Auth{Type: "query", Name: "api_key"}, Credentials: map[string]string{"value": secret}}
		_, ex, err := New().Do(context.Background(), target, Request{Method: "GET", Path: "/x"})
		if err == nil {
			t.Fatal("want a connection error")
		}
		for _, s := range []string{err.Error(), ex.Err, ex.URL} {
			if strings.Contains(s, "api_key="+secret) || !strings.Contains(err.Error(), "REDACTED") {
				t.Errorf("secret %q shows: %q", secret, s)
			}
		}
	}
}

func TestNoDowngradeToPlainHTTP(t *testing.T) {
	target := &Target{AllowPrivate: true, BaseURL: mustURL(t, "https://api.example.com")}
	_, _, err := New().Do(context.Background(), target, Request{Method: "GET", URL: "http://api.example.com/x"})
	if err == nil || !strings.Contains(err.Error(), "plain http is not allowed") {
		t.Errorf("err = %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"-3", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(http.Header{"Retry-After": {tt.value}}, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

// A body is read whole whether or not the response states its length, and a body shorter
// than the length it states is an error, not a shorter body.
func TestReadBody(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		wantErr string
	}{
		{"length stated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			io.WriteString(w, big)
		}, big, ""},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, big[:50_000])
			w.(http.Flusher).Flush()
			io.WriteString(w, big[50_000:])
		}, big, ""},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "", ""},
		{"shorter than stated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "short")
		}, "", "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := readBody(resp)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Error(err)
			case string(got) != tt.want:
				t.Errorf("read %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}
