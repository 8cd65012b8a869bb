package records

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRecordMarshalJSON(t *testing.T) {
	seen := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	mod := seen.Add(time.Hour)
	live := Meta{FirstSeenAt: seen, LastModifiedAt: mod, LastAction: Updated, Cursor: "7"}
	deleted := Meta{FirstSeenAt: seen, LastModifiedAt: mod, LastAction: Deleted, DeletedAt: &mod, Cursor: "8"}
	liveJSON := `{"first_seen_at":"2024-01-02T03:04:05.0000006Z","last_modified_at":"2024-01-02T04:04:05.0000006Z","last_action":"updated","deleted_at":null,"cursor":"7"}`
	deletedJSON := `{"first_seen_at":"2024-01-02T03:04:05.0000006Z","last_modified_at":"2024-01-02T04:04:05.0000006Z","last_action":"deleted","deleted_at":"2024-01-02T04:04:05.0000006Z","cursor":"8"}`
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{"members kept in order", Record{ID: "a", Data: json.RawMessage(`{"id":"a","z":1,"b":[1]}`), Meta: live},
			`{"id":"a","z":1,"b":[1],"_ferry":` + liveJSON + `}`},
		{"empty object", Record{ID: "a", Data: json.RawMessage(`{}`), Meta: live}, `{"_ferry":` + liveJSON + `}`},
		{"empty object with spaces", Record{ID: "a", Data: json.RawMessage(` { } `), Meta: live}, `{"_ferry":` + liveJSON + `}`},
		{"deleted", Record{ID: "a", Data: json.RawMessage(`{"id":"a"}`), Meta: deleted}, `{"id":"a","_ferry":` + deletedJSON + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// A pointer marshals the same way.
			if got2, _ := json.Marshal(&tt.rec); string(got2) != string(got) {
				t.Errorf("pointer marshals as %s", got2)
			}
		})
	}
	if _, err := json.Marshal(Record{ID: "x", Data: json.RawMessage(`[1]`)}); err == nil {
		t.Error("marshalling a non-object record succeeded")
	}
}

// AppendJSON writes "_ferry" exactly as encoding/json writes Meta.
func TestAppendJSONMetaMatchesEncodingJSON(t *testing.T) {
	deleted := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	for _, m := range []Meta{
		{FirstSeenAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), LastModifiedAt: time.Date(2025, 1, 2, 3, 4, 5, 100, time.UTC), LastAction: Added, Cursor: "42"},
		{FirstSeenAt: time.Unix(0, 0).UTC(), LastModifiedAt: deleted, LastAction: Deleted, DeletedAt: &deleted, Cursor: FormatCursor(1 << 40)},
	} {
		got, err := Record{ID: "a", Data: []byte(`{"id":"a"}`), Meta: m}.AppendJSON([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		meta, _ := json.Marshal(m)
		if want := `x{"id":"a","_ferry":` + string(meta) + `}`; string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
