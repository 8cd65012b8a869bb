package ferry

import (
	"encoding/json"
	"strconv"
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

// validTests are documents json.Valid accepts (valid) or rejects.
var validTests = []struct {
	in    string
	valid bool
}{
	// Empty input and whitespace.
	{"", false},
	{" ", false},
	{" \t\r\n", false},
	{"\v{}", false}, // only space, tab, CR and LF are whitespace
	{"{}\f", false},
	{"\u00a0{}", false},
	{" \t\r\n{} \t\r\n", true},
	{"[ 1 , 2 ]", true},
	{"{ \"a\" : 1 , \"b\" : [ ] }", true},

	// Values.
	{`{}`, true},
	{`[]`, true},
	{`""`, true},
	{`true`, true},
	{`false`, true},
	{`null`, true},
	{`0`, true},
	{`{"a":{"b":[1,"x",true,false,null,{},[]]},"c":""}`, true},
	{`[[[[[]]]],[{}],{"":{"":{}}}]`, true},

	// Numbers.
	{`-0`, true},
	{`123`, true},
	{`-123.456e-7`, true},
	{`1E+2`, true},
	{`1e2`, true},
	{`0.0`, true},
	{`[0,-1,2.5,3e3]`, true},
	{`-`, false},
	{`--1`, false},
	{`+1`, false},
	{`01`, false},
	{`-01`, false},
	{`00`, false},
	{`.5`, false},
	{`1.`, false},
	{`1.e5`, false},
	{`1e`, false},
	{`1e+`, false},
	{`1e-`, false},
	{`1ee5`, false},
	{`1.5.3`, false},
	{`0x10`, false},
	{`1_000`, false},
	{`Infinity`, false},
	{`NaN`, false},
	{`[1 2]`, false},
	{`[-]`, false},
	{`{"a":-}`, false},

	// Literals.
	{`tru`, false},
	{`t`, false},
	{`True`, false},
	{`nul`, false},
	{`nulll`, false},
	{`falsey`, false},
	{`[true false]`, false},
	{`[truefalse]`, false},

	// Strings and escapes.
	{`"\"\\\/\b\f\n\r\t"`, true},
	{`"\u0041\u00e9\uD83D\uDE00\uFFFF\uabcd"`, true},
	{`"\uD800"`, true}, // lone surrogates are not checked
	{`"\x"`, false},
	{`"\a"`, false},
	{`"\U0041"`, false},
	{`"\u"`, false},
	{`"\u12"`, false},
	{`"\u12g4"`, false},
	{`"\u123"`, false},
	{`"\`, false},
	{`"abc`, false},
	{`"abcdefghijklmnopqrstuvwxyz`, false},
	{`"abcdefghijklmnopqrstuvwxyz\`, false},
	{`'single'`, false},
	{`"a"b"`, false},
	{`"0123456789abcdef\"0123456789"`, true},
	{`"0123456789abcdef\\"`, true},
	{`"0123456789abcdef\\\"0123"`, true},
	{`"0123456789abcdef\q0123"`, false},

	// Control characters: never raw inside a string, nor anywhere else.
	{"\"a\x00b\"", false},
	{"\"a\x01b\"", false},
	{"\"a\tb\"", false},
	{"\"a\nb\"", false},
	{"\"0123456789abcdef\x1f0123\"", false},
	{"\"a\x7fb\"", true}, // DEL is not a control character to JSON
	{"\"0123456789\x20\x21\x23\x5b\x5d\x7e\"", true},
	{"[1,\x00]", false},

	// Invalid UTF-8 inside a string is accepted, as json.Valid does (Unmarshal replaces
	// it with U+FFFD); outside a string it is an error.
	{"\"\xff\"", true},
	{"\"\xc3\"", true},
	{"\"\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf\"", true},
	{"{\"k\xff\":\"v\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\"}", true},
	{"\"é 日本語 😀\"", true},
	{"\xef\xbb\xbf{}", false}, // no byte order mark
	{"[\xff]", false},

	// Objects and arrays.
	{`{`, false},
	{`}`, false},
	{`[`, false},
	{`]`, false},
	{`[}`, false},
	{`{]`, false},
	{`[1,]`, false},
	{`[,1]`, false},
	{`[1,,2]`, false},
	{`{"a":1,}`, false},
	{`{,"a":1}`, false},
	{`{"a"}`, false},
	{`{"a":}`, false},
	{`{"a" 1}`, false},
	{`{"a"::1}`, false},
	{`{"a":1 "b":2}`, false},
	{`{1:2}`, false},
	{`{a:1}`, false},
	{`{null:1}`, false},
	{`{"a":1]`, false},
	{`[1}`, false},
	{`[[]`, false},
	{`[]]`, false},

	// Trailing garbage.
	{`{}{}`, false},
	{`{} {}`, false},
	{`[] x`, false},
	{`1 2`, false},
	{`"a" "b"`, false},
	{`{},`, false},
	{`null,`, false},
	{"{}\x00", false},
	{`truex`, false},

	// Nesting: json.Valid accepts 10000 levels and no more.
	{strings.Repeat("[", 10000) + strings.Repeat("]", 10000), true},
	{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), false},
	{strings.Repeat(`{"a":`, 9999) + "[]" + strings.Repeat("}", 9999), true},
	{strings.Repeat(`{"a":`, 10000) + "[]" + strings.Repeat("}", 10000), false},
	{strings.Repeat("[", 10001), false},
	{strings.Repeat("[", 500) + strings.Repeat("]", 499), false},
}

func TestValidJSON(t *testing.T) {
	for _, tt := range validTests {
		if json.Valid([]byte(tt.in)) != tt.valid {
			t.Fatalf("json.Valid(%s) = %v, the table says %v", excerpt([]byte(tt.in), 80), !tt.valid, tt.valid)
		}
		if got := validJSON([]byte(tt.in)); got != tt.valid {
			t.Errorf("validJSON(%s) = %v, want %v", excerpt([]byte(tt.in), 80), got, tt.valid)
		}
	}
}

// TestValidJSONTruncated checks every prefix of documents, and of each with a byte changed.
func TestValidJSONTruncated(t *testing.T) {
	docs := []string{
		` {"data": [{"id":"a","x":"}]\"\\\u00e9 0123456789abcdefghij"}, {"id":"b", "n": -12.5e+3}], "meta": {"next": "c\"2", "n": 7, "nil": null, "t": true, "f": false}} `,
		`[1, 20, 300, 0.5, -0, 1e9, "", "abcdefghijklmnopq", [], {}, [[{"k": [null]}]]]`,
	}
	check := func(b []byte) {
		t.Helper()
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	}
	for _, doc := range docs {
		for n := 0; n <= len(doc); n++ {
			check([]byte(doc[:n]))
		}
		for i := 0; i < len(doc); i++ {
			for _, c := range []byte{' ', '"', '\\', ',', ':', '{', '}', '[', ']', '0', 'e', '-', '.', 'x', 0x01, 0xff} {
				b := []byte(doc)
				b[i] = c
				check(b)
			}
		}
	}
}

// TestScanJSONProbes checks that scanJSON's probes find what lookupJSON and countArray do.
func TestScanJSONProbes(t *testing.T) {
	docs := []string{
		` {"data": [{"id":"a","x":"}]"}, {"id":"b"}], "meta": {"next": "c\"2", "n": 7, "nil": null},
		"esc\u0061ped": true, "a.b": 1, "s": "{not an object}", "": {"": [1, [2, 3], {}]}} `,
		`{"data": [], "data": [1, 2], "meta": 1, "meta": {"next": "x"}}`,
		`{"meta": {"next": 1}, "meta": {"other": 2}, "x": {"y": {"z": [[], [1], {"a": []}]}}}`,
		`{"data":null,"e":{},"a":[ ]}`,
		`[{"data": [1]}, 2]`,
		` "top" `,
		`-12.5e3`,
		`{"data" : [ 1 , {"data": [2, 3]} ] , "next" : "0123456789abcdefghijklmnopqrstuv" }`,
	}
	paths := []string{"", "data", "meta", "meta.next", "meta.n", "meta.nil", "meta.missing", "escaped",
		"a.b", "s", "s.x", ".", "..", "x.y.z", "x.y", "e", "a", "data.data", "missing"}
	for _, doc := range docs {
		if !json.Valid([]byte(doc)) {
			t.Fatalf("test input %s is not JSON", doc)
		}
		for _, path := range paths {
			checkProbes(t, []byte(doc), path, "next")
		}
	}
}

// checkProbes checks scanJSON's finds at two paths in the valid document data.
func checkProbes(t *testing.T, data []byte, path1, path2 string) {
	t.Helper()
	probes := []probe{newProbe(path1), newProbe(path2)}
	if !scanJSON(data, probes) {
		t.Fatalf("scanJSON(%q) = false", data)
	}
	for k, path := range []string{path1, path2} {
		got, ok := probes[k].value(data)
		want, wantOK := lookupJSON(data, path)
		if ok != wantOK || string(got) != string(want) {
			t.Errorf("scanJSON(%q) finds %q, %v at %q; lookupJSON finds %q, %v", data, got, ok, path, want, wantOK)
			continue
		}
		if n, wantN := probes[k].count, countArray(want); ok && n != wantN {
			t.Errorf("scanJSON(%q) counts %d elements at %q; countArray counts %d", data, n, path, wantN)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, tt := range validTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func FuzzScanJSON(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":1},{"id":2}],"next_cursor":"abc"}`), "data", "next_cursor")
	f.Add([]byte(`{"a":{"b":[1,[2]],"b":3},"c":null}`), "a.b", "c")
	f.Add([]byte(`[1,2,{"x":[]}]`), "", "x")
	f.Add([]byte(`{"k\u0065y":{"":[]}}`), "key.", "key")
	f.Fuzz(func(t *testing.T, data []byte, path1, path2 string) {
		valid := scanJSON(data, []probe{newProbe(path1), newProbe(path2)})
		if want := json.Valid(data); valid != want {
			t.Fatalf("scanJSON(%q) = %v, json.Valid says %v", data, valid, want)
		}
		if valid {
			checkProbes(t, data, path1, path2)
		}
	})
}

// benchPage returns a listing page like a CRM's: 1000 contacts, about 1 MB.
func benchPage(tb testing.TB) []byte {
	type address struct {
		Street, City, Country string
	}
	type contact struct {
		ID        string   `json:"id"`
		FirstName string   `json:"first_name"`
		LastName  string   `json:"last_name"`
		Email     string   `json:"email"`
		Phone     string   `json:"phone"`
		Title     string   `json:"title"`
		CompanyID string   `json:"company_id"`
		Tags      []string `json:"tags"`
		Address   address  `json:"address"`
		Notes     string   `json:"notes"`
		Score     float64  `json:"score"`
		Active    bool     `json:"active"`
		Manager   *string  `json:"manager"`
		CreatedAt string   `json:"created_at"`
	}
	lorem := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit \"quoted\" ", 12)
	page := struct {
		Data       []contact `json:"data"`
		NextCursor string    `json:"next_cursor"`
	}{NextCursor: "MTcwNjU1MTc2NTEyNDcyNDAwMDpjLTAwMDIxMw"}
	for i := range 1000 {
		id := strconv.Itoa(i)
		page.Data = append(page.Data, contact{
			ID: "c-" + id, FirstName: "Ada", LastName: "Lovelace-" + id, Email: "ada." + id + "@example.com",
			Phone: "+1-555-0100", Title: "VP Engineering", CompanyID: "co-0004",
			Tags:    []string{"customer", "newsletter"},
			Address: address{"82 High Street", "Zürich", "Schweiz"},
			Notes:   lorem[i%50:], Score: float64(i) / 7, Active: i%2 == 0,
			CreatedAt: "2024-01-01T01:46:47.677174Z",
		})
	}
	b, err := json.Marshal(page)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkValid(b *testing.B) {
	page := benchPage(b)
	b.Run("impl=encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if !json.Valid(page) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("impl=validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if !validJSON(page) {
				b.Fatal("not valid")
			}
		}
	})
}

// BenchmarkPage times what the pager does with each page of a CursorPagination: check the
// body, find the items and count them, find the cursor.
func BenchmarkPage(b *testing.B) {
	page := benchPage(b)
	b.Run("impl=json.Valid+lookupJSON", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if !json.Valid(page) {
				b.Fatal("not valid")
			}
			items, _ := lookupJSON(page, "data")
			cursor, _ := lookupJSON(page, "next_cursor")
			if countArray(items) != 1000 || len(cursor) == 0 {
				b.Fatal("wrong page")
			}
		}
	})
	b.Run("impl=scanJSON", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			probes := [2]probe{newProbe("data"), newProbe("next_cursor")}
			if !scanJSON(page, probes[:]) {
				b.Fatal("not valid")
			}
			if probes[0].count != 1000 || probes[1].state != probeFound {
				b.Fatal("wrong page")
			}
		}
	})
}

// The reference functions scanJSON is checked against: each finds one thing by its own scan
// of a page, as the pager did before scanJSON found them all in one pass.

// validJSON reports whether data is a valid JSON encoding, exactly as json.Valid does: one
// value between optional spaces, tabs, CRs and LFs, nested at most 10000 deep, with no
// check that the bytes of strings are UTF-8.
func validJSON(data []byte) bool {
	return scanJSON(data, nil)
}

// lookupJSON returns the value at path in the valid JSON document data, and whether it is
// there. path is a dot-separated list of object keys ("meta.next_cursor"); "" is the whole
// document.
func lookupJSON(data []byte, path string) ([]byte, bool) {
	v := trimJSONSpace(data)
	if path == "" {
		return v, len(v) > 0
	}
	for _, key := range strings.Split(path, ".") {
		var ok bool
		if v, ok = member(v, key); !ok {
			return nil, false
		}
	}
	return v, true
}

// member returns the value of key in obj, a valid JSON value, if obj is an object holding key.
func member(obj []byte, key string) ([]byte, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return nil, false
	}
	i := 1
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false // '}' or the end
		}
		kEnd := skipString(obj, i)
		match := keyEquals(obj[i:kEnd], key)
		i = skipSpace(obj, kEnd) + 1 // past ':'
		i = skipSpace(obj, i)
		vEnd := skipValue(obj, i)
		if match {
			return obj[i:vEnd], true
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// countArray returns the number of elements of arr, a valid JSON array.
func countArray(arr []byte) int {
	n := 0
	eachElement(arr, func([]byte) { n++ })
	return n
}

// trimJSONSpace trims JSON whitespace off both ends of b.
func trimJSONSpace(b []byte) []byte {
	b = b[skipSpace(b, 0):]
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
