package records

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Limits on what one batch may hold. They bound the memory and the single storage
// transaction one host call can cost.
const (
	MaxBatchRecords = 100_000 // records per batch
	MaxRecordSize   = 4 << 20 // bytes per record, in compact form
	MaxIDSize       = 1024    // bytes per record id
)

// Item is one record ready to store.
type Item struct {
	ID string
	// Data is the record object in compact form, members in the order the plugin sent them.
	Data json.RawMessage
	// Hash is the SHA-256 of the canonical form of Data (see Canonical): two items with the
	// same Hash hold the same content, whatever their key order or whitespace.
	Hash [32]byte
}

// ParseBatch parses a batch of records as a plugin sends it: a JSON array whose elements are
// JSON objects, each with a non-empty string "id". A batch is all or nothing: the first bad
// element refuses the whole batch with an error naming its index, e.g.
// `record 3: "id" must be a non-empty string`.
//
// When one id occurs more than once in the batch, the last occurrence wins: it is the one
// returned, at its own position, and the earlier ones are dropped, as if they had been saved
// one after another.
//
// A record sent compact is not copied: its item's Data is a slice of data, which must not
// change while the items are in use. Records sent with whitespace are compacted into a
// buffer of their own.
func ParseBatch(data []byte) ([]Item, error) { return ParseBatchBy(data, "id") }

// ParseBatchBy is ParseBatch with each record's id taken from its member idField rather than
// "id": what a provider's response holds, saved as it is (the passthrough host function).
func ParseBatchBy(data []byte, idField string) ([]Item, error) {
	p := getParser(data)
	defer putParser(p)
	p.captureID = true
	if idField != "id" {
		key, err := Canonical(strconv.AppendQuote(nil, idField))
		if err != nil {
			return nil, fmt.Errorf("id field %q: %w", idField, err)
		}
		p.idKey = string(key)
	}
	idName := strconv.Quote(idField)

	p.skipWS()
	if p.pos >= len(data) || data[p.pos] != '[' {
		return nil, errors.New("not a JSON array")
	}
	p.pos++
	p.skipWS()
	if p.pos < len(data) && data[p.pos] == ']' {
		p.pos++
		return nil, p.trailing()
	}

	var items []Item
	// The records compacted share one buffer, made for the first, as long as the rest of the
	// batch: compact data is never longer, so the buffer never moves.
	var arena []byte
	for i := 0; ; i++ {
		if i == MaxBatchRecords {
			return nil, fmt.Errorf("batch has more than %d records", MaxBatchRecords)
		}
		p.skipWS()
		if p.pos >= len(data) {
			return nil, fmt.Errorf("record %d: %w", i, errEOF)
		}
		if data[p.pos] != '{' {
			return nil, fmt.Errorf("record %d: not a JSON object", i)
		}
		start := p.pos
		p.out, p.sawWS, p.idKind, p.id = p.out[:0], false, idMissing, ""
		if err := p.object(); err != nil {
			return nil, fmt.Errorf("record %d: invalid JSON: %w", i, err)
		}
		if p.idKind != idString || p.id == "" {
			return nil, fmt.Errorf(`record %d: %s must be a non-empty string`, i, idName)
		}
		if len(p.id) > MaxIDSize {
			return nil, fmt.Errorf(`record %d: %s is longer than %d bytes`, i, idName, MaxIDSize)
		}
		rec := data[start:p.pos:p.pos]
		if p.sawWS {
			if arena == nil {
				arena = make([]byte, 0, len(data)-start)
			}
			from := len(arena)
			arena = appendCompact(arena, rec)
			rec = arena[from:len(arena):len(arena)]
		}
		if len(rec) > MaxRecordSize {
			return nil, fmt.Errorf("record %d (id %q): %d bytes, over the %d MiB limit", i, p.id, len(rec), MaxRecordSize>>20)
		}
		items = append(items, Item{ID: p.id, Data: rec, Hash: sha256.Sum256(p.out)})

		p.skipWS()
		if p.pos >= len(data) {
			return nil, fmt.Errorf("record %d: %w", i, errEOF)
		}
		if data[p.pos] == ']' {
			p.pos++
			break
		}
		if data[p.pos] != ',' {
			return nil, fmt.Errorf("record %d: %w", i, p.errChar("after array element"))
		}
		p.pos++
	}
	if err := p.trailing(); err != nil {
		return nil, err
	}
	return dedupe(items), nil
}

// trailing refuses anything but whitespace after the batch's closing bracket.
func (p *parser) trailing() error {
	p.skipWS()
	if p.pos < len(p.data) {
		return fmt.Errorf("invalid JSON: %w", p.errChar("after the array"))
	}
	return nil
}

// dedupe drops all but the last item of each id, keeping the order of the survivors.
func dedupe(items []Item) []Item {
	if len(items) < 2 {
		return items
	}
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[it.ID] = i
	}
	if len(last) == len(items) {
		return items
	}
	out := items[:0]
	for i, it := range items {
		if last[it.ID] == i {
			out = append(out, it)
		}
	}
	return out
}

// ParseIDs parses the ids of a delete or get call: a JSON array whose elements are either
// strings or objects with a string "id" (so a plugin can pass back the records it holds). Ids
// must be non-empty. The first bad element refuses the whole list with an error naming its
// index. Duplicates are kept.
func ParseIDs(data []byte) ([]string, error) {
	p := getParser(data)
	defer putParser(p)

	p.skipWS()
	if p.pos >= len(data) || data[p.pos] != '[' {
		return nil, errors.New("not a JSON array")
	}
	p.pos++
	p.skipWS()
	if p.pos < len(data) && data[p.pos] == ']' {
		p.pos++
		return nil, p.trailing()
	}
	var ids []string
	for i := 0; ; i++ {
		if i == MaxBatchRecords {
			return nil, fmt.Errorf("batch has more than %d ids", MaxBatchRecords)
		}
		p.skipWS()
		if p.pos >= len(data) {
			return nil, fmt.Errorf("record %d: %w", i, errEOF)
		}
		p.out = p.out[:0]
		var id string
		switch data[p.pos] {
		case '"':
			if err := p.string(); err != nil {
				return nil, fmt.Errorf("record %d: invalid JSON: %w", i, err)
			}
			id = decodeCanonicalString(p.out)
		case '{':
			p.captureID, p.idKind, p.id = true, idMissing, ""
			err := p.object()
			p.captureID = false
			if err != nil {
				return nil, fmt.Errorf("record %d: invalid JSON: %w", i, err)
			}
			if p.idKind != idString {
				return nil, fmt.Errorf(`record %d: "id" must be a non-empty string`, i)
			}
			id = p.id
		default:
			return nil, fmt.Errorf(`record %d: want a string id or an object with a string "id"`, i)
		}
		if id == "" {
			return nil, fmt.Errorf("record %d: id must be a non-empty string", i)
		}
		ids = append(ids, id)

		p.skipWS()
		if p.pos >= len(data) {
			return nil, fmt.Errorf("record %d: %w", i, errEOF)
		}
		if data[p.pos] == ']' {
			p.pos++
			break
		}
		if data[p.pos] != ',' {
			return nil, fmt.Errorf("record %d: %w", i, p.errChar("after array element"))
		}
		p.pos++
	}
	if err := p.trailing(); err != nil {
		return nil, err
	}
	return ids, nil
}
