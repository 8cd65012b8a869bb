package webhooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/webhooks"
)

func TestSignAndVerify(t *testing.T) {
	secret := []byte("whsec-0123456789abcdef")
	body := []byte(`{"type":"sync.completed","model":"Contact"}`)
	// Computed independently: printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret"
	const want = "sha256=dfb4d79e8e62ab499411c6686399707d5ef32ecf9fc358db183470a976ad3df7"
	sig := webhooks.Sign(secret, body)
	if sig != want {
		t.Fatalf("Sign = %q, want %q", sig, want)
	}
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		ok     bool
	}{
		{"its own signature", secret, body, sig, true},
		{"uppercase hex", secret, body, "sha256=" + strings.ToUpper(sig[len("sha256="):]), true},
		{"another secret", []byte("whsec-fedcba9876543210"), body, sig, false},
		{"a changed body", secret, []byte(`{"type":"sync.completed","model":"Company"}`), sig, false},
		{"re-encoded body", secret, []byte(`{"type": "sync.completed", "model": "Contact"}`), sig, false},
		{"no prefix", secret, body, sig[len("sha256="):], false},
		{"another scheme", secret, body, "sha1=" + sig[len("sha256="):], false},
		{"not hex", secret, body, "sha256=zz" + sig[len("sha256=zz"):], false},
		{"truncated", secret, body, sig[:len(sig)-2], false},
		{"empty", secret, body, "", false},
		{"prefix only", secret, body, "sha256=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhooks.Verify(tt.secret, tt.body, tt.header); got != tt.ok {
				t.Errorf("Verify = %v, want %v", got, tt.ok)
			}
		})
	}
}

// An app's handler for Ferry's webhooks: it verifies the signature over the raw body before
// trusting anything in it, and answers 2xx quickly.
func ExampleVerify() {
	secret := []byte("the secret given to PUT /v1/webhook")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil || !webhooks.Verify(secret, body, r.Header.Get(webhooks.HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e webhooks.Event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if e.Type == webhooks.EventSyncCompleted {
			fmt.Printf("%s: %d added to %s, read after cursor %q\n", r.Header.Get(webhooks.HeaderDelivery), e.Added, e.Model, e.CursorFrom)
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// What Ferry sends:
	body := []byte(`{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts","model":"Contact","run_id":"r1","sync_type":"incremental","added":12,"updated":3,"deleted":1,"cursor_from":"2513"}`)
	for _, sig := range []string{webhooks.Sign(secret, body), webhooks.Sign([]byte("a guess"), body)} {
		req := httptest.NewRequest(http.MethodPost, "/ferry", strings.NewReader(string(body)))
		req.Header.Set(webhooks.HeaderSignature, sig)
		req.Header.Set(webhooks.HeaderDelivery, "0193a5c4-7e1f-7c3a-9d2b-4f6e8a1b2c3d")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	// Output:
	// 0193a5c4-7e1f-7c3a-9d2b-4f6e8a1b2c3d: 12 added to Contact, read after cursor "2513"
	// 204
	// 401
}
