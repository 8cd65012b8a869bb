package crm

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// encodeCursor makes the opaque cursor for the page after position p. It names a place in
// the (updated_at, id) order rather than an offset, so it stays valid while contacts change:
// a contact updated while a client pages moves behind the cursor and is seen again, and no
// other contact is skipped.
func encodeCursor(p contactPosition) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.key, 10) + ":" + p.id))
}

var errBadCursor = errors.New("not a cursor from this server")

// decodeCursor reverses encodeCursor.
func decodeCursor(s string) (contactPosition, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return contactPosition{}, fmt.Errorf("cursor %q: %w", s, errBadCursor)
	}
	key, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return contactPosition{}, fmt.Errorf("cursor %q: %w", s, errBadCursor)
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return contactPosition{}, fmt.Errorf("cursor %q: %w", s, errBadCursor)
	}
	return contactPosition{key: n, id: id}, nil
}
