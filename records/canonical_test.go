package records

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"scalars", ` [ 1 , "a" , true , false , null ] `, `[1,"a",true,false,null]`},
		{"keys sorted", `{"b":1,"a":2,"c":3}`, `{"a":2,"b":1,"c":3}`},
		{"nested sorted", `{"z":{"y":1,"x":[{"q":1,"p":2}]},"a":[]}`, `{"a":[],"z":{"x":[{"p":2,"q":1}],"y":1}}`},
		{"whitespace", "{\n\t\"a\" :\r [ 1 ,2 ] ,\"b\":{ } }", `{"a":[1,2],"b":{}}`},
		{"numbers as written", `[1.0,1,1e3,1E3,-0,0.10,12345678901234567890123]`, `[1.0,1,1e3,1E3,-0,0.10,12345678901234567890123]`},
		{"unicode escapes decoded", `"caf\u00e9 \u00E9 \/ \ud83d\ude00"`, `"café é / 😀"`},
		{"escapes kept minimal", `"\u0022 \" \\ \u005c \n \u000a \u0001 \u001F"`, `"\" \" \\ \\ \n \n \u0001 \u001f"`},
		{"html not escaped", `"<a&b>"`, `"<a&b>"`},
		{"lone surrogate", `"\ud800x"`, "\"\uFFFDx\""},
		{"reversed surrogates", `"\udc00\ud800"`, "\"\uFFFD\uFFFD\""},
		{"invalid utf8", "\"a\xffb\"", "\"a\uFFFDb\""},
		{"duplicate keys last wins", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"escaped key sorts by decoded form", `{"\u0062":1,"a":2}`, `{"a":2,"b":1}`},
		{"empty containers", `{"a":{},"b":[],"c":""}`, `{"a":{},"b":[],"c":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonical(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Canonical(%s) = %s is not valid JSON", tt.in, got)
			}
		})
	}
}

func TestCanonicalSameAndDifferent(t *testing.T) {
	base := `{"id":"1","name":"Ada","tags":["a","b"],"n":1.50,"addr":{"city":"Zürich","zip":"8001"}}`
	same := []string{
		`{"tags":["a","b"],"n":1.50,"name":"Ada","id":"1","addr":{"zip":"8001","city":"Zürich"}}`,
		"{ \"id\" : \"1\",\n \"name\":\"Ada\",\t\"tags\":[ \"a\" , \"b\" ],\"n\":1.50,\"addr\":{\"city\":\"Z\\u00fcrich\",\"zip\":\"8001\"}}",
		`{"\u0069d":"1","name":"\u0041da","tags":["a","b"],"n":1.50,"addr":{"city":"Z\u00FCrich","zip":"8001"}}`,
	}
	different := []string{
		`{"id":"1","name":"Ada","tags":["b","a"],"n":1.50,"addr":{"city":"Zürich","zip":"8001"}}`,
		`{"id":"1","name":"Ada","tags":["a","b"],"n":1.5,"addr":{"city":"Zürich","zip":"8001"}}`,
		`{"id":"1","name":"Ada","tags":["a","b"],"n":1.50,"addr":{"city":"Zurich","zip":"8001"}}`,
		`{"id":"1","name":"Ada","tags":["a","b"],"n":1.50,"addr":{"city":"Zürich","zip":8001}}`,
		`{"id":"1","name":"Ada","tags":["a","b"],"n":1.50,"addr":{"city":"Zürich","zip":"8001"},"x":null}`,
		`{"id":"1","name":"ada","tags":["a","b"],"n":1.50,"addr":{"city":"Zürich","zip":"8001"}}`,
	}
	want := mustHash(t, base)
	for _, s := range same {
		if got := mustHash(t, s); got != want {
			t.Errorf("hash of %s differs from hash of %s", s, base)
		}
	}
	for _, s := range different {
		if got := mustHash(t, s); got == want {
			t.Errorf("hash of %s equals hash of %s", s, base)
		}
	}
}

func mustHash(t *testing.T, s string) [32]byte {
	t.Helper()
	h, err := ContentHash([]byte(s))
	if err != nil {
		t.Fatalf("ContentHash(%s): %v", s, err)
	}
	return h
}

func TestCanonicalInvalid(t *testing.T) {
	tests := []string{
		``, ` `, `{`, `[`, `"abc`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{a:1}`,
		`01`, `1.`, `1e`, `-`, `+1`, `.5`, `tru`, `nul`, `truex`, `"\x"`, `"\u12"`, `"\u12g4"`,
		"\"a\nb\"", `{"a":1}}`, `[1]x`, `{"a" 1}`, `{,}`, `NaN`,
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	}
	for _, in := range tests {
		if _, err := Canonical([]byte(in)); err == nil {
			t.Errorf("Canonical(%q) succeeded, want an error", in)
		}
		if json.Valid([]byte(in)) && len(in) < 1000 {
			t.Errorf("test case %q is valid JSON", in)
		}
	}
}

// FuzzCanonical checks Canonical against encoding/json: it accepts exactly what json.Valid
// accepts, its output is valid and decodes to the same value, and it is idempotent.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[1,2,{"d":null,"c":true}]}`, `"\ud83d\ude00\u00e9"`, `[1.0e+5,-0]`,
		`{"a":1,"a":2}`, "\"\xff\"", `{"\u0061":1,"a":2}`, `"\ud800\u0041"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Canonical(in)
		if valid := json.Valid(in); valid != (err == nil) {
			t.Fatalf("Canonical(%q) error = %v, json.Valid = %v", in, err, valid)
		}
		if err != nil {
			return
		}
		if !json.Valid(got) {
			t.Fatalf("Canonical(%q) = %q is not valid JSON", in, got)
		}
		if a, b := decodeNumbers(t, in), decodeNumbers(t, got); !reflect.DeepEqual(a, b) {
			t.Fatalf("Canonical(%q) = %q decodes differently: %#v vs %#v", in, got, a, b)
		}
		again, err := Canonical(got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("Canonical is not idempotent: %q -> %q -> %q (%v)", in, got, again, err)
		}
	})
}

func decodeNumbers(t *testing.T, b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func BenchmarkCanonical(b *testing.B) {
	data, err := os.ReadFile("testdata/contact.json")
	if err != nil {
		b.Fatal(err)
	}
	data = appendCompact(nil, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonical(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContentHash(b *testing.B) {
	data, err := os.ReadFile("testdata/contact.json")
	if err != nil {
		b.Fatal(err)
	}
	data = appendCompact(nil, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ContentHash(data); err != nil {
			b.Fatal(err)
		}
	}
}
