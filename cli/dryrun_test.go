package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dryrunResult is what `ferry dryrun --json` prints, as far as these tests look.
type dryrunResult struct {
	Status     string                       `json:"status"`
	Error      string                       `json:"error"`
	Records    map[string][]json.RawMessage `json:"records"`
	Deleted    map[string][]string          `json:"deleted"`
	Counts     map[string]map[string]int    `json:"counts"`
	Checkpoint json.RawMessage              `json:"checkpoint"`
	Requests   int                          `json:"requests"`
	Log        []struct {
		Message string `json:"message"`
		HTTP    *struct {
			Method, URL string
			Status      int
		} `json:"http"`
	} `json:"log"`
}

// dryrun runs ferry dryrun with args and returns its exit code, stdout and stderr.
func dryrun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	// The compilation cache sits beside the binary TestMain builds, and goes with it.
	args = append(args, "--cache", filepath.Join(filepath.Dir(ferryBin), "cache"))
	cmd := exec.Command(ferryBin, append([]string{"dryrun"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func decodeDryrun(t *testing.T, out string) dryrunResult {
	t.Helper()
	var res dryrunResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("dryrun --json printed %q: %v", out, err)
	}
	return res
}

// TestDryrunRecordThenReplay runs the example plugin's syncs against the example provider
// with --record, then with --replay and no credentials: the output is the same, and the
// provider sees no request. A replay that lacks a request fails, naming it.
func TestDryrunRecordThenReplay(t *testing.T) {
	e := startE2E(t, 40, 120)
	plugin := "../examples/crm-go"
	for _, sync := range []string{"contacts", "companies"} {
		t.Run(sync, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "exchanges")
			code, out, errOut := dryrun(t, plugin, sync, "--cred", "token=demo-token", "--base-url", e.provURL, "--record", dir, "--json")
			if code != 0 {
				t.Fatalf("record: exit %d: %s%s", code, out, errOut)
			}
			recorded := decodeDryrun(t, out)
			if recorded.Status != "succeeded" || recorded.Requests == 0 {
				t.Fatalf("record: %+v", recorded)
			}
			files, _ := os.ReadDir(dir)
			if len(files) != recorded.Requests {
				t.Errorf("%d files recorded for %d requests", len(files), recorded.Requests)
			}

			before := e.provider.Stats().Requests
			code, out, errOut = dryrun(t, plugin, sync, "--replay", dir, "--json")
			if code != 0 {
				t.Fatalf("replay: exit %d: %s%s", code, out, errOut)
			}
			replayed := decodeDryrun(t, out)
			if after := e.provider.Stats().Requests; after != before {
				t.Errorf("the replay made %d requests to the provider", after-before)
			}
			if !reflect.DeepEqual(replayed.Records, recorded.Records) || !reflect.DeepEqual(replayed.Counts, recorded.Counts) ||
				!reflect.DeepEqual(replayed.Deleted, recorded.Deleted) || string(replayed.Checkpoint) != string(recorded.Checkpoint) ||
				replayed.Requests != recorded.Requests {
				t.Errorf("replay differs from the recording:\n got %+v\nwant %+v", replayed, recorded)
			}
		})
	}

	t.Run("unrecorded request", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := dryrun(t, plugin, "contacts", "--replay", dir)
		if code != 1 || !strings.Contains(errOut, "GET /contacts?limit=1000: request not recorded in "+dir) {
			t.Errorf("exit %d, stderr %q: want 1 and an error naming the request", code, errOut)
		}
		if !strings.Contains(out, "failed in ") {
			t.Errorf("stdout lacks how the run ended:\n%s", out)
		}
	})
}

// TestDryrunPrints checks the output for people: records per model (cut at --limit), the
// counts, the checkpoint and the log.
func TestDryrunPrints(t *testing.T) {
	e := startE2E(t, 12, 3)
	code, out, errOut := dryrun(t, "../examples/crm-go", "contacts", "--cred", "token=demo-token", "--base-url", e.provURL, "--limit", "2",
		"--checkpoint", `{"updated_after": "2000-01-01T00:00:00Z"}`, "--metadata", `{"region": "eu"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	for _, want := range []string{
		"dryrun of crm sync contacts (incremental) against " + e.provURL,
		"Contact: 12 records\n{\"id\":",
		"... and 10 more (--limit 0 prints them all, --json prints everything)",
		"MODEL  ADDED  UPDATED  DELETED  UNCHANGED",
		"Contact     12        0        0          0",
		`checkpoint: {"updated_after":"`,
		"http GET " + e.provURL + "/contacts?limit=1000&updated_after=2000-01-01T00%3A00%3A00Z -> 200",
		"http GET " + e.provURL + "/contacts/deleted?since=2000-01-01T00%3A00%3A00Z -> 200",
		"succeeded in ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "demo-token") {
		t.Errorf("the output shows the token")
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet got %q", errOut)
	}
}
