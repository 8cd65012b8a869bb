package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kitchenManifest is a manifest for the kitchen test plugin, whose export "everything" serves
// as both syncs.
const kitchenManifest = `integration: safe
wasm: plugin.wasm
provider: {base_url: http://127.0.0.1:1, auth: {type: bearer}, allow_private_networks: true}
syncs:
  items: {export: everything, models: [Item], type: incremental, frequency: 1m}
  others: {export: everything, models: [Other], type: full, frequency: 1h}
actions:
  echo: {export: echo}
models:
  Item: {}
  Other: {}
`

// TestDeployShowsChangesAndRefusesDestructiveOnes deploys versions of a plugin: each deploy
// shows what it changes; removing a sync and its model is refused unless --force, and
// --dry-run only shows it.
func TestDeployShowsChangesAndRefusesDestructiveOnes(t *testing.T) {
	wasm, err := os.ReadFile("../runtime/testdata/plugins/kitchen/plugin.wasm")
	if err != nil {
		t.Fatalf("the kitchen test plugin is not built (run `make build` first): %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plugin.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(manifest string) {
		if err := os.WriteFile(filepath.Join(dir, "ferry.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := startE2E(t, 1, 1)

	write(kitchenManifest)
	if out := e.ferry(false, "deploy", "--dry-run", dir); !strings.Contains(out, "safe is a new integration") {
		t.Errorf("dry run of a first deploy: %s", out)
	}
	if out := e.ferry(false, "deploy", dir); !strings.Contains(out, "deployed safe version 1") {
		t.Fatalf("first deploy: %s", out)
	}

	changed := strings.Replace(kitchenManifest, "frequency: 1m", "frequency: 2m", 1)
	write(changed)
	out := e.ferry(false, "deploy", dir)
	for _, want := range []string{"changes against the version active before:", "~ sync items: frequency 1m -> 2m", "deployed safe version 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy of a frequency change lacks %q:\n%s", want, out)
		}
	}

	removed := strings.Replace(changed, "  others: {export: everything, models: [Other], type: full, frequency: 1h}\n", "", 1)
	removed = strings.Replace(removed, "  Other: {}\n", "", 1)
	write(removed)
	out = e.ferry(true, "deploy", dir)
	for _, want := range []string{"refused", "- sync others (destructive:", "- model Other (destructive: its stored records are orphaned)", "--force"} {
		if !strings.Contains(out, want) {
			t.Errorf("destructive deploy: output lacks %q:\n%s", want, out)
		}
	}
	out = e.ferry(false, "deploy", "--dry-run", dir)
	for _, want := range []string{"changes against safe version 2:", "- sync others (destructive:", "would be refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: output lacks %q:\n%s", want, out)
		}
	}
	if out := e.ferry(false, "integrations", "versions", "safe"); strings.Count(out, `"version"`) != 2 {
		t.Errorf("the refused deploy and the dry run stored a version:\n%s", out)
	}
	if out := e.ferry(false, "deploy", "--force", dir); !strings.Contains(out, "deployed safe version 3") {
		t.Errorf("forced deploy: %s", out)
	}
}
