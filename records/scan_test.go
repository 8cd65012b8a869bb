package records

import (
	"strings"
	"testing"
)

// plainEndByBytes is plainEnd one byte at a time: what plainEnd must agree with.
func plainEndByBytes(data []byte, i int) int {
	for ; i < len(data); i++ {
		if c := data[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}

func TestPlainEnd(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 10)
	tests := []string{
		"", "a", `"`, `abc"def`, `abcdefgh"`, `abcdefghijklmno\p`, "abcdefg\x1fh", "abcdefgh\x00",
		"abcdefghé", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x80", "!!!!!!!!#", "[[[[[[[[]", "\x20\x20\x20\x20\x20\x20\x20\x20\x19",
		long + `"`, long + `\n`, long, "\xff" + long, "ab\"\"\"\"\"\"\"\"",
	}
	for _, s := range tests {
		for i := 0; i <= len(s); i++ {
			if got, want := plainEnd([]byte(s), i), plainEndByBytes([]byte(s), i); got != want {
				t.Errorf("plainEnd(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
}

func FuzzPlainEnd(f *testing.F) {
	f.Add([]byte(`lorem ipsum dolor "sit" amet`), 3)
	f.Add([]byte("\x00\x1f\x20\x21\x22\x5b\x5c\x5d\x7f\x80\xff"), 0)
	f.Fuzz(func(t *testing.T, data []byte, i int) {
		if i < 0 || i > len(data) {
			return
		}
		if got, want := plainEnd(data, i), plainEndByBytes(data, i); got != want {
			t.Errorf("plainEnd(%q, %d) = %d, want %d", data, i, got, want)
		}
	})
}
