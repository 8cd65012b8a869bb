package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .json files in testdata/valid")

// TestParseValid parses every manifest in testdata/valid and compares the
// result, defaults applied, with the golden JSON beside it.
func TestParseValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			m, err := Parse(readFile(t, file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".yaml") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, golden); !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) as JSON:\n%s\nwant (%s):\n%s", file, got, golden, want)
			}

			// The JSON form reads back into the same manifest.
			var back Manifest
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("read back JSON: %v", err)
			}
			again, err := json.MarshalIndent(&back, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), got) {
				t.Errorf("JSON round trip changed the manifest:\n%s", again)
			}
		})
	}
}

// TestParseInvalid parses every manifest in testdata/invalid. Each one lists
// the problems Parse must report, in order, in "# want: " comment lines; each
// want is a substring of one reported problem, and nothing else is reported.
func TestParseInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data := readFile(t, file)
			var wants []string
			for line := range strings.Lines(string(data)) {
				if want, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, strings.TrimSpace(want))
				}
			}
			if len(wants) == 0 {
				t.Fatal("fixture has no # want: lines")
			}

			m, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %q; got %+v", wants, m)
			}
			got := fieldErrors(t, err)
			var msgs []string
			for _, fe := range got {
				msgs = append(msgs, fe.Error())
			}
			if len(got) != len(wants) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(wants), strings.Join(msgs, "\n"))
			}
			for i, want := range wants {
				if !strings.Contains(msgs[i], want) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, msgs[i], want)
				}
			}
			if err.Error() != strings.Join(msgs, "\n") {
				t.Errorf("Error() = %q, want the problems one per line", err)
			}

			// Same input, same report: nothing depends on map order.
			if _, again := Parse(data); again == nil || again.Error() != err.Error() {
				t.Errorf("second Parse reported\n%v\nfirst reported\n%v", again, err)
			}
		})
	}
}

// fieldErrors unpacks the error Parse returns into its FieldErrors.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var out []*FieldError
	for _, e := range errs {
		fe, ok := e.(*FieldError)
		if !ok {
			t.Fatalf("problem %q is a %T, want *FieldError", e, e)
		}
		out = append(out, fe)
	}
	return out
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m *Manifest)
	}{
		{"minimal.yaml", func(t *testing.T, m *Manifest) {
			p := m.Provider
			equal(t, "allowed_hosts", p.AllowedHosts, []string{"weather.example.com:8080"})
			equal(t, "provider.timeout", p.Timeout.Duration, 30*time.Second)
			equal(t, "RetryCount", p.RetryCount(), 3)
			equal(t, "rate_limit", p.RateLimit, (*RateLimit)(nil))
			equal(t, "limits", m.Limits, Limits{MemoryMB: 64, Timeout: Duration{10 * time.Minute}})
			equal(t, "syncs", m.Syncs, map[string]Sync{})
			equal(t, "models", m.Models, map[string]any{})
			equal(t, "webhook", m.Webhook, (*Webhook)(nil))
			equal(t, "action input", m.Actions["forecast"].Input, nil)
		}},
		{"defaults.yaml", func(t *testing.T, m *Manifest) {
			p := m.Provider
			equal(t, "allowed_hosts", p.AllowedHosts, []string{"tickets.example.com:8443"})
			equal(t, "burst", p.RateLimit.Burst, 3) // ceil(2.5)
			equal(t, "RetryCount", p.RetryCount(), 0)
			equal(t, "provider.timeout", p.Timeout.Duration, 90*time.Second)
			equal(t, "limits.timeout", m.Limits.Timeout.Duration, time.Hour)
			equal(t, "tickets frequency", m.Syncs["tickets"].Frequency.Duration, 15*time.Minute)
			equal(t, "tickets DeleteShare", m.Syncs["tickets"].DeleteShare(), 1.0)
			equal(t, "users frequency", m.Syncs["users"].Frequency.Duration, time.Hour)
			equal(t, "users DeleteShare", m.Syncs["users"].DeleteShare(), 0.5)
			equal(t, "Comment schema", m.Models["Comment"], any(map[string]any{}))
			equal(t, "SyncNames", m.SyncNames(), []string{"tickets", "users"})
			equal(t, "ModelNames", m.ModelNames(), []string{"Comment", "Ticket", "User"})
		}},
		{"full.yaml", func(t *testing.T, m *Manifest) {
			equal(t, "burst", m.Provider.RateLimit.Burst, 20)
			equal(t, "frequency", m.Syncs["contacts"].Frequency.Duration, time.Minute)
			equal(t, "auto_start", m.Syncs["contacts"].AutoStart, true)
			equal(t, "signature", m.Webhook.Signature, &Signature{Header: "X-Provider-Signature", Scheme: SchemeHMACSHA256Hex, Prefix: "sha256="})
			equal(t, "action input", m.Actions["create-contact"].Input, any(map[string]any{}))
			equal(t, "ActionNames", m.ActionNames(), []string{"create-contact"})
		}},
		{"anchors.yaml", func(t *testing.T, m *Manifest) {
			equal(t, "Folder schema", m.Models["Folder"], m.Models["File"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := Parse(readFile(t, filepath.Join("testdata/valid", tt.file)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, m)
		})
	}
}

func TestHelpersOnZeroValues(t *testing.T) {
	equal(t, "DeleteShare", Sync{}.DeleteShare(), DefaultDeleteThreshold)
	equal(t, "RetryCount", Provider{}.RetryCount(), DefaultRetries)
}

func TestFieldErrorIsFoundWithErrorsAs(t *testing.T) {
	_, err := Parse([]byte("integration: x\nwasm: a.wasm\nprovider: {base_url: 'https://x.example', auth: {type: none}}\nactions: {a: {export: a}}\nlimits: {memory_mb: 0}\n"))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(%v) found no *FieldError", err)
	}
	if fe.Path != "limits.memory_mb" {
		t.Errorf("Path = %q, want limits.memory_mb", fe.Path)
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"1h", "1h"},
		{"90m", "1h30m"},
		{"1h0m30s", "1h30s"},
		{"45s", "45s"},
		{"10m", "10m"},
		{"1500ms", "1.5s"},
		{"0s", "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			if err := d.UnmarshalText([]byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"` + tt.want + `"`; string(b) != want {
				t.Errorf("JSON = %s, want %s", b, want)
			}
			var back Duration
			if err := json.Unmarshal(b, &back); err != nil || back != d {
				t.Errorf("read back %s as %v (%v), want %v", b, back, err, d)
			}
		})
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil {
		t.Error(`"soon" was read as a duration`)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestParseRefusesHugeManifest(t *testing.T) {
	data := append([]byte("integration: x\n# "), bytes.Repeat([]byte("x"), MaxManifestSize)...)
	_, err := Parse(data)
	if err == nil || !strings.Contains(err.Error(), "more than the 1048576-byte limit") {
		t.Errorf("Parse of %d bytes = %v, want the size limit", len(data), err)
	}
}
