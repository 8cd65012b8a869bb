package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Version is one immutable deploy of an integration.
type Version struct {
	Integration string `json:"integration"`
	Version     int    `json:"version"`
	Manifest    []byte `json:"-"`           // the raw ferry.yaml as uploaded
	WasmSHA256  string `json:"wasm_sha256"` // hex
	WasmSize    int64  `json:"wasm_size"`
	// ABI is the module's ABI (plugins.ABI), learnt at deploy; empty in versions stored
	// before it was kept.
	ABI       string    `json:"abi,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// storedVersion is Version as kept on disk, manifest included.
type storedVersion struct {
	Version
	Manifest []byte `json:"manifest"`
}

// Integration is a deployed plugin: which of its versions runs, and the newest one.
type Integration struct {
	ID            string    `json:"id"`
	ActiveVersion int       `json:"active_version"`
	LatestVersion int       `json:"latest_version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func versionKey(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// AddVersion stores v as the integration's next version (1 for the first deploy, then 2, 3,
// ...) and makes it the active one, creating the integration on its first deploy; all in one
// transaction, so concurrent deploys get distinct numbers. v.Version is ignored; a zero
// v.CreatedAt means now. It returns v as stored.
func (db *DB) AddVersion(ctx context.Context, v Version) (Version, error) {
	if err := requireIDs("add version: integration", v.Integration); err != nil {
		return Version{}, err
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	v.CreatedAt = utc(v.CreatedAt)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		in, err := getIntegration(tx, v.Integration)
		if errors.Is(err, ErrNotFound) {
			in = Integration{ID: v.Integration, CreatedAt: v.CreatedAt}
		} else if err != nil {
			return err
		}
		in.LatestVersion++
		in.ActiveVersion = in.LatestVersion
		in.UpdatedAt = v.CreatedAt
		v.Version = in.LatestVersion
		vb, err := nestedCreate(tx, bucketVersions, v.Integration)
		if err != nil {
			return err
		}
		if err := putJSON(vb, versionKey(v.Version), storedVersion{Version: v, Manifest: v.Manifest}); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketIntegrations), []byte(in.ID), in)
	})
	if err != nil {
		return Version{}, fmt.Errorf("add version of integration %s: %w", v.Integration, err)
	}
	return v, nil
}

// Integration returns one integration.
func (db *DB) Integration(ctx context.Context, id string) (Integration, error) {
	var in Integration
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		in, err = getIntegration(tx, id)
		return err
	})
	return in, err
}

// Integrations returns all integrations, sorted by id.
func (db *DB) Integrations(ctx context.Context) ([]Integration, error) {
	var out []Integration
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIntegrations).ForEach(func(k, v []byte) error {
			var in Integration
			if err := json.Unmarshal(v, &in); err != nil {
				return fmt.Errorf("integration %s: %w", k, err)
			}
			out = append(out, in)
			return nil
		})
	})
	return out, err
}

// Versions returns the versions of an integration, oldest first, without their manifests.
func (db *DB) Versions(ctx context.Context, id string) ([]Version, error) {
	var out []Version
	err := db.view(ctx, func(tx *bolt.Tx) error {
		vb := nested(tx, bucketVersions, id)
		if vb == nil {
			return fmt.Errorf("integration %s: %w", id, ErrNotFound)
		}
		return vb.ForEach(func(k, v []byte) error {
			var sv storedVersion
			if err := json.Unmarshal(v, &sv); err != nil {
				return fmt.Errorf("integration %s version %d: %w", id, binary.BigEndian.Uint32(k), err)
			}
			out = append(out, sv.Version)
			return nil
		})
	})
	return out, err
}

// Version returns one version of an integration, with its manifest.
func (db *DB) Version(ctx context.Context, id string, version int) (Version, error) {
	var v Version
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		v, err = getVersion(tx, id, version)
		return err
	})
	return v, err
}

// ActiveVersion returns the version of an integration that runs, with its manifest.
func (db *DB) ActiveVersion(ctx context.Context, id string) (Version, error) {
	var v Version
	err := db.view(ctx, func(tx *bolt.Tx) error {
		in, err := getIntegration(tx, id)
		if err != nil {
			return err
		}
		v, err = getVersion(tx, id, in.ActiveVersion)
		return err
	})
	return v, err
}

// Activate makes an existing version the active one: a rollback, or a roll forward again.
// Runs started afterwards use it.
func (db *DB) Activate(ctx context.Context, id string, version int) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		in, err := getIntegration(tx, id)
		if err != nil {
			return err
		}
		if _, err := getVersion(tx, id, version); err != nil {
			return err
		}
		in.ActiveVersion = version
		in.UpdatedAt = utc(time.Now())
		return putJSON(tx.Bucket(bucketIntegrations), []byte(id), in)
	})
}

func getIntegration(tx *bolt.Tx, id string) (Integration, error) {
	var in Integration
	v := tx.Bucket(bucketIntegrations).Get([]byte(id))
	if v == nil {
		return in, fmt.Errorf("integration %s: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &in); err != nil {
		return in, fmt.Errorf("integration %s: %w", id, err)
	}
	return in, nil
}

func getVersion(tx *bolt.Tx, id string, version int) (Version, error) {
	var sv storedVersion
	var v []byte
	if vb := nested(tx, bucketVersions, id); vb != nil && version > 0 {
		v = vb.Get(versionKey(version))
	}
	if v == nil {
		return Version{}, fmt.Errorf("integration %s version %d: %w", id, version, ErrNotFound)
	}
	if err := json.Unmarshal(v, &sv); err != nil {
		return Version{}, fmt.Errorf("integration %s version %d: %w", id, version, err)
	}
	sv.Version.Manifest = sv.Manifest
	return sv.Version, nil
}

// putJSON stores v encoded as JSON under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// getJSON decodes the JSON under key into v, reporting whether the key exists.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}
