package proxy_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ferrysync/ferry/proxy"
)

// BenchmarkDo is one proxied request round trip to a provider on loopback, as a plugin's
// http host call makes it: the credentials added, the rate limiter consulted (unlimited), the
// whole body read and searched for echoed credentials. The provider answers a small JSON
// object, or a page of JSON records of 1 MiB, the size of 1,000 of the example CRM's contacts.
func BenchmarkDo(b *testing.B) {
	record := []byte(`{"id":"c-000001","first_name":"Ada","last_name":"Lovelace","email":"ada.lovelace.1@example.com"},`)
	tests := []struct {
		name string
		body []byte
	}{
		{"body=small", []byte(`{"id":"c-000001","ok":true}`)},
		{"body=1MiB", bytes.Repeat(record, 1<<20/len(record)+1)[:1<<20]},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(tt.body)
			}))
			defer srv.Close()
			base, err := url.Parse(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			target := &proxy.Target{
				Key: "crm/acme", BaseURL: base, AllowPrivate: true,
				Auth:        proxy.Auth{Type: "bearer"},
				Credentials: map[string]string{"token": "bench-secret-token"},
			}
			req := proxy.Request{Method: http.MethodGet, Path: "/contacts", Query: url.Values{"limit": {"1000"}}}
			client := proxy.New()
			ctx := context.Background()
			b.SetBytes(int64(len(tt.body)))
			b.ReportAllocs()
			for b.Loop() {
				resp, _, err := client.Do(ctx, target, req)
				if err != nil {
					b.Fatal(err)
				}
				if resp.Status != http.StatusOK || len(resp.Body) != len(tt.body) {
					b.Fatalf("status %d, %d bytes; want 200, %d bytes", resp.Status, len(resp.Body), len(tt.body))
				}
			}
		})
	}
}
