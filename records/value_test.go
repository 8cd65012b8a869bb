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
