package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/webhooks"
)

func TestReceiver(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--secret", "app-secret-0123456789"}, stdout, io.Discard)
		stdout.Close()
	}()
	// Lines are read as they come: a pipe write waits for its reader.
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	first, ok := <-lines
	if !ok {
		t.Fatalf("no listening line (run: %v)", <-done)
	}
	base, ok := strings.CutPrefix(first, "receiver listening on ")
	if !ok || strings.HasSuffix(base, ":0") {
		t.Fatalf("first line = %q", first)
	}

	post := func(body, signature, delivery string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		req.Header.Set("X-Ferry-Signature", signature)
		req.Header.Set("X-Ferry-Delivery", delivery)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	secret := []byte("app-secret-0123456789")
	event := "{\"type\": \"sync.completed\",\n \"added\": 1}"
	tests := []struct {
		name      string
		body, sig string
		delivery  string
		want      int
	}{
		{"signed", event, webhooks.Sign(secret, []byte(event)), "d1", http.StatusNoContent},
		{"a retry of the same delivery", event, webhooks.Sign(secret, []byte(event)), "d1", http.StatusNoContent},
		{"wrong secret", event, webhooks.Sign([]byte("other-secret-0123456"), []byte(event)), "d2", http.StatusUnauthorized},
		{"no signature", event, "", "d3", http.StatusUnauthorized},
		{"body changed", event + " ", webhooks.Sign(secret, []byte(event)), "d4", http.StatusUnauthorized},
		{"another delivery", `{"type":"sync.failed"}`, webhooks.Sign(secret, []byte(`{"type":"sync.failed"}`)), "d5", http.StatusNoContent},
	}
	for _, tt := range tests {
		if got := post(tt.body, tt.sig, tt.delivery); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	// Each verified delivery is printed once, compacted to one line.
	for _, want := range []string{`{"type":"sync.completed","added":1}`, `{"type":"sync.failed"}`} {
		if got := <-lines; got != want {
			t.Errorf("line = %q, want %s", got, want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v", err)
		}
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		t.Fatal("run did not return")
	}
	for extra := range lines {
		t.Errorf("printed more: %q", extra)
	}
}

func TestReceiverUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--secret", ""}, {"--secret", "s", "extra"}, {"--nope"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
