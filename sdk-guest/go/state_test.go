package ferry

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCheckpoint(t *testing.T) {
	type cp struct {
		UpdatedAfter string `json:"updated_after"`
		Cursor       string `json:"cursor"`
	}
	th := newTestHost(t)
	s := &Sync{Host: newHost(th)}

	var got cp
	if ok, err := s.Checkpoint(&got); ok || err != nil {
		t.Fatalf("Checkpoint on first run = %v, %v; want false, nil", ok, err)
	}
	if err := s.SaveCheckpoint(cp{UpdatedAfter: "2024-01-01T00:00:00Z", Cursor: "abc"}); err != nil {
		t.Fatal(err)
	}
	if want := `{"updated_after":"2024-01-01T00:00:00Z","cursor":"abc"}`; string(th.checkpoint) != want {
		t.Errorf("stored checkpoint = %s, want %s", th.checkpoint, want)
	}
	if ok, err := s.Checkpoint(&got); !ok || err != nil || got.Cursor != "abc" {
		t.Errorf("Checkpoint = %v, %v, %+v", ok, err, got)
	}
	if err := s.ClearCheckpoint(); err != nil || th.checkpoint != nil {
		t.Errorf("ClearCheckpoint: %v, left %s", err, th.checkpoint)
	}

	for _, bad := range []any{[]int{1}, "text", 3, nil} {
		if err := s.SaveCheckpoint(bad); err == nil || !strings.Contains(err.Error(), "must be a JSON object") {
			t.Errorf("SaveCheckpoint(%#v) error = %v, want a JSON object error", bad, err)
		}
	}
	th.errs[fnCheckpointSave] = "checkpoint too large: 2097152 bytes, max 1048576"
	err := s.SaveCheckpoint(json.RawMessage(`{"a":1}`))
	if err == nil || err.Error() != "ferry: save checkpoint: checkpoint too large: 2097152 bytes, max 1048576" {
		t.Errorf("error = %v", err)
	}
}

func TestLastSyncTime(t *testing.T) {
	th := newTestHost(t)
	s := &Sync{Host: newHost(th)}
	if _, ok, err := s.LastSyncTime(); ok || err != nil {
		t.Errorf("LastSyncTime without a run = %v, %v", ok, err)
	}
	th.lastSync = "2024-03-01T10:20:30.123456789Z"
	got, ok, err := s.LastSyncTime()
	if want := time.Date(2024, 3, 1, 10, 20, 30, 123456789, time.UTC); !ok || err != nil || !got.Equal(want) {
		t.Errorf("LastSyncTime = %v, %v, %v; want %v", got, ok, err, want)
	}
	th.lastSync = "yesterday"
	if _, _, err := s.LastSyncTime(); err == nil {
		t.Error("LastSyncTime accepted a malformed time")
	}
}

func TestMetadata(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	var md map[string]any
	if err := h.Metadata(&md); err != nil || len(md) != 0 {
		t.Errorf("unset metadata = %v, %v", md, err)
	}
	if err := h.SetMetadata(map[string]int{"seen": 3}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Seen int }
	if err := h.Metadata(&got); err != nil || got.Seen != 3 {
		t.Errorf("metadata = %+v, %v", got, err)
	}
}

func TestLogger(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	h.Log.Debugf("page %d", 1)
	h.Log.Infof("saved %d contacts", 1000)
	h.Log.Warnf("slow")
	h.Log.Errorf("odd record %q", "c1")
	want := []string{"debug: page 1", "info: saved 1000 contacts", "warn: slow", `error: odd record "c1"`}
	if strings.Join(th.logs, "|") != strings.Join(want, "|") {
		t.Errorf("logs = %q, want %q", th.logs, want)
	}
	th.errs[fnLog] = "log refused"
	h.Log.Infof("dropped") // must not panic or fail
}

func TestInputOutput(t *testing.T) {
	th := newTestHost(t)
	a := &Action{Host: newHost(th)}
	th.input = []byte(` {"x": [1, 2]} `)
	var raw json.RawMessage
	if err := a.Input(&raw); err != nil {
		t.Fatal(err)
	}
	if err := a.Output(raw); err != nil {
		t.Fatal(err)
	}
	if want := `{"x": [1, 2]}`; string(th.output) != want {
		t.Errorf("echoed output = %q, want %q", th.output, want)
	}
	var n int
	if err := a.Input(&n); err == nil {
		t.Error("Input decoded an object into an int")
	}
}
