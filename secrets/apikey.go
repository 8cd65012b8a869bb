package secrets

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// APIKeyFile is the name, in the data directory, of the file holding the API
// key.
const APIKeyFile = "secret_key"

// LoadOrCreateAPIKey returns the API key kept in dir, creating dir (mode
// 0700) and the key file (mode 0600) with a new random key on first use.
// created reports whether this call made the key, so the server can tell the
// user where it is (never what it is: do not log the key).
//
// The key is 64 lowercase hex digits (32 random bytes). It is safe to call
// from two processes at once: both get the same key.
func LoadOrCreateAPIKey(dir string) (key string, created bool, err error) {
	raw, created, err := loadOrCreateKey(dir, APIKeyFile)
	if err != nil {
		return "", false, fmt.Errorf("API key: %w", err)
	}
	return hex.EncodeToString(raw), created, nil
}

// ReadAPIKey returns the API key kept in dir without creating one, for
// clients on the server's machine. An error wrapping fs.ErrNotExist means the
// server has not run with this data directory.
func ReadAPIKey(dir string) (string, error) {
	path := filepath.Join(dir, APIKeyFile)
	raw, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no API key at %s (has the server run with this data directory?): %w", path, err)
	}
	if err != nil {
		return "", fmt.Errorf("API key: %w", err)
	}
	return hex.EncodeToString(raw), nil
}

// Equal reports whether two API keys are equal, in time that does not depend
// on where they differ, so comparing a guess with the key reveals nothing
// about the key. An empty string equals nothing, so a missing header never
// matches a missing key. The time taken may depend on the lengths, which are
// not secret.
func Equal(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
