package records

import (
	"encoding/binary"
	"math/bits"
)

// SWAR constants: a byte of ones, and a byte of high bits, in every lane of a word.
const (
	lanes = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainEnd returns the index of the first byte at or after i that ends a run of plain string
// bytes: a quote, a backslash, a control character or a byte of a multi-byte UTF-8
// sequence; len(data) if there is none. It tests eight bytes at a time, as a 1 KB record is
// mostly long runs of plain text.
func plainEnd(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		v := binary.LittleEndian.Uint64(data[i:])
		// Each term sets a lane's high bit where the byte is under 0x20, is '"', is '\\' (the
		// XOR leaves a zero) or is 0x80 and over. A subtraction's borrow can also set lanes
		// above the first one it sets, never below: the lowest lane set is the first special
		// byte.
		q, b := v^(lanes*'"'), v^(lanes*'\\')
		m := (v-lanes*0x20)&^v | (q-lanes)&^q | (b-lanes)&^b | v
		if m &= highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}
