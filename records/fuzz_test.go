package records

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseBatch checks that any batch either is refused or yields records that are valid
// JSON objects with their ids, in compact form, whose hashes are their canonical forms'.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{`[]`, `[{"id":"a"}]`, `[{"id":"a","n":1},{"id":"a","n":2}]`, `[ {"id" : "b", "x": [1, 2]} ]`,
		`[{"id":7}]`, `[{"name":"x"}]`, `[1]`, `[{"id":"a"},]`, `{"id":"a"}`, `[{"id":"a","id":"b"}]`, `[{"id":""}]`,
		`[{"id":"\u00e9"}]`, `[{"nested":{"id":"inner"},"id":"outer"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseBatch(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ParseBatch accepted invalid JSON %q", data)
		}
		seen := map[string]bool{}
		for i, it := range items {
			if it.ID == "" || seen[it.ID] {
				t.Fatalf("item %d: empty or repeated id %q", i, it.ID)
			}
			seen[it.ID] = true
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(it.Data, &obj); err != nil {
				t.Fatalf("item %d: data %q is not an object: %v", i, it.Data, err)
			}
			var id string
			if err := json.Unmarshal(obj["id"], &id); err != nil || id != it.ID {
				t.Fatalf("item %d: id %q, data says %s", i, it.ID, obj["id"])
			}
			var compact bytes.Buffer
			json.Compact(&compact, it.Data)
			if !bytes.Equal(compact.Bytes(), it.Data) {
				t.Fatalf("item %d: data %q is not compact", i, it.Data)
			}
			if h, err := ContentHash(it.Data); err != nil || h != it.Hash {
				t.Fatalf("item %d: hash is not the canonical form's", i)
			}
		}
	})
}

// FuzzParseIDs checks that any id list either is refused or yields non-empty ids, one per
// element of a valid JSON array.
func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `[{"id":"a"},"b"]`, `[""]`, `[1]`, `[{"id":1}]`, `["a",]`, `"a"`, `["\u0000"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseIDs(data)
		if err != nil {
			return
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(data, &elems); err != nil {
			t.Fatalf("ParseIDs accepted %q, which is not a JSON array: %v", data, err)
		}
		if len(ids) != len(elems) {
			t.Fatalf("ParseIDs(%q) = %d ids for %d elements", data, len(ids), len(elems))
		}
		for i, id := range ids {
			if id == "" {
				t.Fatalf("id %d is empty", i)
			}
		}
	})
}

// Found by FuzzCanonical: duplicate keys, one written with escapes, were both kept when the
// object also needed reordering.
func TestCanonicalDropsEscapedDuplicateKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"\u0062":1,"b":2,"a":0}`, `{"a":0,"b":2}`},
		{`{"b":1,"a":0,"\u0062":2}`, `{"a":0,"b":2}`},
		{`{"c":1,"\u0061":1,"b":1,"a":2,"c":3}`, `{"a":2,"b":1,"c":3}`},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
