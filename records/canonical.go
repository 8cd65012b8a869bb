package records

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns the canonical form of the JSON value in data, the form whose hash decides
// whether a saved record changed:
//
//   - no insignificant whitespace;
//   - object keys sorted (by their canonical encoding, bytewise); of duplicate keys the last
//     one wins, as when decoding into a map;
//   - strings decoded and re-encoded one way: only '"', '\\' and control characters are
//     escaped (\b \f \n \r \t, else \u00XX), everything else is literal UTF-8, so "\u00e9"
//     and "é" are the same; invalid UTF-8 and lone surrogates become U+FFFD, as encoding/json
//     decodes them;
//   - numbers kept exactly as written, so 1 and 1.0 differ (as with json.Decoder.UseNumber).
//
// Two values with the same canonical form decode (with UseNumber) to equal Go values. The
// result is valid JSON. Canonical is on the hot path of every saved record, so it walks the
// bytes itself rather than decoding into maps.
func Canonical(data []byte) ([]byte, error) {
	p := getParser(data)
	defer putParser(p)
	if err := p.document(); err != nil {
		return nil, err
	}
	return bytes.Clone(p.out), nil
}

// ContentHash returns the SHA-256 of the canonical form of data: the hash ParseBatch puts in
// Item.Hash.
func ContentHash(data []byte) ([32]byte, error) {
	p := getParser(data)
	defer putParser(p)
	if err := p.document(); err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(p.out), nil
}

// maxDepth bounds nesting, as encoding/json does, so hostile input cannot exhaust the stack.
const maxDepth = 10000

var errEOF = errors.New("unexpected end of JSON input")

// parser is a validating JSON walker that writes the canonical form of what it reads to out.
// Its buffers are reused through parserPool, so canonicalising a record allocates nothing
// once warm.
type parser struct {
	data  []byte
	pos   int
	out   []byte
	depth int
	// members is a stack of the members of the objects being walked; each object uses
	// members[base:] and truncates it back when done.
	members []member
	tmp     []byte // scratch for reordering an object's members
	sawWS   bool   // whitespace was skipped: data is not compact

	// When captureID is set, the walker records the member of the object at depth 1 whose
	// key, in canonical form with its quotes, is idKey ("id" but for ParseBatchBy).
	captureID bool
	idKey     string
	idKind    idKind
	id        string
}

type idKind uint8

const (
	idMissing idKind = iota
	idString
	idOther
)

// member locates one object member written to out: the key (with quotes) is out[start:keyEnd],
// followed by ':' and the value up to end. prefix holds the key's first 8 bytes, big-endian
// and zero-padded, so most comparisons need not touch out.
type member struct {
	prefix             uint64
	start, keyEnd, end int
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

func getParser(data []byte) *parser {
	p := parserPool.Get().(*parser)
	p.data, p.pos, p.out, p.depth, p.members, p.sawWS = data, 0, p.out[:0], 0, p.members[:0], false
	p.captureID, p.idKey, p.idKind, p.id = false, `"id"`, idMissing, ""
	return p
}

func putParser(p *parser) {
	p.data = nil
	if cap(p.out) > 1<<20 || cap(p.tmp) > 1<<20 {
		return // do not pin the buffers of one huge record
	}
	parserPool.Put(p)
}

// document walks one complete JSON text: a value with nothing but whitespace after it.
func (p *parser) document() error {
	if err := p.value(); err != nil {
		return err
	}
	p.skipWS()
	if p.pos < len(p.data) {
		return p.errChar("after top-level value")
	}
	return nil
}

func (p *parser) skipWS() {
	start := p.pos
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		}
		break
	}
	if p.pos != start {
		p.sawWS = true
	}
}

func (p *parser) errChar(context string) error {
	if p.pos >= len(p.data) {
		return errEOF
	}
	return fmt.Errorf("invalid character %q %s at offset %d", p.data[p.pos], context, p.pos)
}

func (p *parser) value() error {
	p.skipWS()
	if p.pos >= len(p.data) {
		return errEOF
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.errChar("looking for beginning of value")
	}
}

func (p *parser) literal(lit string) error {
	if len(p.data)-p.pos < len(lit) {
		if string(p.data[p.pos:]) == lit[:len(p.data)-p.pos] {
			return errEOF
		}
	} else if string(p.data[p.pos:p.pos+len(lit)]) == lit {
		p.out = append(p.out, lit...)
		p.pos += len(lit)
		return nil
	}
	return p.errChar("in literal " + lit)
}

func (p *parser) number() error {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos >= len(p.data) {
		return errEOF
	}
	switch c := p.data[p.pos]; {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return p.errChar("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return p.errChar("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return p.errChar("in exponent of numeric literal")
		}
	}
	p.out = append(p.out, p.data[start:p.pos]...)
	return nil
}

func (p *parser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

func (p *parser) array() error {
	if p.depth++; p.depth > maxDepth {
		return fmt.Errorf("exceeded max depth at offset %d", p.pos)
	}
	p.pos++
	p.out = append(p.out, '[')
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.out = append(p.out, ']')
		p.depth--
		return nil
	}
	for {
		if err := p.value(); err != nil {
			return err
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return errEOF
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.out = append(p.out, ',')
		case ']':
			p.pos++
			p.out = append(p.out, ']')
			p.depth--
			return nil
		default:
			return p.errChar("after array element")
		}
	}
}

func (p *parser) object() error {
	if p.depth++; p.depth > maxDepth {
		return fmt.Errorf("exceeded max depth at offset %d", p.pos)
	}
	p.pos++
	p.out = append(p.out, '{')
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.out = append(p.out, '}')
		p.depth--
		return nil
	}
	base := len(p.members)
	body := len(p.out)
	sorted := true
	for {
		p.skipWS()
		if p.pos >= len(p.data) {
			return errEOF
		}
		if p.data[p.pos] != '"' {
			return p.errChar("looking for beginning of object key string")
		}
		if len(p.members) > base {
			p.out = append(p.out, ',')
		}
		start := len(p.out)
		if err := p.string(); err != nil {
			return err
		}
		keyEnd := len(p.out)
		p.skipWS()
		if p.pos >= len(p.data) {
			return errEOF
		}
		if p.data[p.pos] != ':' {
			return p.errChar("after object key")
		}
		p.pos++
		p.out = append(p.out, ':')
		valStart := len(p.out)
		if err := p.value(); err != nil {
			return err
		}
		if p.captureID && p.depth == 1 && string(p.out[start:keyEnd]) == p.idKey {
			p.captureIDValue(p.out[valStart:])
		}
		m := member{keyPrefix(p.out[start+1 : keyEnd-1]), start, keyEnd, len(p.out)}
		if len(p.members) > base && p.compare(p.members[len(p.members)-1], m) >= 0 {
			sorted = false
		}
		p.members = append(p.members, m)
		p.skipWS()
		if p.pos >= len(p.data) {
			return errEOF
		}
		if c := p.data[p.pos]; c == ',' {
			p.pos++
			continue
		} else if c != '}' {
			return p.errChar("after object key:value pair")
		}
		p.pos++
		break
	}
	if !sorted {
		p.reorder(base, body)
	}
	p.members = p.members[:base]
	p.out = append(p.out, '}')
	p.depth--
	return nil
}

// key returns the member's key without its quotes.
func (p *parser) key(m member) []byte { return p.out[m.start+1 : m.keyEnd-1] }

func keyPrefix(k []byte) uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v <<= 8
		if i < len(k) {
			v |= uint64(k[i])
		}
	}
	return v
}

// compare orders members by key, bytewise.
func (p *parser) compare(a, b member) int {
	switch {
	case a.prefix < b.prefix:
		return -1
	case a.prefix > b.prefix:
		return 1
	}
	return bytes.Compare(p.key(a), p.key(b))
}

// reorder rewrites out[body:] so that the members in members[base:] appear sorted by key,
// keeping only the last of duplicate keys.
func (p *parser) reorder(base, body int) {
	ms := p.members[base:]
	if len(ms) <= 12 {
		// Insertion sort: stable, and without the indirect calls of slices.SortStableFunc.
		for i := 1; i < len(ms); i++ {
			for j := i; j > 0 && p.compare(ms[j-1], ms[j]) > 0; j-- {
				ms[j-1], ms[j] = ms[j], ms[j-1]
			}
		}
	} else {
		slices.SortStableFunc(ms, p.compare)
	}
	p.tmp = append(p.tmp[:0], p.out[body:]...)
	p.out = p.out[:body]
	// Keys are read from tmp from here on: out is being rewritten.
	key := func(m member) []byte { return p.tmp[m.start+1-body : m.keyEnd-1-body] }
	for i, m := range ms {
		if next := i + 1; next < len(ms) && m.prefix == ms[next].prefix && bytes.Equal(key(m), key(ms[next])) {
			continue // a later duplicate wins
		}
		if len(p.out) > body {
			p.out = append(p.out, ',')
		}
		p.out = append(p.out, p.tmp[m.start-body:m.end-body]...)
	}
}

func (p *parser) captureIDValue(v []byte) {
	if v[0] != '"' {
		p.idKind, p.id = idOther, ""
		return
	}
	p.idKind, p.id = idString, decodeCanonicalString(v)
}

// decodeCanonicalString returns the Go string of a string in canonical form.
func decodeCanonicalString(v []byte) string {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var b []byte
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch inner[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u': // canonical form only uses \u00XX for control characters
			r, _ := hex4(inner[i+1:])
			b = append(b, byte(r))
			i += 4
		default: // '"' and '\\'
			b = append(b, inner[i])
		}
	}
	return string(b)
}

func (p *parser) string() error {
	p.pos++ // opening quote
	p.out = append(p.out, '"')
	for {
		i := plainEnd(p.data, p.pos)
		p.out = append(p.out, p.data[p.pos:i]...)
		p.pos = i
		if i >= len(p.data) {
			return errEOF
		}
		switch c := p.data[i]; {
		case c == '"':
			p.pos++
			p.out = append(p.out, '"')
			return nil
		case c == '\\':
			if err := p.escape(); err != nil {
				return err
			}
		case c < 0x20:
			return p.errChar("in string literal")
		default:
			r, size := utf8.DecodeRune(p.data[i:])
			if r == utf8.RuneError && size == 1 {
				p.out = utf8.AppendRune(p.out, unicode.ReplacementChar)
			} else {
				p.out = append(p.out, p.data[i:i+size]...)
			}
			p.pos += size
		}
	}
}

// escape decodes the escape sequence at pos (a backslash) and writes its rune canonically.
// Surrogates are paired as encoding/json pairs them.
func (p *parser) escape() error {
	p.pos++
	if p.pos >= len(p.data) {
		return errEOF
	}
	c := p.data[p.pos]
	p.pos++
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		p.appendRune(rune(unescape[c]))
		return nil
	case 'u':
	default:
		p.pos--
		return p.errChar("in string escape code")
	}
	r, err := hex4(p.data[p.pos:])
	if err != nil {
		if len(p.data)-p.pos < 4 && !badHex(p.data[p.pos:]) {
			return errEOF
		}
		return fmt.Errorf("invalid \\u escape in string at offset %d", p.pos-2)
	}
	p.pos += 4
	if utf16.IsSurrogate(r) {
		if rest := p.data[p.pos:]; len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
			if r2, err := hex4(rest[2:]); err == nil {
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					p.pos += 6
					p.appendRune(dec)
					return nil
				}
			}
		}
		r = unicode.ReplacementChar
	}
	p.appendRune(r)
	return nil
}

var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendRune writes r in the canonical string encoding.
func (p *parser) appendRune(r rune) {
	switch {
	case r == '"':
		p.out = append(p.out, '\\', '"')
	case r == '\\':
		p.out = append(p.out, '\\', '\\')
	case r < 0x20:
		switch r {
		case '\b':
			p.out = append(p.out, '\\', 'b')
		case '\f':
			p.out = append(p.out, '\\', 'f')
		case '\n':
			p.out = append(p.out, '\\', 'n')
		case '\r':
			p.out = append(p.out, '\\', 'r')
		case '\t':
			p.out = append(p.out, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			p.out = append(p.out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		}
	default:
		p.out = utf8.AppendRune(p.out, r)
	}
}

var errHex = errors.New("bad hex")

func hex4(b []byte) (rune, error) {
	if len(b) < 4 {
		return 0, errHex
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, errHex
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// badHex reports whether b (shorter than 4 bytes) holds a non-hex digit.
func badHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return true
		}
	}
	return false
}

// appendCompact appends src without insignificant whitespace. src must be valid JSON.
func appendCompact(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); {
		switch src[i] {
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
			i++
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			i++
			start = i
		default:
			i++
		}
	}
	return append(dst, src[start:]...)
}
