package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Connection is one customer's account at the provider of an integration.
type Connection struct {
	Integration string `json:"integration"`
	ID          string `json:"connection"`
	Credentials []byte `json:"-"` // sealed (encrypted) by the caller; opaque here
	// WebhookSecret, sealed like the credentials, checks the signatures of the provider's
	// webhooks for this connection.
	WebhookSecret []byte          `json:"-"`
	Metadata      json.RawMessage `json:"metadata"`
	BaseURL       string          `json:"base_url,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// storedConnection is Connection as kept on disk, sealed credentials included. The store
// never sees credentials in the clear: it keeps the bytes the caller sealed.
type storedConnection struct {
	Connection
	Credentials   []byte `json:"credentials"`
	WebhookSecret []byte `json:"webhook_secret,omitempty"`
}

// PutConnection creates or replaces a connection. Credentials are stored exactly as given
// (the caller seals them). Metadata must be a JSON object; empty means {}. A replaced
// connection keeps its CreatedAt; UpdatedAt is set to now. The integration is not checked:
// that is the caller's rule to enforce. It returns the connection as stored and whether it
// was created.
func (db *DB) PutConnection(ctx context.Context, c Connection) (stored Connection, created bool, err error) {
	if err := requireIDs("put connection: integration and connection id", c.Integration, c.ID); err != nil {
		return Connection{}, false, err
	}
	md, err := normaliseMetadata(c.Metadata)
	if err != nil {
		return Connection{}, false, fmt.Errorf("connection %s/%s: %w", c.Integration, c.ID, err)
	}
	c.Metadata = md
	now := utc(time.Now())
	c.CreatedAt, c.UpdatedAt = now, now
	err = db.update(ctx, func(tx *bolt.Tx) error {
		old, err := getConnection(tx, c.Integration, c.ID)
		switch {
		case err == nil:
			c.CreatedAt = old.CreatedAt
		case errors.Is(err, ErrNotFound):
			created = true
		default:
			return err
		}
		b, err := nestedCreate(tx, bucketConnections, c.Integration)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(c.ID), storedConnection{Connection: c, Credentials: c.Credentials, WebhookSecret: c.WebhookSecret})
	})
	if err != nil {
		return Connection{}, false, fmt.Errorf("put connection %s/%s: %w", c.Integration, c.ID, err)
	}
	return c, created, nil
}

// Connection returns one connection, credentials included (still sealed).
func (db *DB) Connection(ctx context.Context, integration, id string) (Connection, error) {
	var c Connection
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		c, err = getConnection(tx, integration, id)
		return err
	})
	return c, err
}

// Connections returns the connections of one integration, or of all when integration is "",
// sorted by integration, then id.
func (db *DB) Connections(ctx context.Context, integration string) ([]Connection, error) {
	var out []Connection
	err := db.view(ctx, func(tx *bolt.Tx) error {
		each := func(b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				var sc storedConnection
				if err := json.Unmarshal(v, &sc); err != nil {
					return fmt.Errorf("connection %s: %w", k, err)
				}
				sc.Connection.Credentials, sc.Connection.WebhookSecret = sc.Credentials, sc.WebhookSecret
				out = append(out, sc.Connection)
				return nil
			})
		}
		if integration != "" {
			if b := nested(tx, bucketConnections, integration); b != nil {
				return each(b)
			}
			return nil
		}
		top := tx.Bucket(bucketConnections)
		return top.ForEachBucket(func(k []byte) error { return each(top.Bucket(k)) })
	})
	return out, err
}

// DeleteConnection removes a connection together with its records, checkpoints and sync
// states, in one transaction. Its runs and their logs stay, as history.
func (db *DB) DeleteConnection(ctx context.Context, integration, id string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getConnection(tx, integration, id); err != nil {
			return err
		}
		if err := nested(tx, bucketConnections, integration).Delete([]byte(id)); err != nil {
			return err
		}
		for _, top := range [][]byte{bucketRecords, bucketCheckpoints, bucketSyncStates, bucketLinks} {
			if err := deleteNested(tx, top, integration, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete connection %s/%s: %w", integration, id, err)
	}
	return err
}

// SetMetadata replaces a connection's metadata, a JSON object (empty means {}).
func (db *DB) SetMetadata(ctx context.Context, integration, id string, md json.RawMessage) error {
	md, err := normaliseMetadata(md)
	if err != nil {
		return fmt.Errorf("set metadata of connection %s/%s: %w", integration, id, err)
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		c, err := getConnection(tx, integration, id)
		if err != nil {
			return err
		}
		c.Metadata = md
		c.UpdatedAt = utc(time.Now())
		return putJSON(nested(tx, bucketConnections, integration), []byte(id), storedConnection{Connection: c, Credentials: c.Credentials, WebhookSecret: c.WebhookSecret})
	})
}

func getConnection(tx *bolt.Tx, integration, id string) (Connection, error) {
	var sc storedConnection
	ok, err := getJSON(nested(tx, bucketConnections, integration), []byte(id), &sc)
	if err != nil {
		return Connection{}, fmt.Errorf("connection %s/%s: %w", integration, id, err)
	}
	if !ok || id == "" {
		return Connection{}, fmt.Errorf("connection %s/%s: %w", integration, id, ErrNotFound)
	}
	sc.Connection.Credentials, sc.Connection.WebhookSecret = sc.Credentials, sc.WebhookSecret
	return sc.Connection, nil
}

// normaliseMetadata checks that md is a JSON object and compacts it; empty becomes {}.
func normaliseMetadata(md json.RawMessage) (json.RawMessage, error) {
	md = bytes.TrimSpace(md)
	if len(md) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if md[0] != '{' || !json.Valid(md) {
		return nil, errors.New("metadata must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, md); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
