package ferry

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
)

// The pagination helper needs a few values out of every page (the items array, the next
// cursor, the page count) and should not copy a megabyte page to get them, as decoding into
// json.RawMessage would. scanJSON checks a page the way json.Valid does and, in the same pass,
// finds where those values lie; the functions after it return subslices of JSON already known
// to be valid.
//
// encoding/json's scanner costs a function call per byte, which is slow in WebAssembly; this
// one is a plain loop that goes through the inside of strings, most of a page, eight bytes at a
// time.

// maxJSONDepth is the deepest nesting of arrays and objects json.Valid accepts.
const maxJSONDepth = 10000

// A probe asks scanJSON for the value at a path: the first member of each object whose key
// matches.
type probe struct {
	keys  []string // the path, split at the dots; none for the whole document
	state uint8
	// level is the container the probe is at, counted from the document's (1): while
	// searching, the object in which it looks for keys[level-1]; while in the value, the
	// value itself.
	level      int
	start, end int // where the value lies, once found
	count      int // the elements of the value, if it is an array
}

const (
	probeSearching = iota
	probeInValue   // found the start of an array or object, not yet its end
	probeFound
	probeMissing
)

// newProbe returns a probe for path, a dot-separated list of object keys; "" is the whole
// document.
func newProbe(path string) probe {
	if path == "" {
		return probe{}
	}
	return probe{keys: strings.Split(path, ".")}
}

// value returns the value p found in data, the document scanJSON checked, and whether it is
// there.
func (p *probe) value(data []byte) ([]byte, bool) {
	if p.state != probeFound {
		return nil, false
	}
	return data[p.start:p.end], true
}

// scanJSON reports whether data is valid JSON, exactly as json.Valid does (one value between
// optional spaces, tabs, CRs and LFs, nested at most 10000 deep, with no check that the bytes
// of strings are UTF-8), and in the same pass finds in data the value at the path of each of
// probes and, if it is an array, how many elements it has. The probes mean nothing when data
// is not valid.
func scanJSON(data []byte, probes []probe) bool {
	var stackBuf [64]bool
	stack := stackBuf[:0] // the open containers: true for an object, false for an array
	i := skipSpace(data, 0)
	for k := range probes {
		probes[k].start, probes[k].end, probes[k].count = 0, 0, 0
		probes[k].state, probes[k].level = probeSearching, 0
		probes[k].valueAt(data, i, 0)
	}
	// watch is the deepest level at which a key, an array element or the end of a container
	// is of interest to a probe.
	watch := watchLevel(probes)
	// startItem starts the next element or member of the innermost container at data[i],
	// checking a member's key, and returns the index of its value, or -1.
	startItem := func(i int) int {
		level := len(stack)
		if !stack[level-1] {
			if level <= watch {
				element(probes, level)
			}
			return i
		}
		keyStart := i
		keyEnd, value := scanKey(data, i)
		if value < 0 {
			return -1
		}
		if level <= watch {
			key(probes, data[keyStart:keyEnd], data, value, level)
			watch = watchLevel(probes)
		}
		return value
	}
	for {
		// A value starts at data[i], spaces skipped.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '"':
			if i = scanString(data, i+1); i < 0 {
				return false
			}
		case '{', '[':
			if len(stack) == maxJSONDepth {
				return false
			}
			stack = append(stack, c == '{')
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == c+2 { // '}' or ']': the loop below closes it
				break
			}
			if i = startItem(i); i < 0 {
				return false
			}
			continue
		case 't':
			if i = scanLiteral(data, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = scanLiteral(data, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = scanLiteral(data, i, "null"); i < 0 {
				return false
			}
		default:
			if i = scanNumber(data, i); i < 0 {
				return false
			}
		}
		// A value ends just before data[i]: what comes next is a comma, the end of a
		// container, or (at the top) nothing but spaces.
		for {
			i = skipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			object := stack[len(stack)-1]
			if c := data[i]; c == '}' && object || c == ']' && !object {
				i++
				if len(stack) <= watch {
					endContainer(probes, i, len(stack))
					watch = watchLevel(probes)
				}
				stack = stack[:len(stack)-1]
				continue
			} else if c != ',' {
				return false
			}
			if i = startItem(skipSpace(data, i+1)); i < 0 {
				return false
			}
			break
		}
	}
}

// scanKey checks the key that starts at data[i] with the colon and spaces after it, and
// returns the index just past the key's closing quote and the index of the member's value;
// value is -1 if they are not there.
func scanKey(data []byte, i int) (keyEnd, value int) {
	if i >= len(data) || data[i] != '"' {
		return 0, -1
	}
	if keyEnd = scanString(data, i+1); keyEnd < 0 {
		return 0, -1
	}
	i = skipSpace(data, keyEnd)
	if i >= len(data) || data[i] != ':' {
		return 0, -1
	}
	return keyEnd, skipSpace(data, i+1)
}

// watchLevel returns the deepest level at which some probe of probes waits for an event.
func watchLevel(probes []probe) int {
	w := 0
	for k := range probes {
		if p := &probes[k]; (p.state == probeSearching || p.state == probeInValue) && p.level > w {
			w = p.level
		}
	}
	return w
}

// valueAt tells p that a value starts at data[i], in a container at the given level (0 for the
// document), when it is the value at p.keys[:level].
func (p *probe) valueAt(data []byte, i, level int) {
	switch {
	case level < len(p.keys):
		if i < len(data) && data[i] == '{' {
			p.level = level + 1
		} else {
			p.state = probeMissing
		}
	case i < len(data) && (data[i] == '{' || data[i] == '['):
		p.state, p.level, p.start = probeInValue, level+1, i
	default:
		p.state, p.start, p.end = probeFound, i, skipValue(data, i)
	}
}

// key tells probes of the key quoted, with its quotes, of a member of the object at level
// whose value starts at data[value].
func key(probes []probe, quoted, data []byte, value, level int) {
	for k := range probes {
		p := &probes[k]
		if p.state == probeSearching && p.level == level && keyEquals(quoted, p.keys[level-1]) {
			p.valueAt(data, value, level)
		}
	}
}

// element tells probes of an element of the array at level.
func element(probes []probe, level int) {
	for k := range probes {
		if p := &probes[k]; p.state == probeInValue && p.level == level {
			p.count++
		}
	}
}

// endContainer tells probes of the end of the container at level, just before data[i].
func endContainer(probes []probe, i, level int) {
	for k := range probes {
		p := &probes[k]
		switch {
		case p.level != level:
		case p.state == probeSearching:
			p.state = probeMissing
		case p.state == probeInValue:
			p.state, p.end = probeFound, i
		}
	}
}

// scanString returns the index just past the closing quote of the JSON string whose contents
// start at b[i], or -1 if there is no valid string there. Like json.Valid, it accepts any byte
// but '"', '\\' and those below 0x20 inside, invalid UTF-8 included.
func scanString(b []byte, i int) int {
	for {
		for i+8 <= len(b) {
			if m := stringSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
}

const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// stringSpecial returns, for the eight bytes of w, a mask whose lowest set bit is the top bit
// of the first of them that is '"', '\\' or below 0x20 (bits above it may be set wrongly), or
// 0 if none is.
func stringSpecial(w uint64) uint64 {
	q := w ^ (lsbs * '"')
	s := w ^ (lsbs * '\\')
	return ((q-lsbs)&^q | (s-lsbs)&^s | (w-lsbs*0x20)&^w) & msbs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber returns the index just past the JSON number that starts at b[i], or -1.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i+1)
	}
	return i
}

// scanLiteral returns the index just past lit if b[i:] starts with it, or -1.
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) {
		return -1
	}
	for j := 1; j < len(lit); j++ {
		if b[i+j] != lit[j] {
			return -1
		}
	}
	return i + len(lit)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// keyEquals reports whether the JSON string quoted equals key.
func keyEquals(quoted []byte, key string) bool {
	raw := quoted[1 : len(quoted)-1]
	if !strings.Contains(string(raw), `\`) {
		return string(raw) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

// splitArray returns the elements of arr, a valid JSON array, as subslices of it.
func splitArray(arr []byte) []json.RawMessage {
	var elems []json.RawMessage
	eachElement(arr, func(e []byte) { elems = append(elems, e) })
	return elems
}

// isEmptyArray reports whether arr, trimmed and starting with '[', is an empty array: only
// spaces between its brackets, and nothing after them.
func isEmptyArray(arr []byte) bool {
	i := skipSpace(arr, 1)
	return i == len(arr)-1 && arr[i] == ']'
}

func eachElement(arr []byte, fn func([]byte)) {
	if len(arr) == 0 || arr[0] != '[' {
		return
	}
	i := 1
	for {
		i = skipSpace(arr, i)
		if i >= len(arr) || arr[i] == ']' {
			return
		}
		end := skipValue(arr, i)
		fn(arr[i:end])
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i++
		}
	}
}

// skipValue returns the index just past the JSON value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the string that starts at b[i], valid JSON.
func skipString(b []byte, i int) int { return scanString(b, i+1) }

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
