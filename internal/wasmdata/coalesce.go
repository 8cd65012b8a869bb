package wasmdata

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// The parts of the binary format Coalesce reads.
const (
	sectionData      = 11
	sectionDataCount = 12

	opI32Const = 0x41
	opEnd      = 0x0b
)

// magic is the module's preamble: "\0asm" and version 1.
var magic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// maxGap is the longest run of zeros Coalesce writes to join two segments. Go's linker splits
// at runs of 16 to 64 zeros, so this joins a Go plugin's data into a handful of segments, and
// copying 256 zeros costs less than the bookkeeping of one more segment.
const maxGap = 256

var zeros [maxGap]byte

// segment is an active data segment of memory 0: data copied to offset at instantiation.
type segment struct {
	offset uint32
	data   []byte
}

// Coalesce returns module with its data segments sorted by address and each joined to the
// next when at most maxGap zero bytes lie between them, the zeros written out; the zeros added
// never outnumber the data's own bytes. The module instantiates to the same memory, or fails
// to instantiate as before: a joined segment ends where the last of its parts did.
//
// Coalesce returns module itself when it has nothing to join or cannot tell that a rewrite
// is safe: when a segment is passive, names a memory or has an offset other than a constant,
// when segments overlap (their order would matter), when the module has a data count section
// (its code may name segments by index), or when the module is malformed, which compiling
// it reports.
func Coalesce(module []byte) []byte {
	at, start, end, ok := findData(module)
	if !ok {
		return module
	}
	segs, ok := parseSegments(module[start:end])
	if !ok {
		return module
	}
	joined, ok := join(segs)
	if !ok {
		return module
	}
	body := binary.AppendUvarint(nil, uint64(len(joined)))
	for _, s := range joined {
		body = append(body, 0, opI32Const) // 0: active, memory 0
		body = appendS32(body, int32(s.offset))
		body = append(body, opEnd)
		body = binary.AppendUvarint(body, uint64(len(s.data)))
		body = append(body, s.data...)
	}
	out := make([]byte, 0, at+1+binary.MaxVarintLen32+len(body)+len(module)-end)
	out = append(out, module[:at]...)
	out = append(out, sectionData)
	out = binary.AppendUvarint(out, uint64(len(body)))
	out = append(out, body...)
	return append(out, module[end:]...)
}

// findData returns where module's data section starts (its id byte, at) and the bounds of its
// content. It fails if the module is malformed, has no data section or has a data count
// section.
func findData(module []byte) (at, start, end int, ok bool) {
	if !bytes.HasPrefix(module, magic) {
		return 0, 0, 0, false
	}
	found := false
	for pos := len(magic); pos < len(module); {
		id := module[pos]
		size, n := u32(module[pos+1:])
		if n == 0 || uint64(size) > uint64(len(module)-pos-1-n) {
			return 0, 0, 0, false
		}
		content := pos + 1 + n
		switch id {
		case sectionDataCount:
			return 0, 0, 0, false
		case sectionData:
			if found {
				return 0, 0, 0, false
			}
			at, start, end, found = pos, content, content+int(size), true
		}
		pos = content + int(size)
	}
	return at, start, end, found
}

// parseSegments parses a data section's content, if every segment in it is active, of memory
// 0, at a constant offset.
func parseSegments(body []byte) ([]segment, bool) {
	count, pos := u32(body)
	if pos == 0 {
		return nil, false
	}
	// Each segment takes at least 5 bytes, which bounds what a lying count can allocate.
	segs := make([]segment, 0, min(int(count), len(body)/5))
	for range count {
		flag, n := u32(body[pos:])
		if n == 0 || flag != 0 {
			return nil, false
		}
		pos += n
		if pos >= len(body) || body[pos] != opI32Const {
			return nil, false
		}
		pos++
		offset, n := s32(body[pos:])
		if n == 0 {
			return nil, false
		}
		pos += n
		if pos >= len(body) || body[pos] != opEnd {
			return nil, false
		}
		pos++
		size, n := u32(body[pos:])
		if n == 0 || uint64(size) > uint64(len(body)-pos-n) {
			return nil, false
		}
		pos += n
		segs = append(segs, segment{offset: uint32(offset), data: body[pos : pos+int(size)]})
		pos += int(size)
	}
	return segs, pos == len(body)
}

// join sorts segs by address and joins neighbours (see Coalesce). It fails if segments
// overlap or none could be joined.
func join(segs []segment) ([]segment, bool) {
	if len(segs) < 2 {
		return nil, false
	}
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.offset, b.offset) })
	budget := uint64(0) // zeros that may still be added
	for i, s := range segs {
		if i > 0 && uint64(s.offset) < end(segs[i-1]) {
			return nil, false
		}
		budget += uint64(len(s.data))
	}
	out := make([]segment, 0, len(segs))
	cur, owned := segs[0], false // owned: cur.data is a buffer of join's, not the module's
	for _, s := range segs[1:] {
		gap := uint64(s.offset) - end(cur)
		if gap > maxGap || gap > budget {
			out = append(out, cur)
			cur, owned = s, false
			continue
		}
		if !owned {
			cur.data, owned = slices.Clone(cur.data), true
		}
		cur.data = append(append(cur.data, zeros[:gap]...), s.data...)
		budget -= gap
	}
	out = append(out, cur)
	return out, len(out) < len(segs)
}

// end is the address just past s.
func end(s segment) uint64 { return uint64(s.offset) + uint64(len(s.data)) }

// u32 decodes an unsigned LEB128 number of at most 32 bits, in at most 5 bytes, as the
// binary format has them; n is 0 if b does not start with one.
func u32(b []byte) (v uint32, n int) {
	x, n := binary.Uvarint(b)
	if n <= 0 || n > 5 || x > math.MaxUint32 {
		return 0, 0
	}
	return uint32(x), n
}

// s32 decodes a signed LEB128 number of at most 32 bits, in at most 5 bytes; n is 0 if b does
// not start with one.
func s32(b []byte) (v int32, n int) {
	var x int64
	var shift uint
	for i := 0; i < 5 && i < len(b); i++ {
		c := b[i]
		x |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if c&0x40 != 0 {
				x |= -1 << shift // sign extension
			}
			if x < math.MinInt32 || x > math.MaxInt32 {
				return 0, 0
			}
			return int32(x), i + 1
		}
	}
	return 0, 0
}

// appendS32 appends v in signed LEB128.
func appendS32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
