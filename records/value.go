package records

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Value decodes the JSON value in data as encoding/json decodes into an interface with
// UseNumber: objects as map[string]any, arrays as []any, numbers as json.Number, and strings,
// booleans and null as string, bool and nil; of duplicate keys the last wins. It is what a
// record's JSON Schema validates, on the path of every saved record, so it decodes the
// canonical form (already checked, compact, with few escapes) instead of the raw bytes, at a
// fraction of encoding/json's cost.
func Value(data []byte) (any, error) {
	p := getParser(data)
	defer putParser(p)
	if err := p.document(); err != nil {
		return nil, err
	}
	d := valueDecoder{data: p.out}
	return d.value(), nil
}

// ItemValue decodes the Data of an Item from ParseBatch as Value decodes it, without checking
// it again: ParseBatch has already validated and compacted it. Of the record's own members,
// those whose key keep rejects are nil, their values skipped, not decoded: a JSON Schema that
// looks only at some properties of a record need not pay for the others. A nil keep decodes
// every member.
//
// data must be an Item's Data (or other compact, valid JSON): ItemValue trusts it.
func ItemValue(data []byte, keep func(key string) bool) any {
	d := valueDecoder{data: data, compact: true}
	if data[0] != '{' {
		return d.value()
	}
	return d.object(keep)
}

// valueDecoder decodes canonical JSON, which the parser has already validated, or, if
// compact is set, compact JSON that it has validated: it trusts its input and checks nothing.
type valueDecoder struct {
	data    []byte
	pos     int
	compact bool // strings may have any escapes and invalid UTF-8
}

func (d *valueDecoder) value() any {
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(nil)
	case '[':
		return d.array()
	case '"':
		return d.string()
	case 't':
		d.pos += 4
		return true
	case 'f':
		d.pos += 5
		return false
	case 'n':
		d.pos += 4
		return nil
	default:
		start := d.pos
		for d.pos < len(d.data) {
			if c := d.data[d.pos]; c == ',' || c == '}' || c == ']' {
				break
			}
			d.pos++
		}
		return json.Number(d.data[start:d.pos])
	}
}

// object decodes the object at pos; members whose key keep rejects are nil.
func (d *valueDecoder) object(keep func(string) bool) map[string]any {
	d.pos++ // {
	m := make(map[string]any)
	for d.data[d.pos] != '}' {
		k := d.string()
		d.pos++ // :
		if keep == nil || keep(k) {
			m[k] = d.value()
		} else {
			m[k] = nil
			d.skip()
		}
		if d.data[d.pos] == ',' {
			d.pos++
		}
	}
	d.pos++
	return m
}

func (d *valueDecoder) array() []any {
	d.pos++ // [
	a := []any{}
	for d.data[d.pos] != ']' {
		a = append(a, d.value())
		if d.data[d.pos] == ',' {
			d.pos++
		}
	}
	d.pos++
	return a
}

// string decodes the string at pos.
func (d *valueDecoder) string() string {
	start := d.pos
	d.skipString()
	if d.compact {
		return decodeCompactString(d.data[start:d.pos])
	}
	return decodeCanonicalString(d.data[start:d.pos])
}

// skipString moves past the string at pos: in valid JSON, a quote or a backslash inside a
// string is always escaped, so the string ends at the first unescaped quote.
func (d *valueDecoder) skipString() {
	d.pos++
	for {
		d.pos = plainEnd(d.data, d.pos)
		switch d.data[d.pos] {
		case '\\':
			d.pos += 2
			continue
		case '"':
			d.pos++
			return
		}
		d.pos++
	}
}

// skip moves past the value at pos without decoding it.
func (d *valueDecoder) skip() {
	depth := 0
	for {
		switch d.data[d.pos] {
		case '"':
			d.skipString()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing value: a number or literal ended
			}
			if depth--; depth == 0 {
				d.pos++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		d.pos++
	}
}

// decodeCompactString returns the Go string of a string in valid JSON, as decoding its
// canonical form does.
func decodeCompactString(v []byte) string {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner) // its own canonical form
	}
	c, err := Canonical(v)
	if err != nil { // not valid JSON after all: the caller broke ItemValue's contract
		return string(inner)
	}
	return decodeCanonicalString(c)
}
