package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ferrysync/ferry/examples/provider/crm"
)

// ferryBin is the ferry binary the end-to-end tests build once and run as a user would.
var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", ferryBin, "./ferry")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ferry:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2e is a ferry server started as a process, with a provider on loopback.
type e2e struct {
	t        *testing.T
	data     string
	url      string
	provider *crm.Server
	provURL  string

	server *exec.Cmd
	log    *bytes.Buffer
}

func startE2E(t *testing.T, contacts, companies int) *e2e {
	t.Helper()
	if _, err := os.Stat("../examples/crm-go/plugin.wasm"); err != nil {
		t.Fatalf("the example plugin is not built (run `make build` first): %v", err)
	}
	p := crm.New(crm.Options{Token: "demo-token", Contacts: contacts, Companies: companies, Seed: 7})
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	e := &e2e{t: t, data: t.TempDir(), provider: p, provURL: ps.URL}
	e.start()
	t.Cleanup(func() {
		e.stop(false)
		if t.Failed() {
			t.Logf("server log:\n%s", e.log.String())
		}
	})
	if info, err := os.Stat(filepath.Join(e.data, "secret_key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret_key: %v, %v", info, err)
	}
	return e
}

// start starts `ferry serve` on the data dir and waits until it listens.
func (e *e2e) start() {
	e.t.Helper()
	cmd := exec.Command(ferryBin, "serve", "--data", e.data, "--addr", "127.0.0.1:0", "--workers", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if e.log == nil {
		e.log = new(bytes.Buffer)
	}
	cmd.Stderr = e.log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.server = cmd
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		e.t.Fatalf("server did not start: %v\n%s", err, e.log.String())
	}
	e.url = strings.TrimSpace(strings.TrimPrefix(line, "ferry listening on "))
}

// stop stops the server: with SIGKILL if kill, else with SIGTERM and a wait.
func (e *e2e) stop(kill bool) {
	if e.server == nil {
		return
	}
	if kill {
		e.server.Process.Kill()
	} else {
		e.server.Process.Signal(syscall.SIGTERM)
	}
	e.server.Wait()
	e.server = nil
}

// ferry runs the CLI against the server and returns its stdout; it fails the test if the
// command fails, unless wantFail.
func (e *e2e) ferry(wantFail bool, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Env = append(os.Environ(), "FERRY_URL="+e.url, "FERRY_DATA="+e.data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err != nil) != wantFail {
		e.t.Fatalf("ferry %s: err %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

type record struct {
	data   map[string]any
	id     string
	meta   map[string]any
	cursor uint64
}

// records reads every record of a model after cursor, following next_cursor.
func (e *e2e) records(model, cursor string) []record {
	e.t.Helper()
	args := []string{"records", "crm", "acme", model, "--all", "--limit", "700"}
	if cursor != "" {
		args = append(args, "--cursor", cursor)
	}
	out := e.ferry(false, args...)
	var recs []record
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			e.t.Fatalf("record line %q: %v", line, err)
		}
		meta := r["_ferry"].(map[string]any)
		delete(r, "_ferry")
		c, err := strconv.ParseUint(meta["cursor"].(string), 10, 64)
		if err != nil {
			e.t.Fatalf("cursor %v: %v", meta["cursor"], err)
		}
		recs = append(recs, record{data: r, id: r["id"].(string), meta: meta, cursor: c})
	}
	return recs
}

// sync runs a sync with --wait and returns its counts line for the model, e.g. "Contact 12 3 1 80".
func (e *e2e) sync(name string, extra ...string) map[string][4]int {
	e.t.Helper()
	out := e.ferry(false, append([]string{"sync", "trigger", "crm", "acme", name, "--wait"}, extra...)...)
	if !strings.Contains(out, " succeeded: ") {
		e.t.Fatalf("sync %s: %s", name, out)
	}
	counts := map[string][4]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && (f[0] == "Contact" || f[0] == "Company") {
			var c [4]int
			for i := range 4 {
				c[i], _ = strconv.Atoi(f[i+1])
			}
			counts[f[0]] = c
		}
	}
	return counts
}

// asJSON round-trips v so that it compares with decoded records.
func asJSON(t *testing.T, v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func checkContents[T any](t *testing.T, what string, recs []record, want []T, id func(T) string) {
	t.Helper()
	live := map[string]record{}
	for _, r := range recs {
		if r.meta["last_action"] != "deleted" {
			live[r.id] = r
		}
	}
	if len(live) != len(want) {
		t.Fatalf("%s: %d live records, the provider has %d", what, len(live), len(want))
	}
	for _, w := range want {
		r, ok := live[id(w)]
		if !ok {
			t.Fatalf("%s: %s missing", what, id(w))
		}
		if exp := asJSON(t, w); !reflect.DeepEqual(r.data, exp) {
			t.Fatalf("%s %s:\n got  %v\n want %v", what, id(w), r.data, exp)
		}
	}
}

// The whole path: deploy, connect, sync, read, change the provider, sync again, read the
// changes by cursor, re-sync unchanged.
func TestEndToEnd(t *testing.T) {
	const contacts, companies = 2500, 120
	e := startE2E(t, contacts, companies)

	if out := e.ferry(false, "deploy", "../examples/crm-go"); !strings.Contains(out, "deployed crm version 1") {
		t.Fatalf("deploy: %s", out)
	}
	e.ferry(false, "connection", "put", "crm", "acme", "--cred", "token=demo-token", "--base-url", e.provURL)

	if got := e.sync("contacts"); got["Contact"] != [4]int{contacts, 0, 0, 0} {
		t.Fatalf("first contacts sync counts %v", got)
	}
	if got := e.sync("companies"); got["Company"] != [4]int{companies, 0, 0, 0} {
		t.Fatalf("first companies sync counts %v", got)
	}
	contactsBefore := e.records("Contact", "")
	companiesBefore := e.records("Company", "")
	checkContents(t, "Contact", contactsBefore, e.provider.Contacts(), func(c crm.Contact) string { return c.ID })
	checkContents(t, "Company", companiesBefore, e.provider.Companies(), func(c crm.Company) string { return c.ID })
	lastContact := contactsBefore[len(contactsBefore)-1].cursor
	lastCompany := companiesBefore[len(companiesBefore)-1].cursor

	mc, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 5, Update: 3, Delete: 2})
	if err != nil {
		t.Fatal(err)
	}
	mco, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelCompanies, Add: 1, Update: 2, Delete: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sync("contacts"); got["Contact"] != [4]int{5, 3, 2, 0} {
		t.Fatalf("second contacts sync counts %v, want 5 added, 3 updated, 2 deleted", got)
	}
	if got := e.sync("companies"); got["Company"] != [4]int{1, 2, 1, companies - 3} {
		t.Fatalf("second companies sync counts %v", got)
	}
	checkContents(t, "Contact", e.records("Contact", ""), e.provider.Contacts(), func(c crm.Contact) string { return c.ID })
	checkContents(t, "Company", e.records("Company", ""), e.provider.Companies(), func(c crm.Company) string { return c.ID })

	// Everything after the first syncs' last cursor: each change once, in order.
	checkChanges(t, e.records("Contact", strconv.FormatUint(lastContact, 10)), mc)
	checkChanges(t, e.records("Company", strconv.FormatUint(lastCompany, 10)), mco)

	// Nothing changed at the provider: a full re-fetch counts only unchanged.
	if got := e.sync("contacts", "--full"); got["Contact"] != [4]int{0, 0, 0, contacts + 3} {
		t.Fatalf("unchanged contacts resync counts %v", got)
	}
	if got := e.sync("companies"); got["Company"] != [4]int{0, 0, 0, companies} {
		t.Fatalf("unchanged companies resync counts %v", got)
	}

	// The run's log shows the proxied requests, without the token.
	runs := e.ferry(false, "runs", "--integration", "crm", "--json", "--limit", "1")
	var list struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(runs), &list); err != nil || len(list.Runs) != 1 {
		t.Fatalf("runs: %v %s", err, runs)
	}
	logs := e.ferry(false, "logs", list.Runs[0].ID)
	if !strings.Contains(logs, "http GET "+e.provURL+"/companies") || strings.Contains(logs, "demo-token") {
		t.Errorf("run log:\n%s", logs)
	}
}

func checkChanges(t *testing.T, changes []record, m crm.MutationResult) {
	t.Helper()
	want := map[string]string{}
	for _, id := range m.Added {
		want[id] = "added"
	}
	for _, id := range m.Updated {
		want[id] = "updated"
	}
	for _, id := range m.Deleted {
		want[id] = "deleted"
	}
	got := map[string]string{}
	var cursors []uint64
	for _, r := range changes {
		if _, dup := got[r.id]; dup {
			t.Errorf("%s appears twice after the cursor", r.id)
		}
		got[r.id] = r.meta["last_action"].(string)
		cursors = append(cursors, r.cursor)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes after the cursor %v, want %v", got, want)
	}
	if !slices.IsSorted(cursors) {
		t.Errorf("cursors out of order: %v", cursors)
	}
}

func TestCLIErrors(t *testing.T) {
	e := startE2E(t, 10, 2)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "testdata/nowhere"}, "ferry.yaml not found"},
		{[]string{"sync", "trigger", "crm", "acme", "contacts"}, "not found"},
		{[]string{"records", "crm", "acme", "Contact", "--cursor", "x"}, "cursor"},
		{[]string{"connection", "put", "crm", "acme", "--cred", "novalue"}, "want name=value"},
		{[]string{"runs", "--key", "wrong"}, "unauthorized"},
	}
	for _, tt := range tests {
		if out := e.ferry(true, tt.args...); !strings.Contains(out, tt.want) {
			t.Errorf("ferry %v: %s, want %q", tt.args, out, tt.want)
		}
	}
}
