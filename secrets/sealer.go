package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// EncryptionKeyFile is the name, in the data directory, of the file holding
// the key that encrypts credentials at rest.
const EncryptionKeyFile = "encryption_key"

// ErrUnauthentic is wrapped by the errors Open returns for data it cannot
// vouch for: tampered with, truncated, or sealed under another key.
var ErrUnauthentic = errors.New("sealed data is not authentic (tampered with, truncated, or sealed with another encryption key)")

// Sealed data layout: version byte, nonce, AES-256-GCM ciphertext and tag.
const (
	// versionAESGCM is the only format so far. A future key rotation gets a
	// new version byte, so data sealed under either key can be opened.
	versionAESGCM byte = 1
	nonceSize          = 12
	overhead           = 1 + nonceSize + 16 // version, nonce, GCM tag
)

// Sealer encrypts and authenticates small secrets (connection credentials)
// with AES-256-GCM. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// LoadOrCreateSealer returns a Sealer using the key kept in dir, creating
// dir (mode 0700) and the key file (mode 0600) with a new random key on
// first use. Losing the key file makes everything sealed with it unreadable.
func LoadOrCreateSealer(dir string) (*Sealer, error) {
	key, _, err := loadOrCreateKey(dir, EncryptionKeyFile)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return newSealer(key)
}

func newSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. The result is a version byte, a random 12-byte
// nonce and the ciphertext with its tag; sealing the same plaintext twice
// gives different results. Random nonces keep a key safe for about 2^32
// seals, far more than a server has credentials.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, overhead+len(plaintext))
	out[0] = versionAESGCM
	nonce := out[1 : 1+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: generate nonce: %w", err)
	}
	// The version byte is authenticated too, so it cannot be swapped.
	return s.aead.Seal(out, nonce, plaintext, out[:1]), nil
}

// Open decrypts what Seal returned. Data that was altered in any way, or
// sealed under another key, is refused with an error wrapping
// ErrUnauthentic; Open never returns unauthenticated plaintext.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("open: %w: %d bytes is shorter than the %d-byte minimum", ErrUnauthentic, len(sealed), overhead)
	}
	if v := sealed[0]; v != versionAESGCM {
		return nil, fmt.Errorf("open: %w: unknown format version %d", ErrUnauthentic, v)
	}
	nonce, ciphertext := sealed[1:1+nonceSize], sealed[1+nonceSize:]
	plaintext, err := s.aead.Open(nil, nonce, ciphertext, sealed[:1])
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrUnauthentic)
	}
	return plaintext, nil
}
