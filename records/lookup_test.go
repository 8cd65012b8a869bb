package records

import "testing"

func TestLookup(t *testing.T) {
	doc := []byte(` {"data": [{"id":"a","x":"]}"}, {"id":"b"}], "meta": {"next": "c\"1", "n": 2, "deep": {"k": null}},
		"esc\u0041": 1, "last": true} `)
	for _, tc := range []struct {
		path, want string
		ok         bool
	}{
		{"data", `[{"id":"a","x":"]}"}, {"id":"b"}]`, true},
		{"meta.next", `"c\"1"`, true},
		{"meta.n", `2`, true},
		{"meta.deep.k", `null`, true},
		{"last", `true`, true},
		{"", `{"data": [{"id":"a","x":"]}"}, {"id":"b"}], "meta": {"next": "c\"1", "n": 2, "deep": {"k": null}},
		"esc\u0041": 1, "last": true}`, true},
		{"missing", "", false},
		{"meta.n.x", "", false},
		{"data.id", "", false},
		{"escA", "", false}, // keys with escapes compare as written
	} {
		got, ok := Lookup(doc, tc.path)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{``, `{`, `{"a"`, `{"a":`, `{"a":"x`, `{"a":[1,2`, `[1]`, `"s"`} {
		if v, ok := Lookup([]byte(bad), "a"); ok {
			t.Errorf("Lookup(%q, a) = %q, want not found", bad, v)
		}
	}
}

func TestParseBatchBy(t *testing.T) {
	items, err := ParseBatchBy([]byte(`[{"contact_id":"c1","id":7},{"contact_id":"c2"}]`), "contact_id")
	if err != nil || len(items) != 2 || items[0].ID != "c1" || items[1].ID != "c2" {
		t.Fatalf("got %+v, %v", items, err)
	}
	if string(items[0].Data) != `{"contact_id":"c1","id":7}` {
		t.Errorf("data %s: the record must be kept as sent", items[0].Data)
	}
	_, err = ParseBatchBy([]byte(`[{"id":"x"}]`), "contact_id")
	if err == nil || err.Error() != `record 0: "contact_id" must be a non-empty string` {
		t.Errorf("record without the id field: %v", err)
	}
}

// FuzzLookup checks that no input makes Lookup panic or return a value outside the document.
func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"data":[1,{"a":"]"}],"m":{"n":"x"}}`), "m.n")
	f.Add([]byte(`{"a":`), "a")
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		v, ok := Lookup(doc, path)
		if ok && len(v) > len(doc) {
			t.Fatalf("value of %d bytes out of a %d-byte document", len(v), len(doc))
		}
	})
}
