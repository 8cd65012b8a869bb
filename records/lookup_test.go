package records

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

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

// FuzzLookup checks Lookup against encoding/json: for a valid document (without escapes,
// which Lookup compares as written, or duplicate keys, of which encoding/json keeps the
// last), Lookup finds a value exactly where encoding/json does, and the same value. No input
// may make it panic.
func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"data":[1,{"a":"]"}],"m":{"n":"x"}}`), "m.n")
	f.Add([]byte(`{"a":`), "a")
	f.Add([]byte(` {"a": {"b": [1, 2.50, {"c": null}]}, "d": "e"} `), "a.b")
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		v, ok := Lookup(doc, path)
		if !json.Valid(doc) || bytes.IndexByte(doc, '\\') >= 0 || duplicateKeys(doc) {
			return
		}
		want, found := lookupDecoded(t, doc, path)
		if ok != found {
			t.Fatalf("Lookup(%q) found %v (%q), encoding/json %v", path, ok, v, found)
		}
		if !ok {
			return
		}
		if got := decodeNumbers(t, v); !reflect.DeepEqual(got, want) {
			t.Fatalf("Lookup(%q) = %q, encoding/json finds %#v", path, v, want)
		}
	})
}

// lookupDecoded is Lookup done on the document decoded by encoding/json.
func lookupDecoded(t *testing.T, doc []byte, path string) (any, bool) {
	v := decodeNumbers(t, doc)
	if path == "" {
		return v, true
	}
	for _, k := range strings.Split(path, ".") {
		obj, isObj := v.(map[string]any)
		if !isObj {
			return nil, false
		}
		if v, isObj = obj[k]; !isObj {
			return nil, false
		}
	}
	return v, true
}

// duplicateKeys reports whether an object of the valid JSON document doc has a key twice.
func duplicateKeys(doc []byte) bool {
	type object struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*object // nil for an array
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if k, isString := tok.(string); isString && len(stack) > 0 && stack[len(stack)-1] != nil && stack[len(stack)-1].wantKey {
			top := stack[len(stack)-1]
			if top.keys[k] {
				return true
			}
			top.keys[k], top.wantKey = true, false
			continue
		}
		valueDone()
	}
}
