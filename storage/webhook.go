package storage

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WebhookConfig is where and how Ferry signs the webhooks it sends to the app.
type WebhookConfig struct {
	URL       string    `json:"url"`
	Secret    []byte    `json:"-"` // the signing secret, sealed (encrypted) by the caller; opaque here
	UpdatedAt time.Time `json:"updated_at"`
}

// storedWebhookConfig is WebhookConfig as kept on disk, sealed secret included.
type storedWebhookConfig struct {
	WebhookConfig
	Secret []byte `json:"secret"`
}

var keyWebhookConfig = []byte("config")

// SetWebhookConfig sets the app's webhook, replacing any earlier one. The secret is stored
// exactly as given (the caller seals it); a zero UpdatedAt is set to now.
func (db *DB) SetWebhookConfig(ctx context.Context, c WebhookConfig) error {
	if c.URL == "" {
		return fmt.Errorf("set webhook: url must not be empty")
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	c.UpdatedAt = utc(c.UpdatedAt)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketWebhook), keyWebhookConfig, storedWebhookConfig{WebhookConfig: c, Secret: c.Secret})
	})
	if err != nil {
		return fmt.Errorf("set webhook %s: %w", c.URL, err)
	}
	return nil
}

// WebhookConfig returns the app's webhook, its secret still sealed; ErrNotFound when none is
// set.
func (db *DB) WebhookConfig(ctx context.Context) (WebhookConfig, error) {
	var s storedWebhookConfig
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketWebhook), keyWebhookConfig, &s)
		if err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		if !ok {
			return fmt.Errorf("webhook: %w", ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return WebhookConfig{}, err
	}
	c := s.WebhookConfig
	c.Secret = s.Secret
	return c, nil
}
