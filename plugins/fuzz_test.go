package plugins

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no manifest panics the parser, and that one it accepts is valid
// throughout: it survives a JSON round trip, and validates again.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q) failed without a message", data)
			}
			return
		}
		if !integrationPattern.MatchString(m.Integration) || m.Limits.MemoryMB < 1 || m.Provider.Timeout.Duration <= 0 {
			t.Fatalf("Parse(%q) accepted %+v", data, m)
		}
		j, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not marshal: %v", err)
		}
		var back Manifest
		if err := json.Unmarshal(j, &back); err != nil {
			t.Fatalf("an accepted manifest does not read back: %v\n%s", err, j)
		}
		if err := back.validate(); err != nil {
			t.Fatalf("an accepted manifest fails validation after a round trip: %v\n%s", err, j)
		}
	})
}
