package records

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Meta is what Ferry knows about a stored record, shown to users under its "_ferry" key.
type Meta struct {
	FirstSeenAt    time.Time `json:"first_seen_at"`
	LastModifiedAt time.Time `json:"last_modified_at"`
	LastAction     Action    `json:"last_action"`
	// DeletedAt is nil, shown as null, unless the record is deleted.
	DeletedAt *time.Time `json:"deleted_at"`
	// Cursor is the record's position in its (connection, model), as FormatCursor renders it.
	Cursor string `json:"cursor"`
}

// Record is a stored record with its metadata.
type Record struct {
	ID   string
	Data json.RawMessage // the record's JSON object
	Meta Meta
}

// MarshalJSON renders the record as its own JSON object with a "_ferry" member holding Meta
// appended. The record's data is spliced, not re-encoded, so its members keep their order. A
// "_ferry" key the record itself carries is left in place; ours comes last, so it is the one
// a decoder keeps.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends what MarshalJSON renders to dst, the way a page of records is written
// without an allocation per record.
func (r Record) AppendJSON(dst []byte) ([]byte, error) {
	data := bytes.TrimSpace(r.Data)
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return dst, fmt.Errorf("record %q: data is not a JSON object", r.ID)
	}
	body := data[:len(data)-1]
	dst = append(dst, body...)
	if len(bytes.TrimSpace(body[1:])) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"_ferry":{"first_seen_at":`...)
	dst = appendTime(dst, r.Meta.FirstSeenAt)
	dst = append(dst, `,"last_modified_at":`...)
	dst = appendTime(dst, r.Meta.LastModifiedAt)
	dst = append(dst, `,"last_action":`...)
	dst = appendWord(dst, string(r.Meta.LastAction))
	dst = append(dst, `,"deleted_at":`...)
	if r.Meta.DeletedAt == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendTime(dst, *r.Meta.DeletedAt)
	}
	dst = append(dst, `,"cursor":`...)
	dst = appendWord(dst, r.Meta.Cursor)
	return append(dst, "}}"...), nil
}

// appendWord appends s as a JSON string; s is one of Ferry's own words (an action, a
// cursor), which never need escaping.
func appendWord(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendTime appends t as encoding/json writes a time.Time.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
