package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A provider that echoes everything it got, in its body and in its headers, hands the plugin
// no credential: the proxy redacts each form in which one could come back.
func TestResponsesDoNotEchoCredentials(t *testing.T) {
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = fmt.Sprintf("%s %s %v %s", r.Method, r.URL.String(), r.Header, body)
		w.Header().Set("Location", r.URL.String())
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, seen)
	}))
	defer srv.Close()
	tests := []struct {
		name  string
		auth  Auth
		creds map[string]string
		// the forms of the credential the provider gets (one of them at least) and the plugin
		// must not get back
		secrets []string
		// kept must reach the plugin as it was: not a secret, or too short to look for
		kept string
	}{
		{"bearer", Auth{Type: "bearer"}, map[string]string{"token": "tok/en+with=odd&chars"}, []string{"tok/en+with=odd&chars", "tok%2Fen%2Bwith%3Dodd%26chars"}, ""},
		{"header", Auth{Type: "header", Name: "X-Api-Key"}, map[string]string{"value": "key-0123456789"}, []string{"key-0123456789"}, ""},
		{"query", Auth{Type: "query", Name: "api_key"}, map[string]string{"value": "q s3cret value"}, []string{"q s3cret value", "q+s3cret+value"}, ""},
		{"basic", Auth{Type: "basic"}, map[string]string{"username": "alice", "password": "correct horse"},
			[]string{"correct horse", "YWxpY2U6Y29ycmVjdCBob3JzZQ=="}, "alice"},
		{"short secrets are left alone", Auth{Type: "bearer"}, map[string]string{"token": "1234567"}, nil, "1234567"},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &Target{Key: tt.name, BaseURL: mustURL(t, srv.URL), AllowPrivate: true, Auth: tt.auth, Credentials: tt.creds}
			resp, _, err := c.Do(context.Background(), target, Request{Method: "POST", Path: "/echo", Body: []byte("hello " + tt.kept)})
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%v %s", resp.Header, resp.Body)
			sawOne := false
			for _, s := range tt.secrets {
				sawOne = sawOne || strings.Contains(seen, s)
				if strings.Contains(got, s) {
					t.Errorf("the plugin gets %q back: %s", s, got)
				}
			}
			if len(tt.secrets) > 0 && !sawOne {
				t.Errorf("the provider did not get the credential: %s", seen)
			}
			if tt.kept != "" && !strings.Contains(string(resp.Body), tt.kept) {
				t.Errorf("%q was redacted: %s", tt.kept, resp.Body)
			}
			if len(tt.secrets) > 0 && !strings.Contains(got, "REDACTED") {
				t.Errorf("nothing redacted in %s", got)
			}
		})
	}
}

// TestIndexSecret holds indexSecret to bytes.Index: on chosen cases, then on every secret cut
// from random text over a small alphabet (so that near misses abound) at every place.
func TestIndexSecret(t *testing.T) {
	tests := []struct{ body, secret string }{
		{"", "x"},
		{"x", ""},
		{"abc", "abcd"},
		{"demo-token", "demo-token"},
		{`{"a":"demo-token"}`, "demo-token"},
		{`{"a":"demo-tokeX demo-token"}`, "demo-token"},
		{"--- demo-toke", "demo-token"},
		{"QQQQQ", "QQ"},
		{"aQaQaQb", "QaQb"},
		{`"sk_live_4eC39HqLyjWDarjtT1zdp7dc"`, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"sk_live_4eC39HqLyjWDarjtT1zdp7d", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
	}
	for _, tt := range tests {
		if got, want := indexSecret([]byte(tt.body), []byte(tt.secret)), strings.Index(tt.body, tt.secret); got != want {
			t.Errorf("indexSecret(%q, %q) = %d, want %d", tt.body, tt.secret, got, want)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 300)
	for i := range body {
		body[i] = "ab-Q\""[rnd.IntN(5)]
	}
	for n := 1; n <= 6; n++ {
		for at := 0; at+n <= len(body); at++ {
			secret := body[at : at+n]
			if got, want := indexSecret(body, secret), bytes.Index(body, secret); got != want {
				t.Fatalf("indexSecret(body, %q) = %d, want %d", secret, got, want)
			}
			// One byte changed: most often not in the body at all.
			other := append([]byte(nil), secret...)
			other[rnd.IntN(n)] = 'z'
			if got, want := indexSecret(body, other), bytes.Index(body, other); got != want {
				t.Fatalf("indexSecret(body, %q) = %d, want %d", other, got, want)
			}
		}
	}
}
