package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ferrysync/ferry/records"
)

// Schemas are a manifest's JSON Schemas, compiled: actions' inputs and outputs, and models'
// records. An empty schema ({}) validates nothing and costs nothing.
type Schemas struct {
	inputs, outputs, models map[string]*jsonschema.Schema
	// keep tells, for a model whose schema looks at no member of a record but those its
	// properties name, which members to decode (see recordMembers).
	keep map[string]func(member string) bool
}

// compileSchemas compiles every schema of m, reporting each that does not compile.
func compileSchemas(m *Manifest) (*Schemas, error) {
	s := &Schemas{
		inputs: map[string]*jsonschema.Schema{}, outputs: map[string]*jsonschema.Schema{}, models: map[string]*jsonschema.Schema{},
		keep: map[string]func(string) bool{},
	}
	var probs problems
	// add compiles doc into into[name] and returns it as compiled, or nil if it is empty or
	// does not compile.
	add := func(into map[string]*jsonschema.Schema, name, path string, doc any) any {
		if isEmptySchema(doc) {
			return nil
		}
		c := jsonschema.NewCompiler()
		url := "ferry:///" + strings.ReplaceAll(path, ".", "/")
		norm := normalise(doc)
		if err := c.AddResource(url, norm); err != nil {
			probs.add(path, "not a JSON Schema: %v", err)
			return nil
		}
		sch, err := c.Compile(url)
		if err != nil {
			probs.add(path, "not a valid JSON Schema: %v", err)
			return nil
		}
		into[name] = sch
		return norm
	}
	for name, a := range m.Actions {
		add(s.inputs, name, "actions."+name+".input", a.Input)
		add(s.outputs, name, "actions."+name+".output", a.Output)
	}
	for name, doc := range m.Models {
		if keys := recordMembers(add(s.models, name, "models."+name, doc)); keys != nil {
			s.keep[name] = func(k string) bool { return keys[k] }
		}
	}
	return s, probs.err()
}

func isEmptySchema(doc any) bool {
	switch v := doc.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// normalise turns a YAML-decoded value into what the schema compiler expects: JSON's types.
func normalise(doc any) any {
	b, err := jsonMarshal(doc)
	if err != nil {
		return doc
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return doc
	}
	return v
}

// Input checks an action's input against its schema.
func (s *Schemas) Input(action string, data []byte) error { return validate(s.inputs[action], data) }

// Output checks an action's output against its schema.
func (s *Schemas) Output(action string, data []byte) error { return validate(s.outputs[action], data) }

// Record checks a record against its model's schema. data is a record as records.ParseBatch
// gives it (an Item's Data), which Record trusts to be compact and valid JSON.
func (s *Schemas) Record(model string, data []byte) error {
	sch := s.models[model]
	if sch == nil {
		return nil
	}
	return validated(sch, records.ItemValue(data, s.keep[model]))
}

// shallowKeywords are the keywords of a record schema that look at no member of the record
// but those "properties" names: "required", "minProperties" and "maxProperties" see only
// which members there are, and the rest say nothing of the record. Any other keyword at the
// schema's top ("additionalProperties", "allOf", "$ref", "enum", ...) may look at every
// member.
var shallowKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "minProperties": true, "maxProperties": true,
	"$schema": true, "$id": true, "$defs": true, "definitions": true, "$comment": true,
	"title": true, "description": true, "default": true, "examples": true,
	"deprecated": true, "readOnly": true, "writeOnly": true,
}

// recordMembers returns the members of a record that the record schema doc can look at, the
// names its properties give, if only those: the others need not be decoded to validate a
// record. It returns nil if the schema may look at any member.
func recordMembers(doc any) map[string]bool {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	for k := range m {
		if !shallowKeywords[k] {
			return nil
		}
	}
	props, _ := m["properties"].(map[string]any)
	keys := make(map[string]bool, len(props))
	for k := range props {
		keys[k] = true
	}
	return keys
}

// HasRecordSchema tells whether records of model are validated.
func (s *Schemas) HasRecordSchema(model string) bool { return s != nil && s.models[model] != nil }

// SchemaError is a value that does not satisfy its schema. Problems name the fields at fault,
// as JSON pointers: `/email: got number, want string`.
type SchemaError struct {
	Problems []string
}

func (e *SchemaError) Error() string { return strings.Join(e.Problems, "; ") }

func validate(sch *jsonschema.Schema, data []byte) error {
	if sch == nil {
		return nil
	}
	v, err := records.Value(data)
	if err != nil {
		return &SchemaError{Problems: []string{"not JSON: " + err.Error()}}
	}
	return validated(sch, v)
}

// validated checks the decoded value v against sch.
func validated(sch *jsonschema.Schema, v any) error {
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return &SchemaError{Problems: []string{err.Error()}}
	}
	var probs []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		msg := u.Error.String()
		if strings.HasPrefix(msg, "validation failed") || strings.HasPrefix(msg, "doesn't validate") {
			continue
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		probs = append(probs, loc+": "+msg)
	}
	if len(probs) == 0 {
		probs = []string{strings.TrimSpace(ve.Error())}
	}
	sort.Strings(probs)
	return &SchemaError{Problems: probs}
}

// jsonMarshal is encoding/json's Marshal, for YAML-decoded values (string-keyed maps).
func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("schema to JSON: %w", err)
	}
	return b, nil
}
