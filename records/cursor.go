package records

import (
	"fmt"
	"strconv"
)

// FormatCursor renders a cursor position for users. Cursors are strictly increasing positions
// per (connection, model); the string form is opaque to users, who only hand it back.
func FormatCursor(c uint64) string {
	return strconv.FormatUint(c, 10)
}

// ParseCursor parses a cursor made by FormatCursor. The empty string is position 0, the start.
func ParseCursor(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("invalid cursor %q: use a cursor value returned by Ferry", s)
		}
	}
	c, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid cursor %q: out of range", s)
	}
	return c, nil
}
