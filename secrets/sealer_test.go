package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadOrCreateSealer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	assertMode(t, filepath.Join(dir, EncryptionKeyFile), 0o600)

	sealed, err := s.Seal([]byte(`{"token":"hunter2"}`))
	if err != nil {
		t.Fatal(err)
	}
	// A restarted server loads the same key and opens what it sealed.
	again, err := LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Open(sealed)
	if err != nil || string(got) != `{"token":"hunter2"}` {
		t.Errorf("Open after reload = %q, %v", got, err)
	}

	// The API key and the encryption key are different keys.
	apiKey, _, err := LoadOrCreateAPIKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAPIKey(dir); err != nil || apiKey == "" {
		t.Fatal(err)
	}
	if enc := readFile(t, filepath.Join(dir, EncryptionKeyFile)); bytes.Contains(enc, []byte(apiKey)) {
		t.Error("the encryption key file holds the API key")
	}
}

func TestSealOpen(t *testing.T) {
	s := newTestSealer(t)
	for _, plaintext := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("credentials"), 10000)} {
		sealed, err := s.Seal(plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != overhead+len(plaintext) || sealed[0] != versionAESGCM {
			t.Errorf("sealed %d bytes into %d bytes starting %d; want %d bytes starting with version %d",
				len(plaintext), len(sealed), sealed[0], overhead+len(plaintext), versionAESGCM)
		}
		// Long enough that random bytes never match it by chance.
		if len(plaintext) >= 8 && bytes.Contains(sealed, plaintext) {
			t.Error("the sealed data contains the plaintext")
		}
		got, err := s.Open(sealed)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v", len(plaintext), len(got), err)
		}
	}

	a, _ := s.Seal([]byte("same"))
	b, _ := s.Seal([]byte("same"))
	if bytes.Equal(a, b) || bytes.Equal(a[1:13], b[1:13]) {
		t.Error("sealing the same plaintext twice gave the same nonce or result")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := newTestSealer(t)
	sealed, err := s.Seal([]byte("api-token-1234"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	other := newTestSealer(t)
	tests := []struct {
		name   string
		s      *Sealer
		sealed []byte
		msg    string
	}{
		{"version changed", s, flip(0), "unknown format version 0"},
		{"nonce changed", s, flip(5), ""},
		{"ciphertext changed", s, flip(1 + nonceSize), ""},
		{"tag changed", s, flip(len(sealed) - 1), ""},
		{"truncated", s, sealed[:len(sealed)-1], ""},
		{"too short", s, sealed[:overhead-1], "shorter than the 29-byte minimum"},
		{"empty", s, nil, "0 bytes is shorter"},
		{"appended", s, append(bytes.Clone(sealed), 0), ""},
		{"wrong key", other, sealed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Open(tt.sealed)
			if !errors.Is(err, ErrUnauthentic) {
				t.Fatalf("Open = %q, %v; want ErrUnauthentic", got, err)
			}
			if got != nil {
				t.Errorf("Open returned plaintext %q with its error", got)
			}
			if tt.msg != "" && !bytes.Contains([]byte(err.Error()), []byte(tt.msg)) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// TestSealerConcurrent hammers one Sealer from many goroutines (run with
// -race): a Sealer is shared by every request handler.
func TestSealerConcurrent(t *testing.T) {
	s := newTestSealer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				msg := fmt.Appendf(nil, "goroutine %d message %d", g, i)
				sealed, err := s.Seal(msg)
				if err == nil {
					var got []byte
					got, err = s.Open(sealed)
					if err == nil && !bytes.Equal(got, msg) {
						err = fmt.Errorf("opened %q, sealed %q", got, msg)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func newTestSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := LoadOrCreateSealer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
