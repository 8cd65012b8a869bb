package records

import "strings"

// Lookup returns the raw JSON value at path in the JSON document doc, without decoding the
// document: path is a dot-separated list of object keys ("meta.next_cursor"); "" is the whole
// document. It reports false when a key is missing or a value on the way is not an object.
// Lookup only skips over what it does not need and checks little: the caller validates the
// value it gets (ParseBatch does for an items array). Keys with escapes are compared as
// written.
func Lookup(doc []byte, path string) ([]byte, bool) {
	v := doc[skipSpace(doc, 0):]
	v = v[:len(v)-trailingSpace(v)]
	if len(v) == 0 {
		return nil, false
	}
	if path == "" {
		return v, true
	}
	for _, key := range strings.Split(path, ".") {
		var ok bool
		if v, ok = lookupMember(v, key); !ok {
			return nil, false
		}
	}
	return v, true
}

// lookupMember returns the value of key in obj, if obj is an object holding it.
func lookupMember(obj []byte, key string) ([]byte, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return nil, false
	}
	i := 1
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false // '}', the end, or not JSON
		}
		kEnd := skipString(obj, i)
		if kEnd < 0 {
			return nil, false
		}
		matched := string(obj[i+1:kEnd-1]) == key
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		vEnd := skipValue(obj, i)
		if vEnd < 0 {
			return nil, false
		}
		if matched {
			return obj[i:vEnd], true
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trailingSpace(b []byte) int {
	n := 0
	for n < len(b) {
		switch b[len(b)-1-n] {
		case ' ', '\t', '\n', '\r':
			n++
		default:
			return n
		}
	}
	return n
}

// skipString returns the index after the string starting at b[i] (a quote), or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1 if it does not end.
// Brackets are counted, strings skipped; everything else is taken as it comes.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}
