package storage

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Link is a data link: an app's record id paired with the provider's (external) id of the
// same record, per connection and model, so that a push action can find the external record
// an app record matches. Each app id has at most one external id, and the reverse.
type Link struct {
	AppID      string    `json:"app_id"`
	ExternalID string    `json:"external_id"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var (
	keyLinksApp = []byte("app")
	keyLinksExt = []byte("ext")
)

// PutLink stores a link, replacing the one the app id had and the one the external id had.
func (db *DB) PutLink(ctx context.Context, s Scope, l Link) error {
	if err := requireIDs("put link: scope, app id and external id", s.Integration, s.Connection, s.Model, l.AppID, l.ExternalID); err != nil {
		return err
	}
	l.UpdatedAt = utc(l.UpdatedAt)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if !connectionExists(tx, s.Integration, s.Connection) {
			return errNoConnection(s.Integration, s.Connection)
		}
		b, err := nestedCreate(tx, bucketLinks, s.Integration, s.Connection, s.Model)
		if err != nil {
			return err
		}
		app, err := b.CreateBucketIfNotExists(keyLinksApp)
		if err != nil {
			return err
		}
		ext, err := b.CreateBucketIfNotExists(keyLinksExt)
		if err != nil {
			return err
		}
		// Unpair what either side was paired with before.
		var old Link
		if ok, err := getJSON(app, []byte(l.AppID), &old); err != nil {
			return err
		} else if ok {
			if err := ext.Delete([]byte(old.ExternalID)); err != nil {
				return err
			}
		}
		if prevApp := ext.Get([]byte(l.ExternalID)); prevApp != nil {
			if err := app.Delete(prevApp); err != nil {
				return err
			}
		}
		if err := putJSON(app, []byte(l.AppID), l); err != nil {
			return err
		}
		return ext.Put([]byte(l.ExternalID), []byte(l.AppID))
	})
	if err != nil {
		return fmt.Errorf("put link %s/%s of %s: %w", s, l.AppID, l.ExternalID, err)
	}
	return nil
}

// LinkByApp returns the link of an app id.
func (db *DB) LinkByApp(ctx context.Context, s Scope, appID string) (Link, error) {
	var l Link
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return getLink(tx, s, appID, &l)
	})
	return l, err
}

// LinkByExternal returns the link of an external id.
func (db *DB) LinkByExternal(ctx context.Context, s Scope, externalID string) (Link, error) {
	var l Link
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b := nested(tx, bucketLinks, s.Integration, s.Connection, s.Model)
		var appID []byte
		if b != nil {
			if ext := b.Bucket(keyLinksExt); ext != nil {
				appID = ext.Get([]byte(externalID))
			}
		}
		if appID == nil {
			return fmt.Errorf("link of external id %s/%s: %w", s, externalID, ErrNotFound)
		}
		return getLink(tx, s, string(appID), &l)
	})
	return l, err
}

// DeleteLink removes the link of an app id.
func (db *DB) DeleteLink(ctx context.Context, s Scope, appID string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		var l Link
		if err := getLink(tx, s, appID, &l); err != nil {
			return err
		}
		b := nested(tx, bucketLinks, s.Integration, s.Connection, s.Model)
		if err := b.Bucket(keyLinksApp).Delete([]byte(appID)); err != nil {
			return err
		}
		return b.Bucket(keyLinksExt).Delete([]byte(l.ExternalID))
	})
}

func getLink(tx *bolt.Tx, s Scope, appID string, l *Link) error {
	b := nested(tx, bucketLinks, s.Integration, s.Connection, s.Model)
	if b != nil {
		if app := b.Bucket(keyLinksApp); app != nil {
			if ok, err := getJSON(app, []byte(appID), l); ok || err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("link of app id %s/%s: %w", s, appID, ErrNotFound)
}
