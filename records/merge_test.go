package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name       string
		dst, patch string
		want       string
	}{
		{"empty patch", `{"id":"1","a":1}`, `{}`, `{"id":"1","a":1}`},
		{"replace scalar", `{"id":"1","a":1,"b":2}`, `{"a":5}`, `{"id":"1","a":5,"b":2}`},
		{"add key at end", `{"id":"1","a":1}`, `{"c":{"x":1},"b":2}`, `{"id":"1","a":1,"c":{"x":1},"b":2}`},
		{"deep merge", `{"id":"1","addr":{"city":"A","zip":"1","geo":{"lat":1,"lng":2}}}`,
			`{"addr":{"zip":"2","geo":{"lat":3},"street":"S"}}`,
			`{"id":"1","addr":{"city":"A","zip":"2","geo":{"lat":3,"lng":2},"street":"S"}}`},
		{"array replaces", `{"tags":["a","b"]}`, `{"tags":["c"]}`, `{"tags":["c"]}`},
		{"null replaces", `{"a":{"x":1},"b":1}`, `{"a":null}`, `{"a":null,"b":1}`},
		{"object replaces scalar", `{"a":1}`, `{"a":{"x":1}}`, `{"a":{"x":1}}`},
		{"scalar replaces object", `{"a":{"x":1}}`, `{"a":"s"}`, `{"a":"s"}`},
		{"escaped key matches", `{"a":1,"b":2}`, `{"\u0061":3}`, `{"a":3,"b":2}`},
		{"duplicate keys in dst", `{"a":1,"b":2,"a":3}`, `{"b":4}`, `{"a":3,"b":4}`},
		{"whitespace compacted", "{ \"a\" : [ 1, 2 ] }", "{ \"b\" : { \"c\" : \"x y\" } }", `{"a":[1,2],"b":{"c":"x y"}}`},
		{"number kept as written", `{"a":1.50}`, `{"b":1e3}`, `{"a":1.50,"b":1e3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge([]byte(tt.dst), []byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Merge(%s, %s) = %s, want %s", tt.dst, tt.patch, got, tt.want)
			}
		})
	}
}

func TestMergeManyKeys(t *testing.T) {
	var dst, patch, want strings.Builder
	dst.WriteString("{")
	patch.WriteString("{")
	want.WriteString("{")
	for i := range 40 {
		if i > 0 {
			dst.WriteString(",")
			want.WriteString(",")
		}
		k := fmt.Sprintf("k%02d", i)
		dst.WriteString(`"` + k + `":0`)
		if i%2 == 0 {
			if patch.Len() > 1 {
				patch.WriteString(",")
			}
			patch.WriteString(`"` + k + `":1`)
			want.WriteString(`"` + k + `":1`)
		} else {
			want.WriteString(`"` + k + `":0`)
		}
	}
	patch.WriteString(`,"new":true}`)
	dst.WriteString("}")
	want.WriteString(`,"new":true}`)
	got, err := Merge([]byte(dst.String()), []byte(patch.String()))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Errorf("got  %s\nwant %s", got, want.String())
	}
}

func TestMergeErrors(t *testing.T) {
	tests := []struct {
		name       string
		dst, patch string
		want       string
	}{
		{"dst array", `[1]`, `{}`, "merge: stored record: not a JSON object"},
		{"patch array", `{}`, `[1]`, "merge: patch: not a JSON object"},
		{"patch broken", `{}`, `{"a":}`, "merge: patch: invalid character '}'"},
		{"dst trailing", `{} x`, `{}`, "merge: stored record: invalid character 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge([]byte(tt.dst), []byte(tt.patch))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzMerge checks Merge against a reference deep merge over decoded maps.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1,"c":[1]},"d":2}`), []byte(`{"a":{"b":{"x":1},"c":null},"e":3}`))
	f.Add([]byte(`{"a":1,"a":{"z":1}}`), []byte(`{"a":{"y":2}}`))
	f.Fuzz(func(t *testing.T, dst, patch []byte) {
		got, err := Merge(dst, patch)
		d, derr := decodeObject(dst)
		p, perr := decodeObject(patch)
		if (derr == nil && perr == nil) != (err == nil) {
			t.Fatalf("Merge(%q, %q) error = %v; decode errors %v, %v", dst, patch, err, derr, perr)
		}
		if err != nil {
			return
		}
		want := mergeRef(d, p)
		if g, err := decodeObject(got); err != nil || !reflect.DeepEqual(g, want) {
			t.Fatalf("Merge(%q, %q) = %q (%v), want %#v", dst, patch, got, err, want)
		}
	})
}

func decodeObject(b []byte) (map[string]any, error) {
	if !json.Valid(b) {
		return nil, errors.New("invalid")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not an object")
	}
	return m, nil
}

func mergeRef(dst, patch map[string]any) map[string]any {
	for k, pv := range patch {
		if pm, ok := pv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeRef(dm, pm)
				continue
			}
		}
		dst[k] = pv
	}
	return dst
}
