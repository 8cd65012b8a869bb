package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/exchanges"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/scaffold"
)

func TestIntegrationID(t *testing.T) {
	tests := []struct {
		name, want, wantErr string
	}{
		{name: "hello-crm", want: "hello-crm"},
		{name: "Hello CRM", want: "hello-crm"},
		{name: "my_plugin.v2", want: "my-plugin-v2"},
		{name: "--x--", want: "x"},
		{name: "9lives", wantErr: "makes no integration id"},
		{name: "___", wantErr: "makes no integration id"},
		{name: strings.Repeat("a", 64), wantErr: "makes no integration id"},
	}
	for _, tt := range tests {
		got, err := scaffold.IntegrationID(tt.name)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("IntegrationID(%q) = %q, %v; want %q, %q", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestCreate writes each language's project and checks what every project must have: a
// manifest that parses, naming the integration after the directory, with one incremental
// sync and one action; the SDK's path; recorded exchanges that load; no template left
// unexecuted. That the projects build, test and deploy is tested by the CLI's tests.
func TestCreate(t *testing.T) {
	tests := []struct {
		lang      string
		wantFiles []string
		// sdkFile holds the SDK path.
		sdkFile string
	}{
		{lang: scaffold.Go, sdkFile: "go.mod", wantFiles: []string{".gitignore", "Makefile", "README.md", "actions.go", "contacts.go",
			"ferry.yaml", "go.mod", "main.go", "plugin_test.go", "testdata/exchanges/contacts/0001-GET-contacts.json"}},
		{lang: scaffold.Rust, sdkFile: "Cargo.toml", wantFiles: []string{".cargo/config.toml", ".gitignore", "Cargo.toml", "Makefile",
			"README.md", "ferry.yaml", "src/lib.rs", "testdata/exchanges/contacts/0001-GET-contacts.json", "tests/dryrun.rs"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			sdk := t.TempDir()
			dir := filepath.Join(t.TempDir(), "Hello CRM")
			files, err := scaffold.Create(tt.lang, dir, sdk)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, tt.wantFiles) {
				t.Errorf("files\n %v, want\n %v", files, tt.wantFiles)
			}
			for _, f := range files {
				data, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(data), "{{") || strings.Contains(string(data), "<no value>") {
					t.Errorf("%s holds an unexecuted template", f)
				}
			}
			manifest, err := os.ReadFile(filepath.Join(dir, "ferry.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := plugins.Parse(manifest)
			if err != nil {
				t.Fatalf("ferry.yaml does not parse: %v", err)
			}
			if m.Integration != "hello-crm" || m.Syncs["contacts"].Type != plugins.SyncIncremental || m.Actions["create-contact"].Export == "" {
				t.Errorf("manifest %+v", m)
			}
			withSDK, err := os.ReadFile(filepath.Join(dir, tt.sdkFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(withSDK), filepath.ToSlash(sdk)) {
				t.Errorf("%s does not name the SDK %s:\n%s", tt.sdkFile, sdk, withSDK)
			}
			recorded, err := exchanges.ReadDir(filepath.Join(dir, "testdata/exchanges/contacts"))
			if err != nil || len(recorded) == 0 {
				t.Errorf("recorded exchanges: %d, %v", len(recorded), err)
			}
		})
	}
}

func TestCreateRefuses(t *testing.T) {
	sdk := t.TempDir()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, lang, dir, sdk string
		want                 string
	}{
		{"unknown language", "cobol", filepath.Join(t.TempDir(), "a"), sdk, `unknown language "cobol"`},
		{"directory not empty", scaffold.Go, full, sdk, scaffold.ErrExists.Error()},
		{"no SDK", scaffold.Go, filepath.Join(t.TempDir(), "a"), filepath.Join(sdk, "none"), "SDK directory"},
		{"bad name", scaffold.Go, filepath.Join(t.TempDir(), "%%%"), sdk, "makes no integration id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scaffold.Create(tt.lang, tt.dir, tt.sdk)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := scaffold.Create(scaffold.Go, full, sdk); !errors.Is(err, scaffold.ErrExists) {
		t.Errorf("err = %v, want ErrExists", err)
	}
	// An existing empty directory is fine.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.Create(scaffold.Go, empty, sdk); err != nil {
		t.Errorf("empty directory: %v", err)
	}
}
