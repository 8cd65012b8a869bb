package records

import (
	"errors"
	"fmt"
)

// Merge deep-merges the JSON object patch into the JSON object dst and returns the result in
// compact form; it is what a partial update does to a stored record. Where both sides hold an
// object under the same key, the objects merge recursively; any other patch value, arrays and
// null included, replaces the one in dst (null does not delete, unlike RFC 7386). Keys of dst
// keep their order; new keys follow in patch order. Neither input is modified.
func Merge(dst, patch []byte) ([]byte, error) {
	out, err := mergeObjects(dst, patch)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return appendCompact(nil, out), nil
}

// rawMember is one member of an object as written: the key (with quotes) as in the input,
// its canonical encoding for comparing keys, and the raw value.
type rawMember struct {
	key   []byte
	canon string
	val   []byte
}

func mergeObjects(dst, patch []byte) ([]byte, error) {
	dm, err := objectMembers(dst)
	if err != nil {
		return nil, fmt.Errorf("stored record: %w", err)
	}
	pm, err := objectMembers(patch)
	if err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	// Look keys up by scanning small objects and through a map for large ones.
	var index map[string]int
	if len(dm) > 16 {
		index = make(map[string]int, len(dm)+len(pm))
		for i, m := range dm {
			index[m.canon] = i
		}
	}
	find := func(canon string) (int, bool) {
		if index != nil {
			i, ok := index[canon]
			return i, ok
		}
		for i := range dm {
			if dm[i].canon == canon {
				return i, true
			}
		}
		return 0, false
	}
	for _, m := range pm {
		i, ok := find(m.canon)
		switch {
		case !ok:
			if index != nil {
				index[m.canon] = len(dm)
			}
			dm = append(dm, m)
		case dm[i].val[0] == '{' && m.val[0] == '{':
			merged, err := mergeObjects(dm[i].val, m.val)
			if err != nil {
				return nil, err
			}
			dm[i].val = merged
		default:
			dm[i].val = m.val
		}
	}
	buf := []byte{'{'}
	for i, m := range dm {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, m.key...)
		buf = append(buf, ':')
		buf = append(buf, m.val...)
	}
	return append(buf, '}'), nil
}

// objectMembers splits a JSON object into its members, validating it. Of duplicate keys the
// last value wins, at the position of the first.
func objectMembers(data []byte) ([]rawMember, error) {
	p := getParser(data)
	defer putParser(p)
	p.skipWS()
	if p.pos >= len(data) || data[p.pos] != '{' {
		return nil, errors.New("not a JSON object")
	}
	// Validate the whole object first, so the walk below can skip error handling of
	// syntax.
	if err := p.document(); err != nil {
		return nil, err
	}
	p.pos = 0
	p.skipWS()
	p.pos++ // '{'
	var ms []rawMember
	for {
		p.skipWS()
		if data[p.pos] == '}' {
			break
		}
		keyStart := p.pos
		p.out = p.out[:0]
		_ = p.string()
		key := data[keyStart:p.pos]
		canon := string(p.out)
		p.skipWS()
		p.pos++ // ':'
		p.skipWS()
		valStart := p.pos
		_ = p.value()
		val := data[valStart:p.pos]
		ms = append(ms, rawMember{key: key, canon: canon, val: val})
		p.skipWS()
		if data[p.pos] == ',' {
			p.pos++
		}
	}
	return dedupeMembers(ms), nil
}

// dedupeMembers keeps the first position and the last value of each key.
func dedupeMembers(ms []rawMember) []rawMember {
	if len(ms) < 2 {
		return ms
	}
	first := make(map[string]int, len(ms))
	out := ms[:0]
	for _, m := range ms {
		if i, ok := first[m.canon]; ok {
			out[i].val = m.val
			continue
		}
		first[m.canon] = len(out)
		out = append(out, m)
	}
	return out
}
