package ferry

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

type contact struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Note  string `json:"note,omitempty"`
}

func TestSave(t *testing.T) {
	tests := []struct {
		name    string
		records any
		wantArg string // "" when no call is expected
		want    SaveResult
		wantErr string
	}{
		{
			name:    "structs",
			records: []contact{{ID: "c1", Email: "a@x.io"}, {ID: "c2", Email: "b@x.io", Note: "<b>"}},
			wantArg: `Contact` + "\n" + `[{"id":"c1","email":"a@x.io"},{"id":"c2","email":"b@x.io","note":"<b>"}]`,
			want:    SaveResult{Added: 2},
		},
		{
			name:    "maps",
			records: []map[string]any{{"id": "c1", "email": "a@x.io"}},
			wantArg: "Contact\n" + `[{"email":"a@x.io","id":"c1"}]`,
			want:    SaveResult{Added: 1},
		},
		{
			name:    "raw",
			records: json.RawMessage(" [{\"id\":\"c1\"},\n{\"id\":\"c2\"}]\n"),
			wantArg: "Contact\n[{\"id\":\"c1\"},\n{\"id\":\"c2\"}]",
			want:    SaveResult{Added: 2},
		},
		{name: "nil slice", records: []contact(nil)},
		{name: "empty slice", records: []contact{}},
		{name: "not a slice", records: contact{ID: "c1"}, wantErr: `ferry: save Contact: records must be a JSON array, got {"id":"c1"`},
		{name: "unencodable", records: []any{func() {}}, wantErr: "ferry: save Contact: encode records: json: unsupported type: func()"},
		{name: "host refuses", records: []map[string]any{{"id": 7}}, wantArg: "Contact\n" + `[{"id":7}]`,
			wantErr: `ferry: save Contact: save Contact batch: record 0: "id" must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHost(t)
			h := newHost(th)
			got, err := h.Save("Contact", tt.records)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("result = %+v, want %+v", got, tt.want)
			}
			switch {
			case tt.wantArg == "" && len(th.calls) > 0:
				t.Errorf("unexpected host call %v", th.calls)
			case tt.wantArg != "" && (len(th.args) != 1 || string(th.args[0]) != tt.wantArg):
				t.Errorf("args = %q, want [%q]", th.args, tt.wantArg)
			}
		})
	}
}

func TestSaveCounts(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	if _, err := h.SaveRaw("Item", []byte(`[{"id":"1","v":1},{"id":"2","v":1}]`)); err != nil {
		t.Fatal(err)
	}
	got, err := h.SaveRaw("Item", []byte(`[{"id":"1","v":1},{"id":"2","v":2},{"id":"3"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (SaveResult{Added: 1, Updated: 1, Unchanged: 1}); got != want {
		t.Errorf("result = %+v, want %+v", got, want)
	}
}

func TestModelName(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	for _, model := range []string{"", "Con\ntact", "a b", "Contact-2"} {
		if _, err := h.Save(model, []contact{{ID: "1"}}); err == nil {
			t.Errorf("Save(%q) succeeded", model)
		}
	}
	if len(th.calls) != 0 {
		t.Errorf("host called for invalid model names: %v", th.calls)
	}
}

// queueStep is one call of a test of queued saves.
type queueStep struct {
	op      string // "queue" (QueueSave, or QueueSaveRaw for a string), "save", "checkpoint" or "flush"
	model   string // "" for Contact
	records any    // the batch, or the checkpoint
	want    SaveResult
	wantErr string // a part of the error wanted; "" for none
}

func TestQueueSave(t *testing.T) {
	const refused = `a queued records_queue failed, and the writes queued after it were dropped: save Contact batch: record 0: "id" must be a string`
	tests := []struct {
		name           string
		steps          []queueStep
		wantCalls      []hostFunc
		wantIDs        []string // the cached Contact ids
		wantCheckpoint string   // "" for none
	}{
		{
			name: "queue and flush",
			steps: []queueStep{
				{op: "queue", records: []contact{{ID: "c1", Email: "a@x.io"}, {ID: "c2"}}},
				{op: "queue", records: `[{"id":"c2","email":"b@x.io"},{"id":"c3"}]`},
				{op: "queue", records: `[{"id":"c3"}]`},
				{op: "flush", want: SaveResult{Added: 3, Updated: 1, Unchanged: 1}},
				{op: "flush"}, // the counts since the last flush
			},
			wantCalls: []hostFunc{fnRecordsQueue, fnRecordsQueue, fnRecordsQueue, fnRecordsFlush, fnRecordsFlush},
			wantIDs:   []string{"c1", "c2", "c3"},
		},
		{
			name: "queue, checkpoint, flush",
			steps: []queueStep{
				{op: "queue", records: []contact{{ID: "c1"}}},
				{op: "checkpoint", records: map[string]string{"cursor": "p2"}},
				{op: "queue", records: []contact{{ID: "c2"}}},
				{op: "checkpoint", records: map[string]string{"cursor": ""}},
				{op: "flush", want: SaveResult{Added: 2}},
			},
			wantCalls:      []hostFunc{fnRecordsQueue, fnCheckpointSave, fnRecordsQueue, fnCheckpointSave, fnRecordsFlush},
			wantIDs:        []string{"c1", "c2"},
			wantCheckpoint: `{"cursor":""}`,
		},
		{
			name: "refused batch reported by flush",
			steps: []queueStep{
				{op: "queue", records: []contact{{ID: "c1"}}},
				{op: "checkpoint", records: map[string]string{"cursor": "p2"}},
				// Accepted: the batch is checked when it is saved. The checkpoint behind it is dropped.
				{op: "queue", records: `[{"id":7}]`},
				{op: "checkpoint", records: map[string]string{"cursor": "p3"}},
				{op: "flush", wantErr: "ferry: flush: " + refused},
				{op: "flush", want: SaveResult{Added: 1}}, // reported once, then the queue is empty
			},
			wantCalls:      []hostFunc{fnRecordsQueue, fnCheckpointSave, fnRecordsQueue, fnCheckpointSave, fnRecordsFlush, fnRecordsFlush},
			wantIDs:        []string{"c1"},
			wantCheckpoint: `{"cursor":"p2"}`,
		},
		{
			name: "refused batch reported by the next queue save",
			steps: []queueStep{
				{op: "queue", records: `[{"id":7}]`},
				{op: "queue", records: []contact{{ID: "c1"}}, wantErr: "ferry: queue save Contact: " + refused},
				{op: "queue", records: []contact{{ID: "c2"}}},
				{op: "flush", want: SaveResult{Added: 1}},
			},
			wantCalls: []hostFunc{fnRecordsQueue, fnRecordsQueue, fnRecordsQueue, fnRecordsFlush},
			wantIDs:   []string{"c2"}, // c1's batch was not queued
		},
		{
			name: "refused batch reported by a save",
			steps: []queueStep{
				{op: "queue", records: `[{"id":"c1"},"c2"]`},
				{op: "checkpoint", records: map[string]string{"cursor": "p2"}},
				{op: "save", records: []contact{{ID: "c3"}}, wantErr: "ferry: save Contact: a queued records_queue failed"},
				{op: "save", records: []contact{{ID: "c4"}}, want: SaveResult{Added: 1}},
			},
			wantCalls: []hostFunc{fnRecordsQueue, fnCheckpointSave, fnRecordsSave, fnRecordsSave},
			wantIDs:   []string{"c4"},
		},
		{
			name: "empty batches are not sent",
			steps: []queueStep{
				{op: "queue", records: []contact(nil)},
				{op: "queue", records: []contact{}},
				{op: "queue", records: "[]"},
				{op: "queue", records: " [ \n\t] "},
				{op: "flush"},
			},
			wantCalls: []hostFunc{fnRecordsFlush},
		},
		{
			name: "a raw batch that only starts like an empty one is sent",
			steps: []queueStep{
				{op: "queue", records: "[ ]x"},
				{op: "flush", wantErr: "a queued records_queue failed"},
			},
			wantCalls: []hostFunc{fnRecordsQueue, fnRecordsFlush},
		},
		{
			name: "bad model names",
			steps: []queueStep{
				{op: "queue", model: "Con tact", records: []contact{{ID: "c1"}}, wantErr: `ferry: queue save: invalid model name "Con tact"`},
				{op: "queue", model: "Con\ntact", records: []contact(nil), wantErr: "ferry: queue save: invalid model name"},
				{op: "queue", model: "-", records: `[{"id":"c1"}]`, wantErr: "ferry: queue save: invalid model name"},
			},
		},
		{
			name: "not an array",
			steps: []queueStep{
				{op: "queue", records: contact{ID: "c1"}, wantErr: `ferry: queue save Contact: records must be a JSON array, got {"id":"c1"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHost(t)
			s := &Sync{Host: newHost(th)}
			for i, st := range tt.steps {
				model := st.model
				if model == "" {
					model = "Contact"
				}
				var got SaveResult
				var err error
				switch st.op {
				case "queue":
					if raw, ok := st.records.(string); ok {
						err = s.QueueSaveRaw(model, []byte(raw))
					} else {
						err = s.QueueSave(model, st.records)
					}
				case "save":
					got, err = s.Save(model, st.records)
				case "checkpoint":
					err = s.SaveCheckpoint(st.records)
				case "flush":
					got, err = s.Flush()
				default:
					t.Fatalf("step %d: unknown op %q", i, st.op)
				}
				if st.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), st.wantErr) {
						t.Errorf("step %d (%s): error = %v, want one with %q", i, st.op, err, st.wantErr)
					}
				} else if err != nil {
					t.Errorf("step %d (%s): %v", i, st.op, err)
				}
				if got != st.want {
					t.Errorf("step %d (%s): result = %+v, want %+v", i, st.op, got, st.want)
				}
			}
			if !slices.Equal(th.calls, tt.wantCalls) {
				t.Errorf("host calls %v, want %v", th.calls, tt.wantCalls)
			}
			ids := slices.Sorted(maps.Keys(th.records["Contact"]))
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("cached ids %v, want %v", ids, tt.wantIDs)
			}
			if string(th.checkpoint) != tt.wantCheckpoint {
				t.Errorf("checkpoint %s, want %q", th.checkpoint, tt.wantCheckpoint)
			}
		})
	}
}

func TestUpdateDeleteGet(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	if _, err := h.Save("Contact", []contact{{ID: "c1", Email: "a@x.io"}, {ID: "c2", Email: "b@x.io"}, {ID: "c3"}}); err != nil {
		t.Fatal(err)
	}

	up, err := h.Update("Contact", []map[string]any{{"id": "c1", "email": "new@x.io"}, {"id": "c2", "email": "b@x.io"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (UpdateResult{Updated: 1, Unchanged: 1}); up != want {
		t.Errorf("Update = %+v, want %+v", up, want)
	}

	n, err := h.Delete("Contact", "c3", "missing")
	if err != nil || n != 1 {
		t.Errorf("Delete = %d, %v; want 1, nil", n, err)
	}
	if got, want := string(th.args[len(th.args)-1]), "Contact\n"+`["c3","missing"]`; got != want {
		t.Errorf("delete arg = %q, want %q", got, want)
	}

	var got []contact
	if err := h.Get("Contact", []string{"c1", "c3"}, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (contact{ID: "c1", Email: "new@x.io"}) {
		t.Errorf("Get = %+v, want c1 with its new email", got)
	}

	calls := len(th.calls)
	if n, err := h.Delete("Contact"); n != 0 || err != nil {
		t.Errorf("Delete() = %d, %v", n, err)
	}
	got = nil
	if err := h.Get("Contact", nil, &got); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Get(nil ids) = %v, %v; want an empty slice", got, err)
	}
	if len(th.calls) != calls {
		t.Errorf("empty Delete or Get called the host")
	}
}

func TestScratchBuffer(t *testing.T) {
	// Arguments are encoded into one reused buffer, dropped after an unusually large one.
	th := newTestHost(t)
	h := newHost(th)
	if _, err := h.Save("Item", []contact{{ID: "1"}}); err != nil {
		t.Fatal(err)
	}
	if cap(h.scratch) == 0 {
		t.Fatal("no scratch buffer kept after a small batch")
	}
	big := []contact{{ID: "1", Note: strings.Repeat("x", maxScratch+1)}}
	if _, err := h.Save("Item", big); err != nil {
		t.Fatal(err)
	}
	if cap(h.scratch) != 0 {
		t.Errorf("scratch buffer of %d bytes kept after a large batch", cap(h.scratch))
	}
}
