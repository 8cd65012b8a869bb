package plugins

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/records"
)

// recordSchemas are model schemas of every kind Record meets: some look only at the members
// their properties name, which Record alone decodes, and some may look at any member.
var recordSchemas = map[string]string{
	"Contact":  `{"type":"object","required":["id","email"],"properties":{"id":{"type":"string"},"email":{"type":"string","minLength":3}}}`,
	"Counted":  `{"title":"t","minProperties":2,"maxProperties":3,"properties":{"n":{"type":"integer","maximum":10}}}`,
	"Nested":   `{"$defs":{"addr":{"type":"object","required":["city"]}},"properties":{"address":{"$ref":"#/$defs/addr"}}}`,
	"Closed":   `{"type":"object","additionalProperties":false,"properties":{"id":{"type":"string"}}}`,
	"Patterns": `{"patternProperties":{"^x_":{"type":"number"}}}`,
	"AllOf":    `{"allOf":[{"properties":{"n":{"type":"integer"}}},{"required":["n"]}]}`,
	"Whole":    `{"not":{"const":{"id":"same"}}}`,
}

func TestRecordMembers(t *testing.T) {
	tests := []struct {
		model string
		want  []string // nil: every member is decoded
	}{
		{"Contact", []string{"email", "id"}},
		{"Counted", []string{"n"}},
		{"Nested", []string{"address"}},
		{"Closed", nil},
		{"Patterns", nil},
		{"AllOf", nil},
		{"Whole", nil},
	}
	for _, tt := range tests {
		var doc any
		if err := json.Unmarshal([]byte(recordSchemas[tt.model]), &doc); err != nil {
			t.Fatal(err)
		}
		got := recordMembers(doc)
		if (got == nil) != (tt.want == nil) || !slices.Equal(slices.Sorted(maps.Keys(got)), tt.want) {
			t.Errorf("%s: members %v, want %v", tt.model, slices.Sorted(maps.Keys(got)), tt.want)
		}
	}
}

// Record gives what validating the whole record gives, whichever members it decodes.
func TestRecord(t *testing.T) {
	m := &Manifest{Models: map[string]any{}}
	for name, doc := range recordSchemas {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		m.Models[name] = v
	}
	s, err := compileSchemas(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"Contact", "Counted", "Nested"} {
		if s.keep[model] == nil {
			t.Errorf("%s: Record decodes every member, though its schema reads only its properties", model)
		}
	}
	tests := []struct {
		model, record string
		wantErr       string // "" when valid
	}{
		{"Contact", `{"id":"c-1","email":"a@b.c","tags":["x"],"address":{"city":"Oslo"}}`, ""},
		{"Contact", `{"id":"c-1","tags":["x"]}`, "missing property 'email'"},
		{"Contact", `{"id":"c-1","email":7}`, "/email: got number, want string"},
		{"Contact", `{"id":"c-1","email":"\u0061b"}`, "/email: minLength"},
		{"Contact", `{"id":"c-1","email":"ab\u00e9"}`, ""},
		{"Counted", `{"id":"1","n":3}`, ""},
		{"Counted", `{"id":"1"}`, "minProperties"},
		{"Counted", `{"id":"1","n":3,"a":{},"b":[]}`, "maxProperties"},
		{"Counted", `{"id":"1","n":11}`, "/n: maximum"},
		{"Counted", `{"id":"1","n":1.5}`, "/n: got number, want integer"},
		{"Nested", `{"id":"1","address":{"city":"Oslo"},"other":{"deep":[1]}}`, ""},
		{"Nested", `{"id":"1","address":{"street":"Main"}}`, "'/address': missing property 'city'"},
		{"Closed", `{"id":"1"}`, ""},
		{"Closed", `{"id":"1","extra":true}`, "additional properties 'extra' not allowed"},
		{"Patterns", `{"id":"1","x_n":"one"}`, "/x_n: got string, want number"},
		{"AllOf", `{"id":"1","n":"two"}`, "/n: got string, want integer"},
		{"Whole", `{"id":"same"}`, "not"},
		{"Whole", `{"id":"other"}`, ""},
		{"Unknown", `{"id":"1","anything":1}`, ""},
	}
	for _, tt := range tests {
		items, err := records.ParseBatch([]byte("[" + tt.record + "]"))
		if err != nil {
			t.Fatal(err)
		}
		data := items[0].Data
		got := s.Record(tt.model, data)
		whole := validate(s.models[tt.model], data)
		switch {
		case tt.wantErr == "" && got != nil:
			t.Errorf("%s %s: %v, want valid", tt.model, tt.record, got)
		case tt.wantErr != "" && (got == nil || !strings.Contains(got.Error(), tt.wantErr)):
			t.Errorf("%s %s: error %v, want one with %q", tt.model, tt.record, got, tt.wantErr)
		case fmtErr(got) != fmtErr(whole):
			t.Errorf("%s %s: error %v, validating the whole record %v", tt.model, tt.record, got, whole)
		}
		var se *SchemaError
		if got != nil && !errors.As(got, &se) {
			t.Errorf("%s %s: error %T, want a *SchemaError", tt.model, tt.record, got)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkRecord validates a contact of about 1 KB against the example CRM's Contact schema,
// which looks at two of its members.
func BenchmarkRecord(b *testing.B) {
	var doc any
	if err := json.Unmarshal([]byte(recordSchemas["Contact"]), &doc); err != nil {
		b.Fatal(err)
	}
	s, err := compileSchemas(&Manifest{Models: map[string]any{"Contact": doc}})
	if err != nil {
		b.Fatal(err)
	}
	contact := `{"id":"c-000042","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com",` +
		`"phone":"+44 20 7946 0000","title":"Analyst","company_id":"co-7","tags":["vip","beta","emea"],` +
		`"address":{"street":"12 St James's Square","city":"London","country":"GB"},` +
		`"notes":"` + strings.Repeat("Prefers email. ", 45) + `",` +
		`"created_at":"2024-01-02T03:04:05Z","updated_at":"2025-06-07T08:09:10Z"}`
	items, err := records.ParseBatch([]byte("[" + contact + "]"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(items[0].Data)))
	for b.Loop() {
		if err := s.Record("Contact", items[0].Data); err != nil {
			b.Fatal(err)
		}
	}
}
