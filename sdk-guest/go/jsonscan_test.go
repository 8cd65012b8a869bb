package ferry

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLookupJSON(t *testing.T) {
	doc := ` {"data": [{"id":"a","x":"}]"}, {"id":"b"}], "meta": {"next": "c\"2", "n": 7, "nil": null},
		"esc\u0061ped": true, "a.b": 1, "s": "{not an object}"} `
	tests := []struct {
		path string
		want string // "" when absent
	}{
		{"", strings.TrimSpace(doc)},
		{"data", `[{"id":"a","x":"}]"}, {"id":"b"}]`},
		{"meta.next", `"c\"2"`},
		{"meta.n", `7`},
		{"meta.nil", `null`},
		{"escaped", `true`},
		{"meta.missing", ""},
		{"data.id", ""}, // not an object
		{"s.x", ""},
		{"a.b", ""}, // dots always separate keys
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := lookupJSON([]byte(doc), tt.path)
			if ok != (tt.want != "") || string(got) != tt.want {
				t.Errorf("lookupJSON(%q) = %q, %v; want %q", tt.path, got, ok, tt.want)
			}
		})
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{`[ ]`, nil},
		{`[1, "a,b" ,{"k":[1,2]}, [[]], null, -2.5e3, true]`, []string{`1`, `"a,b"`, `{"k":[1,2]}`, `[[]]`, `null`, `-2.5e3`, `true`}},
		{"[\n\t{\"id\":\"\\\\\"}\n]", []string{`{"id":"\\"}`}},
	}
	for _, tt := range tests {
		if !json.Valid([]byte(tt.in)) {
			t.Fatalf("test input %s is not JSON", tt.in)
		}
		got := splitArray([]byte(tt.in))
		if len(got) != len(tt.want) || countArray([]byte(tt.in)) != len(tt.want) {
			t.Errorf("splitArray(%s) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("splitArray(%s)[%d] = %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}
