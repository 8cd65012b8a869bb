package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// decodeStd is what Value must match: encoding/json into an interface, with UseNumber.
func decodeStd(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func TestValue(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-1.5e+10`, `"x"`,
		`{"id":"c-1","n":1,"f":1.0,"b":true,"z":null,"a":[1,"two",[],{}],"o":{"k":{"k":"v"}}}`,
		` { "b" : 1 , "a" : [ 1 , 2 ] } `,
		`{"a":1,"a":2}`,
		`{"esc":"q\"b\\s\/n\nt\tu\u00e9\u0001 \ud83d\ude00 lone \ud800"}`,
		`{"k\u0041y":"v","":""}`,
		"{\"bad utf8\":\"\xff\"}",
		`[1,[2,[3,[4]]]]`,
	} {
		want, err := decodeStd([]byte(in))
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", in, err)
		}
		got, err := Value([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", in, got, want)
		}
	}
}

func TestValueRefusesInvalidJSON(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `[1,]`, `{"a":1}x`, `nul`, `"open`, `{'a':1}`} {
		if v, err := Value([]byte(in)); err == nil {
			t.Errorf("%q: got %#v, want an error", in, v)
		}
	}
}

// FuzzValue checks Value against encoding/json on any input: the same value, or both refuse.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"id":"1","a":[1,2.5,"x",null,true]}`, `"\u00e9\n"`, `{"a":{"b":{}}}`, `1e5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := decodeStd(data)
		got, gerr := Value(data)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json err %v, Value err %v", data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// itemValueCases are records as plugins send them, whitespace, escapes and all.
var itemValueCases = []string{
	`{}`,
	`{"id":"c-1","n":1,"f":1.0,"b":true,"z":null,"a":[1,"two",[],{}],"o":{"k":{"k":"v"}}}`,
	` { "id" : "x" , "b" : 1 , "a" : [ 1 , { "q" : "]}\"," } ] , "c" : -2e3 } `,
	`{"id":"d","a":1,"a":2}`,
	`{"id":"e","esc":"q\"b\\s\/n\nt\tu\u00e9\u0001 \ud83d\ude00 lone \ud800","plain":"é"}`,
	`{"k\u0041y":"v","":"","id":"f"}`,
	"{\"id\":\"g\",\"bad utf8\":\"\xff\",\"skip\":\"\xfe\"}",
	`{"id":"h","deep":[1,[2,[3,[4,{"x":[]}]]]],"last":{}}`,
}

// ItemValue decodes a batch's items as Value decodes them, and leaves the members keep
// rejects nil without disturbing the others.
func TestItemValue(t *testing.T) {
	keepShort := func(k string) bool { return len(k) <= 2 }
	for _, in := range itemValueCases {
		items, err := ParseBatch([]byte("[" + in + "]"))
		if err != nil {
			if in == `{}` {
				continue // no id: not an item
			}
			t.Fatalf("%s: %v", in, err)
		}
		data := items[0].Data
		want, err := Value(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := ItemValue(data, nil); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", in, got, want)
		}
		checkKept(t, in, ItemValue(data, keepShort), want, keepShort)
	}
}

// checkKept checks got, a top-level object decoded with keep, against want, decoded whole.
func checkKept(t *testing.T, in string, got, want any, keep func(string) bool) {
	t.Helper()
	g, w := got.(map[string]any), want.(map[string]any)
	if len(g) != len(w) {
		t.Fatalf("%s: %d members with keep, %d without", in, len(g), len(w))
	}
	for k, wv := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			t.Errorf("%s: member %q missing", in, k)
		case keep(k) && !reflect.DeepEqual(gv, wv):
			t.Errorf("%s: member %q: got %#v, want %#v", in, k, gv, wv)
		case !keep(k) && gv != nil:
			t.Errorf("%s: member %q not kept but decoded: %#v", in, k, gv)
		}
	}
}

// FuzzItemValue checks ItemValue against Value on any valid JSON, compacted as ParseBatch
// compacts a record.
func FuzzItemValue(f *testing.F) {
	for _, s := range itemValueCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := Value(data)
		if err != nil {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			t.Fatalf("%q: Value took it but json.Compact: %v", data, err)
		}
		if got := ItemValue(compact.Bytes(), nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
		if _, ok := want.(map[string]any); ok {
			keepOdd := func(k string) bool { return len(k)%2 == 1 }
			checkKept(t, string(data), ItemValue(compact.Bytes(), keepOdd), want, keepOdd)
		}
	})
}
