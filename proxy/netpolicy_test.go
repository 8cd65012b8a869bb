package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPrivateRange(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"}, // IPv4-mapped: judged as IPv4
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd00:ec2::254", "private"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"100.100.100.200", "shared (carrier-grade NAT)"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"172.32.0.1", ""},
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"2606:4700::1111", ""},
	}
	for _, tt := range tests {
		if got := PrivateRange(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("PrivateRange(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// A provider on loopback is reached only by a target that allows private networks, whatever
// name or address the request uses; the refusal is final (no retries) and nothing reaches the
// provider.
func TestDoRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	port := mustURL(t, srv.URL).Port()
	tests := []struct {
		name         string
		base         string
		allowed      []string
		req          Request
		allowPrivate bool
		wantErr      string // "" for success
	}{
		{name: "loopback IP", base: srv.URL, wantErr: "address 127.0.0.1 is a loopback address, not on the public internet; the manifest must set provider.allow_private_networks: true"},
		{name: "loopback IP allowed", base: srv.URL, allowPrivate: true},
		{name: "a host name that resolves to loopback", base: "http://localhost:" + port, wantErr: "is a loopback address"},
		{name: "a host name that resolves to loopback, allowed", base: "http://localhost:" + port, allowPrivate: true},
		{name: "IPv6 loopback", base: "http://[::1]:" + port, wantErr: "address ::1 is a loopback address"},
		{name: "IPv4-mapped IPv6 loopback", base: "http://[::ffff:127.0.0.1]:" + port, wantErr: "address 127.0.0.1 is a loopback address"},
		{name: "unspecified", base: "http://0.0.0.0:" + port, wantErr: "address 0.0.0.0 is an unspecified address"},
		{name: "cloud metadata", base: "http://169.254.169.254", wantErr: "address 169.254.169.254 is a link-local address"},
		{name: "private", base: "http://10.255.255.1:81", wantErr: "address 10.255.255.1 is a private address"},
		{
			name: "absolute URL to an allowed host on loopback", base: "http://api.example.com",
			allowed: []string{"127.0.0.1:" + port}, req: Request{Method: "GET", URL: srv.URL + "/x"},
			wantErr: "is a loopback address",
		},
	}
	c := New()
	c.backoff = func(int) time.Duration { return 0 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			req := tt.req
			if req.Method == "" {
				req = Request{Method: "GET", Path: "/x"}
			}
			target := &Target{Key: tt.name, BaseURL: mustURL(t, tt.base), AllowedHosts: tt.allowed, Retries: 3,
				AllowPrivate: tt.allowPrivate, Timeout: 5 * time.Second}
			resp, ex, err := c.Do(context.Background(), target, req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != 200 || hits.Load() != before+1 {
					t.Errorf("status %d, provider hits %d → %d", resp.Status, before, hits.Load())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if ex.Retries != 0 || !strings.Contains(ex.Err, tt.wantErr) {
				t.Errorf("exchange = %+v: want the refusal, not retried", ex)
			}
			if hits.Load() != before {
				t.Errorf("the provider was reached")
			}
		})
	}
}

// A connection kept alive for a target that may reach loopback is never lent to one that may
// not: the two kinds of target do not share a connection pool.
func TestPrivateConnectionsAreNotShared(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	base := mustURL(t, srv.URL)
	c := New()
	for i := 0; i < 3; i++ {
		if _, _, err := c.Do(context.Background(), &Target{Key: "open", BaseURL: base, AllowPrivate: true}, Request{Method: "GET", Path: "/"}); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.Do(context.Background(), &Target{Key: "strict", BaseURL: base}, Request{Method: "GET", Path: "/"})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("round %d: strict target got %v, want a refusal", i, err)
		}
	}
}

func TestBlockedAddressErrorWording(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"10.0.0.1", "address 10.0.0.1 is a private address"},
		{"::", "address :: is an unspecified address"},
	} {
		ip := netip.MustParseAddr(tt.addr)
		err := &BlockedAddressError{Addr: ip, Range: PrivateRange(ip)}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v, want prefix %q", err, tt.want)
		}
	}
}
