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
func (r Record) MarshalJSON() ([]byte, error) {
	data := bytes.TrimSpace(r.Data)
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return nil, fmt.Errorf("record %q: data is not a JSON object", r.ID)
	}
	meta, err := json.Marshal(r.Meta)
	if err != nil {
		return nil, fmt.Errorf("record %q: %w", r.ID, err)
	}
	body := data[:len(data)-1]
	buf := make([]byte, 0, len(data)+len(meta)+len(`,"_ferry":`))
	buf = append(buf, body...)
	if len(bytes.TrimSpace(body[1:])) > 0 {
		buf = append(buf, ',')
	}
	buf = append(buf, `"_ferry":`...)
	buf = append(buf, meta...)
	return append(buf, '}'), nil
}
