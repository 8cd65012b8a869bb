package cli_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/examples/provider/crm"
)

// runsJSON lists runs as `ferry runs --json` prints them.
func (e *e2e) runsJSON(args ...string) []map[string]any {
	e.t.Helper()
	out := e.ferry(false, append([]string{"runs", "--json", "--limit", "1000"}, args...)...)
	var list struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		e.t.Fatalf("runs: %v: %s", err, out)
	}
	return list.Runs
}

// waitRunning waits until a run of the crm connection is running.
func (e *e2e) waitRunning() bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(e.runsJSON("--status", "running")) > 0 {
			return true
		}
	}
	return false
}

// A server killed with SIGKILL at random points of a 20,000-record sync, restarted each time,
// while the provider's data changes: in the end the cache equals the provider's data, each
// record once, and the cursor stream from the start gives each record's latest version.
func TestCrashRecovery(t *testing.T) {
	const contacts = 20000
	e := startE2E(t, contacts, 10)
	e.ferry(false, "deploy", "../examples/crm-go")
	e.ferry(false, "connection", "put", "crm", "acme", "--cred", "token=demo-token", "--base-url", e.provURL)

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill points from seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	e.ferry(false, "sync", "trigger", "crm", "acme", "contacts")
	kills := 0
	for range 4 {
		if !e.waitRunning() {
			break // the run finished before it could be killed
		}
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		e.stop(true)
		kills++
		if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 40, Update: 150, Delete: 15}); err != nil {
			t.Fatal(err)
		}
		e.start() // reruns the interrupted run from its checkpoint
	}
	if kills < 2 {
		t.Fatalf("only %d kills landed mid-run", kills)
	}
	// Let the recovered run end, then catch up with the last changes.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if len(e.runsJSON("--status", "running"))+len(e.runsJSON("--status", "queued")) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("runs did not end")
		}
	}
	e.sync("contacts")

	interrupted := 0
	for _, r := range e.runsJSON("--status", "failed") {
		if strings.HasPrefix(r["error"].(string), "interrupted") {
			interrupted++
		}
	}
	if interrupted < kills {
		t.Errorf("%d runs marked interrupted after %d kills", interrupted, kills)
	}

	stream := e.records("Contact", "")
	seen := map[string]bool{}
	for i, r := range stream {
		if seen[r.id] {
			t.Fatalf("%s appears twice in the cursor stream", r.id)
		}
		seen[r.id] = true
		if i > 0 && r.cursor <= stream[i-1].cursor {
			t.Fatalf("cursor stream out of order at %s", r.id)
		}
	}
	checkContents(t, "Contact", stream, e.provider.Contacts(), func(c crm.Contact) string { return c.ID })
	t.Logf("%d kills, %d records in the stream, %d live at the provider", kills, len(stream), len(e.provider.Contacts()))
}
