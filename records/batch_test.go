package records

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestParseBatch(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantIDs  []string
		wantData []string
	}{
		{"empty", ` [ ] `, nil, nil},
		{"one", `[{"id":"a","n":1}]`, []string{"a"}, []string{`{"id":"a","n":1}`}},
		{"compacted, order kept", "[ {\"z\" : 1 ,\n \"id\":\"a\", \"s\":\"x y\"} ]", []string{"a"}, []string{`{"z":1,"id":"a","s":"x y"}`}},
		{"escaped id", `[{"id":"caf\u00e9\"1"}]`, []string{`café"1`}, []string{`{"id":"caf\u00e9\"1"}`}},
		{"escaped id key", `[{"\u0069d":"a"}]`, []string{"a"}, []string{`{"\u0069d":"a"}`}},
		{"nested id does not count", `[{"id":"a","sub":{"id":5}}]`, []string{"a"}, []string{`{"id":"a","sub":{"id":5}}`}},
		{"duplicates: last wins at its position", `[{"id":"a","v":1},{"id":"b"},{"id":"a","v":2}]`,
			[]string{"b", "a"}, []string{`{"id":"b"}`, `{"id":"a","v":2}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := ParseBatch([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(tt.wantIDs) {
				t.Fatalf("got %d items, want %d", len(items), len(tt.wantIDs))
			}
			for i, it := range items {
				if it.ID != tt.wantIDs[i] || string(it.Data) != tt.wantData[i] {
					t.Errorf("item %d = %q %s, want %q %s", i, it.ID, it.Data, tt.wantIDs[i], tt.wantData[i])
				}
				canon, err := Canonical(it.Data)
				if err != nil {
					t.Fatal(err)
				}
				if it.Hash != sha256.Sum256(canon) {
					t.Errorf("item %d: hash is not the SHA-256 of the canonical form", i)
				}
			}
		})
	}
}

// TestParseBatchAliasing checks what items share with the batch: a compact record is a slice
// of it that appending to cannot overwrite the batch through, and a record sent with whitespace
// is a compact copy.
func TestParseBatchAliasing(t *testing.T) {
	in := []byte(`[{"id":"a","v":1},{ "id": "b" },{"id":"c"}]`)
	items, err := ParseBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(items[0].Data, 'x') // must not overwrite the ',' after the record
	if string(in) != `[{"id":"a","v":1},{ "id": "b" },{"id":"c"}]` {
		t.Fatalf("appending to an item's Data wrote into the batch: %s", in)
	}
	for i := range in {
		in[i] = ' '
	}
	if got := string(items[0].Data); got != strings.Repeat(" ", len(`{"id":"a","v":1}`)) {
		t.Errorf("compact record %q: want a slice of the batch", got)
	}
	if got := string(items[1].Data); got != `{"id":"b"}` {
		t.Errorf("record sent with whitespace: Data %q changed with the batch, want its own compact copy", got)
	}
}

func TestParseBatchRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty input", ``, "not a JSON array"},
		{"object", `{"id":"a"}`, "not a JSON array"},
		{"string", `"a"`, "not a JSON array"},
		{"number element", `[1]`, "record 0: not a JSON object"},
		{"array element", `[{"id":"a"},[]]`, "record 1: not a JSON object"},
		{"null element", `[{"id":"a"},{"id":"b"},null]`, "record 2: not a JSON object"},
		{"missing id", `[{"id":"a"},{"id":"b"},{"id":"c"},{"name":"x"}]`, `record 3: "id" must be a non-empty string`},
		{"number id", `[{"id":1}]`, `record 0: "id" must be a non-empty string`},
		{"null id", `[{"id":"a"},{"id":null}]`, `record 1: "id" must be a non-empty string`},
		{"empty id", `[{"id":""}]`, `record 0: "id" must be a non-empty string`},
		{"object id", `[{"id":{"x":"y"}}]`, `record 0: "id" must be a non-empty string`},
		{"last duplicate id key counts", `[{"id":"a","id":2}]`, `record 0: "id" must be a non-empty string`},
		{"long id", `[{"id":"` + strings.Repeat("x", MaxIDSize+1) + `"}]`, `record 0: "id" is longer than 1024 bytes`},
		{"broken element", `[{"id":"a"},{"id":"b",}]`, "record 1: invalid JSON: invalid character '}'"},
		{"unterminated", `[{"id":"a"},{"id":"b"`, "record 1: invalid JSON: unexpected end of JSON input"},
		{"missing bracket", `[{"id":"a"}`, "record 0: unexpected end of JSON input"},
		{"missing comma", `[{"id":"a"} {"id":"b"}]`, "record 0: invalid character '{' after array element"},
		{"trailing data", `[{"id":"a"}] x`, "invalid JSON: invalid character 'x' after the array"},
		{"trailing after empty", `[] []`, "invalid JSON: invalid character '[' after the array"},
		{"too big", `[{"id":"a","s":"` + strings.Repeat("x", MaxRecordSize) + `"}]`, `record 0 (id "a"): 4194321 bytes, over the 4 MiB limit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := ParseBatch([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseBatch succeeded with %d items, want error %q", len(items), tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestParseBatchTooMany(t *testing.T) {
	var b strings.Builder
	b.WriteByte('[')
	for i := range MaxBatchRecords + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d"}`, i)
	}
	b.WriteByte(']')
	_, err := ParseBatch([]byte(b.String()))
	if err == nil || err.Error() != "batch has more than 100000 records" {
		t.Fatalf("error = %v, want the batch limit", err)
	}
}

func TestParseIDs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"empty", `[]`, nil, ""},
		{"strings", `["a", "b\u00e9", "a"]`, []string{"a", "bé", "a"}, ""},
		{"objects", `[{"id":"a","name":"x"},{"n":1,"id":"b"}]`, []string{"a", "b"}, ""},
		{"mixed", `["a",{"id":"b"}]`, []string{"a", "b"}, ""},
		{"not array", `{"id":"a"}`, nil, "not a JSON array"},
		{"number", `["a",2]`, nil, `record 1: want a string id or an object with a string "id"`},
		{"object without id", `["a","b",{"name":"x"}]`, nil, `record 2: "id" must be a non-empty string`},
		{"object with number id", `[{"id":3}]`, nil, `record 0: "id" must be a non-empty string`},
		{"empty string", `["a",""]`, nil, "record 1: id must be a non-empty string"},
		{"broken", `["a",{"id":}]`, nil, "record 1: invalid JSON"},
		{"trailing", `["a"]]`, nil, "invalid JSON: invalid character ']' after the array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDs([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkParseBatch(b *testing.B) {
	rec, err := os.ReadFile("testdata/contact.json")
	if err != nil {
		b.Fatal(err)
	}
	rec = appendCompact(nil, rec)
	var batch []byte
	batch = append(batch, '[')
	for i := range 1000 {
		if i > 0 {
			batch = append(batch, ',')
		}
		batch = append(batch, strings.Replace(string(rec), "c_0001842", fmt.Sprintf("c_%07d", i), 1)...)
	}
	batch = append(batch, ']')
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		items, err := ParseBatch(batch)
		if err != nil || len(items) != 1000 {
			b.Fatal(len(items), err)
		}
	}
}
