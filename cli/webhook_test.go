package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/cli"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
)

// webhookAPI is the REST API over a real store and sealer, for the webhook commands.
func webhookAPI(t *testing.T) (url string, db *storage.DB, sealer *secrets.Sealer) {
	t.Helper()
	dir := t.TempDir()
	db, err := storage.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err = secrets.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(api.Config{APIKey: "k", Store: db, Sealer: sealer}))
	t.Cleanup(func() {
		hs.Close()
		db.Close()
	})
	return hs.URL, db, sealer
}

// ferryIn runs the ferry command in this process and returns its exit code and output.
func ferryIn(url, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Main(append([]string{"--url", url, "--key", "k"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestWebhookCommands(t *testing.T) {
	url, db, sealer := webhookAPI(t)
	const secret = "whsec-0123456789abcdef"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // contained in stdout
		stderr string // contained in stderr
		stored string // the secret stored after the command, if it succeeds
	}{
		{"show before set", "", []string{"webhook", "show"}, 1, "", "no webhook is set", ""},
		{"set without a secret", "", []string{"webhook", "set", "https://app.example.com/h"}, 1, "", "[secret secret-file]", ""},
		{"set with both", "", []string{"webhook", "set", "https://app.example.com/h", "--secret", secret, "--secret-file", secretFile}, 1, "", "[secret secret-file]", ""},
		{"set a short secret", "", []string{"webhook", "set", "https://app.example.com/h", "--secret", "short"}, 1, "", "secret must be at least 16 bytes", ""},
		{"set a relative url", "", []string{"webhook", "set", "/h", "--secret", secret}, 1, "", "absolute http or https URL", ""},
		{"set an empty secret file", "", []string{"webhook", "set", "https://app.example.com/h", "--secret-file", "-"}, 1, "", "is empty", ""},
		{"set", "", []string{"webhook", "set", "https://app.example.com/a", "--secret", secret + "-flag"}, 0, `"url": "https://app.example.com/a"`, "", secret + "-flag"},
		{"set from a file", "", []string{"webhook", "set", "https://app.example.com/b", "--secret-file", secretFile}, 0, `"url": "https://app.example.com/b"`, "", secret},
		{"set from stdin", secret + "-stdin\r\n", []string{"webhook", "set", "https://app.example.com/c", "--secret-file", "-"}, 0, `"url": "https://app.example.com/c"`, "", secret + "-stdin"},
		{"show", "", []string{"webhook", "show"}, 0, `"url": "https://app.example.com/c"`, "", ""},
		{"deliveries with a bad status", "", []string{"webhook", "deliveries", "--status", "lost"}, 1, "", "status must be pending, delivered or failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ferryIn(url, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("the output shows the secret:\n%s%s", stdout, stderr)
			}
			if tt.stored == "" {
				return
			}
			cfg, err := db.WebhookConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := sealer.Open(cfg.Secret); err != nil || string(plain) != tt.stored {
				t.Errorf("stored secret %q, %v; want %q", plain, err, tt.stored)
			}
		})
	}
}

func TestWebhookDeliveriesTable(t *testing.T) {
	url, db, _ := webhookAPI(t)
	ctx := context.Background()
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	run := storage.Run{ID: "0193a000-0000-7000-8000-000000000001", Integration: "crm", Connection: "acme", Sync: "contacts", Status: storage.StatusFailed}
	var ds []storage.Delivery
	for i := 1; i <= 3; i++ {
		ds = append(ds, storage.Delivery{ID: fmt.Sprintf("0193b000-0000-7000-8000-%012d", i), Type: "sync.completed",
			Body: json.RawMessage(`{"type":"sync.completed"}`), NextAttemptAt: created, CreatedAt: created})
	}
	ds[1].Type = "sync.failed"
	if err := db.FinishRun(ctx, run, ds); err != nil {
		t.Fatal(err)
	}
	delivered, next := created.Add(time.Second), created.Add(4*time.Second)
	ds[0].Status, ds[0].Attempts, ds[0].DeliveredAt = storage.DeliveryDelivered, 1, &delivered
	ds[1].Status, ds[1].Attempts, ds[1].LastError = storage.DeliveryFailed, 17, "HTTP 503 Service Unavailable: down for maintenance\nuntil noon"
	ds[2].Attempts, ds[2].NextAttemptAt, ds[2].LastError = 2, next, `Post "https://app.example.com/h": dial tcp 127.0.0.1:443: connect: connection refused`
	for _, d := range ds {
		if err := db.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	// Times print in local time; put them back in UTC to compare with the golden file.
	// FERRY_UPDATE_GOLDEN=1 rewrites the golden files.
	utc := func(s string) string {
		for _, at := range []time.Time{created, delivered, next} {
			s = strings.ReplaceAll(s, at.Local().Format(time.DateTime), at.UTC().Format(time.DateTime))
		}
		return s
	}
	for _, tt := range []struct {
		args   []string
		golden string
	}{
		{[]string{"webhook", "deliveries"}, "webhook-deliveries.golden"},
		{[]string{"webhook", "deliveries", "--status", "failed", "--limit", "5"}, "webhook-deliveries-failed.golden"},
	} {
		code, stdout, stderr := ferryIn(url, "", tt.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
		}
		if os.Getenv("FERRY_UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(filepath.Join("testdata", tt.golden), []byte(utc(stdout)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
		if err != nil {
			t.Fatal(err)
		}
		if got := utc(stdout); got != string(want) {
			t.Errorf("%v:\n%s\nwant (testdata/%s):\n%s", tt.args, got, tt.golden, want)
		}
	}

	code, stdout, _ := ferryIn(url, "", "webhook", "deliveries", "--json", "--limit", "1")
	var out struct {
		Deliveries []struct {
			ID   string          `json:"id"`
			Body json.RawMessage `json:"body"`
		} `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil || len(out.Deliveries) != 1 ||
		out.Deliveries[0].ID != ds[2].ID || strings.Join(strings.Fields(string(out.Deliveries[0].Body)), "") != `{"type":"sync.completed"}` {
		t.Errorf("--json: exit %d, %v: %s", code, err, stdout)
	}
}
