package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Errors a key file can be refused with; the returned errors wrap them and
// name the file.
var (
	// ErrInsecureKeyFile means a key file's mode lets its group or others
	// read or write it, so the key may have leaked.
	ErrInsecureKeyFile = errors.New("key file is accessible to group or others")
	// ErrMalformedKeyFile means a key file does not hold one hex-encoded key
	// of the expected length.
	ErrMalformedKeyFile = errors.New("key file is malformed")
)

const (
	keySize = 32 // bytes of randomness in every key
	// maxKeyFileSize bounds what is read from a key file; a key is 65 bytes.
	maxKeyFileSize = 1 << 10
)

// loadOrCreateKey returns the key in dir/name, creating the file with a new
// random key (and dir, mode 0700) if it does not exist. created reports
// whether this call wrote the file.
func loadOrCreateKey(dir, name string) (key []byte, created bool, err error) {
	path := filepath.Join(dir, name)
	key, err = readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("generate key for %s: %w", path, err)
	}
	won, err := createFile(path, []byte(hex.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, false, fmt.Errorf("create key file %s: %w", path, err)
	}
	if !won {
		// Another process created the file first; use its key, so both
		// processes agree.
		key, err = readKey(path)
		return key, false, err
	}
	return key, true, nil
}

// readKey reads a key file: exactly one line of 2*keySize hex digits, in a
// file that only its owner may access.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMalformedKeyFile, path)
	}
	// Windows has no Unix permission bits to check.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s if the key has not leaked, else remove it to make a new one",
			ErrInsecureKeyFile, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformedKeyFile, path, maxKeyFileSize)
	}
	// Say what is wrong without quoting the content: it may be a key.
	text := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if len(text) != 2*keySize {
		return nil, fmt.Errorf("%w: %s holds %d characters, want %d hex digits on one line",
			ErrMalformedKeyFile, path, len(text), 2*keySize)
	}
	key, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %s holds characters that are not hex digits", ErrMalformedKeyFile, path)
	}
	return key, nil
}

// createFile atomically creates path with data and mode 0600, unless path
// already exists; it reports whether it created it. The data is written to a
// temporary file and synced before it gets its name, so path never holds part
// of data, even after a crash.
func createFile(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // after a link the name is spare; after a rename it is gone
	if err := writeSynced(tmp, data); err != nil {
		return false, err
	}
	// A hard link, unlike a rename, fails if path exists, so two servers
	// starting at once never replace each other's key.
	err = os.Link(tmp.Name(), path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		// The file system has no hard links; a rename is still atomic.
		if err := os.Rename(tmp.Name(), path); err != nil {
			return false, err
		}
	}
	return true, syncDir(dir)
}

func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
