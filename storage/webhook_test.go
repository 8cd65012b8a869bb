package storage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWebhookConfig(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	if _, err := db.WebhookConfig(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unset webhook: %v, want ErrNotFound", err)
	}
	sealed := []byte{1, 2, 3, 0, 255}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	if err := db.SetWebhookConfig(ctx, WebhookConfig{URL: "https://app.example.com/hooks", Secret: sealed, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetWebhookConfig(ctx, WebhookConfig{Secret: sealed}); err == nil {
		t.Error("SetWebhookConfig accepted an empty url")
	}
	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.WebhookConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://app.example.com/hooks" || string(c.Secret) != string(sealed) || !c.UpdatedAt.Equal(at) {
		t.Errorf("config = %+v", c)
	}
	// The secret never leaves as JSON.
	if b, _ := json.Marshal(c); strings.Contains(string(b), "secret") {
		t.Errorf("config as JSON shows the secret: %s", b)
	}

	// A new config replaces the old one; a zero UpdatedAt means now.
	before := time.Now().Add(-time.Second)
	if err := db.SetWebhookConfig(ctx, WebhookConfig{URL: "http://127.0.0.1:9000/", Secret: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	c, _ = db.WebhookConfig(ctx)
	if c.URL != "http://127.0.0.1:9000/" || string(c.Secret) != "x" || c.UpdatedAt.Before(before) {
		t.Errorf("replaced config = %+v", c)
	}
}
