package ferrytest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// The helper's own tests run it against a stand-in for the ferry binary, a shell script that
// saves its arguments and prints what the test gives it; the real binary is exercised by the
// example plugins' tests.

// fakeFerry writes a script that records its arguments in args.txt next to it, prints out on
// stdout and errOut on stderr, and exits with code. It returns the script's path.
func fakeFerry(t *testing.T, out, errOut string, code int) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in binary is a shell script")
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"out.txt": out, "err.txt": errOut} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > %[1]s/args.txt\ncat %[1]s/out.txt\ncat %[1]s/err.txt >&2\nexit %[2]d\n", dir, code)
	bin := filepath.Join(dir, "ferry")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func args(t *testing.T, bin string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "args.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// fatalT records a test's fatal failure instead of failing the real test.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, a ...any) {
	f.msg = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

// fatal runs fn with a fatalT and returns its fatal message, "" if it did not fail.
func fatal(t *testing.T, fn func(t testing.TB)) string {
	ft := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ft)
	}()
	<-done
	return ft.msg
}

const succeeded = `{"integration":"crm","sync":"contacts","type":"incremental","status":"succeeded",
"records":{"Contact":[{"id":"c-1","email":"a@x"},{"id":"c-2","email":"b@x"}]},"deleted":{"Contact":["c-9"]},
"counts":{"Contact":{"added":2,"updated":0,"deleted":1,"unchanged":0}},"checkpoint":{"cursor":"k"},
"log":[{"time":"2026-01-02T03:04:05Z","level":"info","message":"hello"}],"requests":3}`

func TestDryRun(t *testing.T) {
	bin := fakeFerry(t, succeeded, "", 0)
	t.Setenv("FERRY_BIN", bin)
	res := DryRun(t, "plugin", "contacts", Options{
		Replay: "testdata/exchanges", Checkpoint: map[string]string{"cursor": "a"},
		Metadata: map[string]int{"n": 1}, Credentials: map[string]string{"token": "t"}, BaseURL: "http://x",
	})
	got := args(t, bin)
	for _, want := range [][]string{
		{"dryrun", "plugin", "contacts", "--json"}, {"--replay", "testdata/exchanges"}, {"--cred", "token=t"},
		{"--base-url", "http://x"}, {"--checkpoint", `{"cursor":"a"}`}, {"--metadata", `{"n":1}`},
	} {
		if !containsRun(got, want) {
			t.Errorf("arguments %q lack %q", got, want)
		}
	}
	if !reflect.DeepEqual(res.IDs("Contact"), []string{"c-1", "c-2"}) || res.Counts["Contact"] != (Counts{Added: 2, Deleted: 1}) ||
		res.Requests != 3 || !reflect.DeepEqual(res.Deleted["Contact"], []string{"c-9"}) || res.Log[0].Message != "hello" {
		t.Errorf("result %+v", res)
	}
	var contacts []struct{ ID, Email string }
	res.Decode(t, "Contact", &contacts)
	if len(contacts) != 2 || contacts[1].Email != "b@x" {
		t.Errorf("decoded %+v", contacts)
	}
	var cp struct{ Cursor string }
	res.DecodeCheckpoint(t, &cp)
	if cp.Cursor != "k" {
		t.Errorf("checkpoint %+v", cp)
	}
}

// containsRun tells whether want appears in got as consecutive elements.
func containsRun(got, want []string) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		if reflect.DeepEqual(got[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestDryRunFailures(t *testing.T) {
	failed := `{"status":"failed","error":"plugin failed: GET /contacts: request not recorded","log":[{"time":"2026-01-02T03:04:05Z","level":"warn","http":{"method":"GET","url":"/contacts","status":0,"error":"not recorded"}}]}`
	tests := []struct {
		name            string
		out, err        string
		code            int
		opt             Options
		wantFatal       []string // in the fatal message; none: no failure
		wantErrInResult string
	}{
		{name: "failed run", out: failed, code: 1,
			wantFatal: []string{"sync contacts failed: plugin failed: GET /contacts: request not recorded", "http GET /contacts -> error: not recorded"}},
		{name: "failed run allowed", out: failed, code: 1, opt: Options{AllowFailure: true},
			wantErrInResult: "request not recorded"},
		{name: "dry run that could not start", err: "ferry: plugin/ferry.yaml: no such file", code: 1,
			wantFatal: []string{"exit status 1", "ferry: plugin/ferry.yaml: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FERRY_BIN", fakeFerry(t, tt.out, tt.err, tt.code))
			var res *Result
			msg := fatal(t, func(t testing.TB) { res = DryRun(t, "plugin", "contacts", tt.opt) })
			if len(tt.wantFatal) == 0 {
				if msg != "" {
					t.Fatalf("failed the test: %s", msg)
				}
				if !strings.Contains(res.Error, tt.wantErrInResult) || res.Status != "failed" {
					t.Errorf("result %+v", res)
				}
				return
			}
			for _, w := range tt.wantFatal {
				if !strings.Contains(msg, w) {
					t.Errorf("fatal message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestBinary(t *testing.T) {
	t.Setenv("FERRY_BIN", "")
	t.Setenv("PATH", t.TempDir())
	if msg := fatal(t, func(t testing.TB) { Binary(t) }); !strings.Contains(msg, "set FERRY_BIN") {
		t.Errorf("no binary: fatal message %q", msg)
	}
	t.Setenv("FERRY_BIN", filepath.Join(t.TempDir(), "missing"))
	if msg := fatal(t, func(t testing.TB) { Binary(t) }); !strings.Contains(msg, "FERRY_BIN=") {
		t.Errorf("missing FERRY_BIN: fatal message %q", msg)
	}
	bin := fakeFerry(t, "", "", 0)
	t.Setenv("FERRY_BIN", "")
	t.Setenv("PATH", filepath.Dir(bin))
	if got := Binary(t); got != bin {
		t.Errorf("Binary() = %q, want %q from PATH", got, bin)
	}
}
