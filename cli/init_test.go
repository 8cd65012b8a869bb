package cli_test

import (
	"bytes"
	"encoding/json"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs a command in dir and returns its output; it fails the test if the command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

// TestInitGo creates a Go plugin with `ferry init`, builds it with its Makefile, runs its
// recorded-exchange test, deploys it to a server, runs its sync against the example provider
// and calls its action.
func TestInitGo(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := filepath.Join(t.TempDir(), "hello-crm")
	// No --sdk: the binary finds the SDK of the checkout it was built from.
	out := run(t, "", nil, ferryBin, "init", "--lang", "go", dir)
	sdk, _ := filepath.Abs("../sdk-guest/go")
	if !strings.Contains(out, "SDK "+sdk) {
		t.Errorf("init did not find the SDK at %s:\n%s", sdk, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "module hello-crm") || !strings.Contains(string(gomod), "=> "+sdk) {
		t.Errorf("go.mod:\n%s", gomod)
	}
	for _, name := range []string{"main.go", "contacts.go", "actions.go", "plugin_test.go"} {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
			t.Errorf("%s is not gofmt'ed (%v)", name, err)
		}
	}
}

func TestInitGoDeploys(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := filepath.Join(t.TempDir(), "hello-crm")
	run(t, "", nil, ferryBin, "init", "--lang", "go", "--sdk", "../sdk-guest/go", dir)
	run(t, dir, nil, "make", "build")
	run(t, dir, nil, "go", "vet", "./...")
	if out := run(t, dir, nil, "make", "test", "FERRY="+ferryBin); !strings.Contains(out, "ok  \thello-crm") {
		t.Errorf("make test:\n%s", out)
	}
	checkDeploys(t, dir, "hello-crm")
}

// TestInitRust is TestInitGo for Rust, built with Debian's toolchain (scripts/install-deps.sh)
// as the project's .cargo/config.toml says.
func TestInitRust(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	sysroot, err := exec.Command("/usr/bin/rustc", "--print", "sysroot").Output()
	if err != nil {
		t.Skipf("Debian's rustc is not installed (scripts/install-deps.sh installs it): %v", err)
	}
	if libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(sysroot)), "lib/rustlib/wasm32-wasi/lib/libstd-*.rlib")); len(libs) == 0 {
		t.Skip("the wasm32-wasi standard library is not installed (scripts/install-deps.sh installs it)")
	}
	dir := filepath.Join(t.TempDir(), "hello-rs")
	out := run(t, "", nil, ferryBin, "init", "--lang", "rust", dir)
	sdk, _ := filepath.Abs("../sdk-guest/rust")
	if !strings.Contains(out, "SDK "+sdk) {
		t.Errorf("init did not find the SDK at %s:\n%s", sdk, out)
	}
	run(t, dir, nil, "make", "build")
	if out := run(t, dir, nil, "make", "test", "FERRY="+ferryBin); !strings.Contains(out, "test contacts ... ok") {
		t.Errorf("make test:\n%s", out)
	}
	checkDeploys(t, dir, "hello-rs")
}

// checkDeploys deploys the built project in dir to a server, runs its sync against the
// example provider, calls its action, and checks the sync after the action sees the contact
// the action saved as unchanged.
func checkDeploys(t *testing.T, dir, integration string) {
	t.Helper()
	e := startE2E(t, 5, 1)
	if out := e.ferry(false, "deploy", dir); !strings.Contains(out, "deployed "+integration+" version 1") {
		t.Fatalf("deploy: %s", out)
	}
	e.ferry(false, "connection", "put", integration, "acme", "--cred", "token=demo-token", "--base-url", e.provURL)
	out := e.ferry(false, "sync", "trigger", integration, "acme", "contacts", "--wait")
	if !strings.Contains(out, " succeeded: ") || !hasCounts(out, "Contact", "5", "0", "0", "0") {
		t.Fatalf("first sync: %s", out)
	}

	out = e.ferry(false, "action", integration, "acme", "create-contact", "--input", `{"email": "ada@example.com", "first_name": "Ada"}`)
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
		t.Fatalf("action output %q: %v", out, err)
	}
	var found bool
	for _, c := range e.provider.Contacts() {
		found = found || (c.ID == created.ID && c.Email == "ada@example.com" && c.FirstName == "Ada")
	}
	if !found {
		t.Errorf("the provider has no contact %s for ada@example.com", created.ID)
	}
	// The action saved the contact as the sync saves it: the next sync fetches it unchanged.
	out = e.ferry(false, "sync", "trigger", integration, "acme", "contacts", "--wait")
	if !hasCounts(out, "Contact", "0", "0", "0", "1") {
		t.Errorf("second sync: %s", out)
	}
	if out := e.ferry(false, "deploy", dir); !strings.Contains(out, "no change to syncs, actions or models") ||
		!strings.Contains(out, "deployed "+integration+" version 2") {
		t.Errorf("deploy again: %s", out)
	}
}

// hasCounts tells whether a printed run has the counts line model added updated deleted unchanged.
func hasCounts(out, model string, counts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == model && strings.Join(f[1:], " ") == strings.Join(counts, " ") {
			return true
		}
	}
	return false
}

func TestInitRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no language", []string{"init", filepath.Join(dir, "a")}, "--lang is required"},
		{"unknown language", []string{"init", "--lang", "cobol", filepath.Join(dir, "a")}, `unknown language "cobol"`},
		{"directory not empty", []string{"init", "--lang", "go", dir}, "directory exists and is not empty"},
		{"bad name", []string{"init", "--lang", "go", filepath.Join(dir, "___")}, "makes no integration id"},
		{"no SDK there", []string{"init", "--lang", "go", "--sdk", filepath.Join(dir, "none"), filepath.Join(dir, "b")}, "SDK directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(ferryBin, tt.args...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("ferry %s: %v\n%s\nwant an error containing %q", strings.Join(tt.args, " "), err, out, tt.want)
			}
		})
	}
}
