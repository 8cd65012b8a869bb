package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--token", "t0k", "--records", "7", "--companies", "3"}, stdout, io.Discard)
		stdout.Close()
	}()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (run: %v)", err, <-done)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "provider listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("line = %q, want \"provider listening on http://127.0.0.1:PORT\" with the real port", line)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/admin/stats", nil)
	req.Header.Set("Authorization", "Bearer t0k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stats struct{ Contacts, Companies int }
	err = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || stats.Contacts != 7 || stats.Companies != 3 {
		t.Fatalf("stats: status %d, %+v, %v; want 200 with 7 contacts and 3 companies", resp.StatusCode, stats, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		t.Fatal("run did not return after its context was cancelled")
	}
	if _, err := http.Get(base + "/contacts"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{"--records", "-1"},
		{"--companies", "-2"},
		{"--rate-limit", "-0.5"},
		{"--token", ""},
		{"--records", "many"},
		{"--nope"},
		{"extra"},
		{"--webhook-url", "http://127.0.0.1:9/hook"},
		{"--webhook-secret", "s"},
		{"--webhook-url", "127.0.0.1:9/hook", "--webhook-secret", "s"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			err := run(context.Background(), args, io.Discard, io.Discard)
			if !errors.Is(err, errUsage) {
				t.Errorf("run(%q) = %v, want a usage error", args, err)
			}
		})
	}
}

func TestRunSendsWebhooks(t *testing.T) {
	events := make(chan string, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("hook-key"))
		mac.Write(body)
		if r.Header.Get("X-Provider-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("bad signature on %s", body)
		}
		events <- string(body)
	}))
	defer rcv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--records", "3", "--companies", "1",
			"--webhook-url", rcv.URL, "--webhook-secret", "hook-key"}, stdout, io.Discard)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (run: %v)", err, <-done)
	}
	base := strings.TrimPrefix(strings.TrimSpace(line), "provider listening on ")

	req, _ := http.NewRequest(http.MethodDelete, base+"/admin/contacts/c-000002", nil)
	req.Header.Set("Authorization", "Bearer demo-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case got := <-events:
		if want := `{"type":"contact.deleted","id":"c-000002"}`; got != want {
			t.Errorf("event = %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		t.Fatal("no webhook event")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
}
