package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/examples/provider/crm"
)

// examplePlugins are the example plugins that implement the same syncs, in Go (Ferry's ABI),
// Rust (Ferry's ABI) and AssemblyScript (Extism's ABI), with their integration ids.
var examplePlugins = []struct{ dir, integration string }{
	{"../examples/crm-go", "crm"},
	{"../examples/crm-rust", "crm-rust"},
	{"../examples/crm-assemblyscript", "crm-assemblyscript"},
}

// syncOf runs a sync of an integration's acme connection and returns its counts per model.
func (e *e2e) syncOf(integration, sync string) map[string]map[string]int {
	e.t.Helper()
	out := e.ferry(false, "sync", "trigger", integration, "acme", sync, "--wait")
	id := strings.Fields(out)[1]
	var run struct {
		Counts map[string]map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(e.ferry(false, "runs", "show", id)), &run); err != nil {
		e.t.Fatal(err)
	}
	return run.Counts
}

// recordsOf returns an integration's records of a model, without _ferry, by id.
func (e *e2e) recordsOf(integration, model string) map[string]map[string]any {
	e.t.Helper()
	out := e.ferry(false, "records", integration, "acme", model, "--all", "--limit", "1000")
	recs := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			e.t.Fatal(err)
		}
		meta := r["_ferry"].(map[string]any)
		delete(r, "_ferry")
		r["last_action"] = meta["last_action"]
		recs[r["id"].(string)] = r
	}
	return recs
}

func (e *e2e) checkpointOf(integration, sync string) any {
	e.t.Helper()
	var st struct {
		Checkpoint any `json:"checkpoint"`
	}
	if err := json.Unmarshal([]byte(e.ferry(false, "sync", "status", integration, "acme", sync)), &st); err != nil {
		e.t.Fatal(err)
	}
	return st.Checkpoint
}

// The example plugins in every language behave the same: same records, counts and
// checkpoints, before and after the provider's data changes, and the same action outputs.
func TestConformance(t *testing.T) {
	for _, p := range examplePlugins {
		if _, err := os.Stat(p.dir + "/plugin.wasm"); err != nil {
			t.Fatalf("%s is not built (run `make build` first): %v", p.dir, err)
		}
	}
	e := startE2E(t, 2500, 130)
	for _, p := range examplePlugins {
		e.ferry(false, "deploy", p.dir)
		e.ferry(false, "connection", "put", p.integration, "acme", "--cred", "token=demo-token", "--base-url", e.provURL)
	}
	compare := func(stage string) {
		t.Helper()
		for _, sync := range []string{"contacts", "companies"} {
			counts := map[string]map[string]map[string]int{}
			for _, p := range examplePlugins {
				counts[p.integration] = e.syncOf(p.integration, sync)
			}
			for _, p := range examplePlugins[1:] {
				if !reflect.DeepEqual(counts[p.integration], counts["crm"]) {
					t.Errorf("%s %s counts: %s %v, crm-go %v", stage, sync, p.integration, counts[p.integration], counts["crm"])
				}
				if a, b := e.checkpointOf(p.integration, sync), e.checkpointOf("crm", sync); !reflect.DeepEqual(a, b) {
					t.Errorf("%s %s checkpoint: %s %v, crm-go %v", stage, sync, p.integration, a, b)
				}
			}
		}
		for _, model := range []string{"Contact", "Company"} {
			want := e.recordsOf("crm", model)
			for _, p := range examplePlugins[1:] {
				got := e.recordsOf(p.integration, model)
				if len(got) != len(want) {
					t.Errorf("%s %s: %s has %d records, crm-go %d", stage, model, p.integration, len(got), len(want))
					continue
				}
				for id, r := range want {
					if !reflect.DeepEqual(got[id], r) {
						t.Errorf("%s %s %s: %s has %v, crm-go %v", stage, model, id, p.integration, got[id], r)
						break
					}
				}
			}
		}
	}
	compare("initial")
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelContacts, Add: 7, Update: 11, Delete: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider.Mutate(crm.Mutation{Model: crm.ModelCompanies, Add: 2, Update: 3, Delete: 4}); err != nil {
		t.Fatal(err)
	}
	compare("after changes")

	// Actions, in the languages that have them: the first call creates, the second (by the
	// other plugin, same email) finds the same contact.
	action := func(integration, email string) map[string]any {
		t.Helper()
		out := e.ferry(false, "action", integration, "acme", "create-contact", "--input", fmt.Sprintf(`{"email":%q,"first_name":"Ada"}`, email))
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s output %q: %v", integration, out, err)
		}
		return m
	}
	for _, order := range [][2]string{{"crm", "crm-rust"}, {"crm-rust", "crm"}} {
		email := "conformance-" + order[0] + "@example.com"
		first, second := action(order[0], email), action(order[1], email)
		if first["created"] != true || second["created"] != false || first["id"] != second["id"] || first["id"] == "" {
			t.Errorf("%s then %s: %v, %v", order[0], order[1], first, second)
		}
	}
}
