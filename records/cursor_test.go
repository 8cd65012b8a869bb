package records

import (
	"math"
	"strings"
	"testing"
)

func TestCursor(t *testing.T) {
	for _, c := range []uint64{0, 1, 42, math.MaxUint64} {
		got, err := ParseCursor(FormatCursor(c))
		if err != nil || got != c {
			t.Errorf("ParseCursor(FormatCursor(%d)) = %d, %v", c, got, err)
		}
	}
	if c, err := ParseCursor(""); err != nil || c != 0 {
		t.Errorf(`ParseCursor("") = %d, %v; want 0, nil`, c, err)
	}
	for _, bad := range []string{"abc", "-1", "+1", "1.5", " 1", "1 ", "0x10", "1_000", "18446744073709551616"} {
		if _, err := ParseCursor(bad); err == nil || !strings.Contains(err.Error(), "invalid cursor") {
			t.Errorf("ParseCursor(%q) error = %v, want an invalid cursor error", bad, err)
		}
	}
}

func TestCountsAdd(t *testing.T) {
	c := Counts{Added: 1, Updated: 2, Deleted: 3, Unchanged: 4}
	c.Add(Counts{Added: 10, Updated: 20, Deleted: 30, Unchanged: 40})
	if c != (Counts{Added: 11, Updated: 22, Deleted: 33, Unchanged: 44}) {
		t.Errorf("got %+v", c)
	}
}
