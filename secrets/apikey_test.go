package secrets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var hexKey = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestLoadOrCreateAPIKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet

	key, created, err := LoadOrCreateAPIKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created || !hexKey.MatchString(key) {
		t.Fatalf("first call = %q, created %v; want a new 64-hex-digit key", key, created)
	}
	assertMode(t, dir, 0o700|fs.ModeDir)
	assertMode(t, filepath.Join(dir, APIKeyFile), 0o600)
	data, err := os.ReadFile(filepath.Join(dir, APIKeyFile))
	if err != nil || string(data) != key+"\n" {
		t.Errorf("file holds %q (%v), want the key and a newline", data, err)
	}

	again, created, err := LoadOrCreateAPIKey(dir)
	if err != nil || created || again != key {
		t.Errorf("second call = %q, created %v, %v; want the same key, not created", again, created, err)
	}
	read, err := ReadAPIKey(dir)
	if err != nil || read != key {
		t.Errorf("ReadAPIKey = %q, %v; want the same key", read, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only %s (no temporary files)", len(entries), APIKeyFile)
	}

	other, _, err := LoadOrCreateAPIKey(t.TempDir())
	if err != nil || other == key {
		t.Errorf("a second data directory got key %q (%v); want a different key", other, err)
	}
}

// TestLoadOrCreateAPIKeyKeepsDirectoryMode leaves an existing directory's
// mode alone: it belongs to whoever made it.
func TestLoadOrCreateAPIKeyKeepsDirectoryMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAPIKey(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o750|fs.ModeDir)
}

// TestLoadOrCreateAPIKeyConcurrently starts many "servers" on one empty data
// directory at once: all must end up with the key that is in the file.
func TestLoadOrCreateAPIKeyConcurrently(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	keys := make([]string, n)
	errs := make([]error, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], created[i], errs[i] = LoadOrCreateAPIKey(dir) })
	}
	wg.Wait()
	onFile, err := ReadAPIKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	creators := 0
	for i := range n {
		if errs[i] != nil || keys[i] != onFile {
			t.Errorf("call %d = %q, %v; want the key on file", i, keys[i], errs[i])
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d calls report creating the key, want 1", creators)
	}
}

func TestReadAPIKeyMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadAPIKey(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadAPIKey on an empty directory = %v, want fs.ErrNotExist", err)
	}
	if want := "no API key at " + filepath.Join(dir, APIKeyFile); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, APIKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("ReadAPIKey created a key file")
	}
}

// TestRefusedKeyFiles covers the key files both kinds of key refuse to use.
func TestRefusedKeyFiles(t *testing.T) {
	const goodKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tests := []struct {
		name    string
		content string
		mode    fs.FileMode
		wantErr error
		wantMsg string
	}{
		{"group readable", goodKey + "\n", 0o640, ErrInsecureKeyFile, "has mode 0640"},
		{"world readable", goodKey + "\n", 0o604, ErrInsecureKeyFile, "has mode 0604"},
		{"group writable", goodKey + "\n", 0o620, ErrInsecureKeyFile, "has mode 0620"},
		{"empty", "", 0o600, ErrMalformedKeyFile, "holds 0 characters, want 64 hex digits"},
		{"short", goodKey[:40] + "\n", 0o600, ErrMalformedKeyFile, "holds 40 characters"},
		{"two lines", goodKey + "\n" + goodKey + "\n", 0o600, ErrMalformedKeyFile, "holds 129 characters"},
		{"not hex", strings.Repeat("zq", 32) + "\n", 0o600, ErrMalformedKeyFile, "not hex digits"},
		{"huge", strings.Repeat("a", 4096), 0o600, ErrMalformedKeyFile, "larger than 1024 bytes"},
	}
	for _, file := range []string{APIKeyFile, EncryptionKeyFile} {
		for _, tt := range tests {
			t.Run(file+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, file)
				writeKeyFile(t, path, tt.content, tt.mode)

				var err error
				if file == APIKeyFile {
					_, _, err = LoadOrCreateAPIKey(dir)
				} else {
					_, err = LoadOrCreateSealer(dir)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q should name %s and say %q", err, path, tt.wantMsg)
				}
				if strings.Contains(err.Error(), goodKey[:16]) || strings.Contains(err.Error(), "zqzq") {
					t.Errorf("error %q quotes the file's content", err)
				}
				// The refused file is left as it was, not replaced.
				if got, _ := os.ReadFile(path); string(got) != tt.content {
					t.Error("the refused key file was changed")
				}
				if file == APIKeyFile {
					if _, err := ReadAPIKey(dir); !errors.Is(err, tt.wantErr) {
						t.Errorf("ReadAPIKey err = %v, want %v", err, tt.wantErr)
					}
				}
			})
		}
	}
}

func TestKeyFileAcceptsHandWrittenKey(t *testing.T) {
	const key = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
	for _, content := range []string{key, key + "\n", key + "\r\n"} {
		dir := t.TempDir()
		writeKeyFile(t, filepath.Join(dir, APIKeyFile), content, 0o600)
		got, created, err := LoadOrCreateAPIKey(dir)
		if err != nil || created || got != strings.ToLower(key) {
			t.Errorf("content %q: got %q, created %v, %v", content, got, created, err)
		}
	}
}

func TestKeyFileThatIsADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, APIKeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAPIKey(dir); !errors.Is(err, ErrMalformedKeyFile) {
		t.Errorf("err = %v, want ErrMalformedKeyFile", err)
	}
}

func TestEqual(t *testing.T) {
	const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tests := []struct {
		a, b string
		want bool
	}{
		{key, key, true},
		{key, strings.Clone(key), true},
		{key, key[:63] + "0", false},       // last byte differs
		{key, "1" + key[1:], false},        // first byte differs
		{key, key[:63], false},             // prefix
		{key, key + "0", false},            // longer
		{key, strings.ToUpper(key), false}, // keys are compared as given
		{"", "", false},                    // a missing key matches nothing
		{key, "", false},
		{"", key, false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkEqual(b *testing.B) {
	key := strings.Repeat("ab", 32)
	guess := "0" + key[1:]
	for b.Loop() {
		Equal(key, guess)
	}
}

func writeKeyFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode() & (fs.ModeDir | fs.ModePerm); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
