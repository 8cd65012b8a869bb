package ferry

import (
	"encoding/json"
	"strings"
)

// The pagination helper needs a few values out of every page (the items array, the next
// cursor, the page count) and should not copy a megabyte page to get them, as decoding into
// json.RawMessage would. These functions return subslices of valid JSON instead; callers check
// validity once with json.Valid.

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

// countArray returns the number of elements of arr, a valid JSON array.
func countArray(arr []byte) int {
	n := 0
	eachElement(arr, func([]byte) { n++ })
	return n
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
		for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
			i++
		}
		return i
	}
}

// skipString returns the index just past the JSON string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trimJSONSpace(b []byte) []byte {
	b = b[skipSpace(b, 0):]
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
