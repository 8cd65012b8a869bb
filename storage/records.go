package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/records"
	bolt "go.etcd.io/bbolt"
)

// Scope names the records of one model of one connection.
type Scope struct{ Integration, Connection, Model string }

// String renders the scope as integration/connection/model.
func (s Scope) String() string { return s.Integration + "/" + s.Connection + "/" + s.Model }

func (s Scope) validate() error {
	return requireIDs("scope "+s.String()+": integration, connection and model", s.Integration, s.Connection, s.Model)
}

var (
	bucketIDs     = []byte("ids")
	bucketChanges = []byte("changes")
)

// Stored record header; see doc.go.
const (
	recordFormat = 1
	offCursor    = 1
	offHash      = offCursor + 8
	offFirstSeen = offHash + 32
	offModified  = offFirstSeen + 8
	offDeleted   = offModified + 8
	offAction    = offDeleted + 8
	headerSize   = offAction + 1
)

// Action codes as stored.
const (
	codeAdded   = 1
	codeUpdated = 2
	codeDeleted = 3
	// flagExternal, or'ed into the stored action byte, marks a record last written by an
	// action or an inbound webhook rather than by a sync.
	flagExternal = 0x80
)

var actionCodes = map[records.Action]byte{records.Added: codeAdded, records.Updated: codeUpdated, records.Deleted: codeDeleted}

var actionNames = [...]records.Action{codeAdded: records.Added, codeUpdated: records.Updated, codeDeleted: records.Deleted}

// record is a stored record, decoded. data aliases the memory it was decoded from; it is
// empty when the record was read from "ids", which holds headers only (see model.load).
type record struct {
	cursor                         uint64
	hash                           [32]byte
	firstSeen, modified, deletedAt int64 // Unix nanoseconds
	action                         byte
	external                       bool // last written by an action or a webhook handler
	data                           []byte
}

// decodeRecord decodes a record's header, and takes the rest of v as its data.
func decodeRecord(id, v []byte) (record, error) {
	if len(v) < headerSize {
		return record{}, fmt.Errorf("record %q: corrupt stored value", id)
	}
	action := v[offAction] &^ flagExternal
	if v[0] != recordFormat || action < codeAdded || action > codeDeleted {
		return record{}, fmt.Errorf("record %q: corrupt stored value", id)
	}
	r := record{
		cursor:    binary.BigEndian.Uint64(v[offCursor:]),
		firstSeen: int64(binary.BigEndian.Uint64(v[offFirstSeen:])),
		modified:  int64(binary.BigEndian.Uint64(v[offModified:])),
		deletedAt: int64(binary.BigEndian.Uint64(v[offDeleted:])),
		action:    action,
		external:  v[offAction]&flagExternal != 0,
		data:      v[headerSize:],
	}
	copy(r.hash[:], v[offHash:])
	return r, nil
}

// decodeChange decodes a value of "changes": the record's header, the length of its id
// (uvarint), the id, the data.
func decodeChange(cursor, v []byte) (id []byte, r record, err error) {
	if len(v) > headerSize {
		if n, k := binary.Uvarint(v[headerSize:]); k > 0 && n <= uint64(len(v)-headerSize-k) {
			id = v[headerSize+k : headerSize+k+int(n)]
			r, err = decodeRecord(id, v[:headerSize])
			r.data = v[headerSize+k+int(n):]
			return id, r, err
		}
	}
	return nil, record{}, fmt.Errorf("change %x: corrupt stored value", cursor)
}

// encodeHeader writes r's header into v[:headerSize].
func (r *record) encodeHeader(v []byte) {
	v[0] = recordFormat
	binary.BigEndian.PutUint64(v[offCursor:], r.cursor)
	copy(v[offHash:], r.hash[:])
	binary.BigEndian.PutUint64(v[offFirstSeen:], uint64(r.firstSeen))
	binary.BigEndian.PutUint64(v[offModified:], uint64(r.modified))
	binary.BigEndian.PutUint64(v[offDeleted:], uint64(r.deletedAt))
	v[offAction] = r.action
	if r.external {
		v[offAction] |= flagExternal
	}
}

// public returns the record as package records shows it, copying its data into buf (an
// arena for the records of one call, so a page of records costs few allocations).
func (r *record) public(id []byte, buf *[]byte) records.Record {
	if cap(*buf)-len(*buf) < len(r.data) {
		*buf = make([]byte, 0, max(len(r.data), 64<<10))
	}
	start := len(*buf)
	*buf = append(*buf, r.data...)
	out := records.Record{
		ID:   string(id),
		Data: (*buf)[start:len(*buf):len(*buf)],
		Meta: records.Meta{
			FirstSeenAt:    time.Unix(0, r.firstSeen).UTC(),
			LastModifiedAt: time.Unix(0, r.modified).UTC(),
			LastAction:     actionNames[r.action],
			Cursor:         records.FormatCursor(r.cursor),
		},
	}
	if r.action == codeDeleted {
		t := time.Unix(0, r.deletedAt).UTC()
		out.Meta.DeletedAt = &t
	}
	return out
}

// model is the buckets of one Scope within a transaction.
type model struct {
	bucket, ids, changes *bolt.Bucket
	// idsCursor serves get: Bucket.Get makes a cursor for each lookup, and a batch makes
	// a lookup for each record. Each get seeks afresh, so writes between them do no harm.
	idsCursor *bolt.Cursor
	// arena holds the values written in this transaction: bbolt keeps a reference to a
	// value until commit, so values cannot share a reused buffer.
	arena []byte
}

// openModel returns the buckets of s, or nil if s has no records and create is false.
func openModel(tx *bolt.Tx, s Scope, create bool) (*model, error) {
	var b *bolt.Bucket
	if create {
		if !connectionExists(tx, s.Integration, s.Connection) {
			return nil, errNoConnection(s.Integration, s.Connection)
		}
		var err error
		if b, err = nestedCreate(tx, bucketRecords, s.Integration, s.Connection, s.Model); err != nil {
			return nil, err
		}
		ids, err := b.CreateBucketIfNotExists(bucketIDs)
		if err != nil {
			return nil, err
		}
		changes, err := b.CreateBucketIfNotExists(bucketChanges)
		if err != nil {
			return nil, err
		}
		// Cursors only ever grow, so new changes append: fill pages completely.
		changes.FillPercent = 1
		ids.FillPercent = 0.9
		return &model{bucket: b, ids: ids, changes: changes}, nil
	}
	if b = nested(tx, bucketRecords, s.Integration, s.Connection, s.Model); b == nil {
		return nil, nil
	}
	return &model{bucket: b, ids: b.Bucket(bucketIDs), changes: b.Bucket(bucketChanges)}, nil
}

// get returns the header of the record stored under id (its data left empty), and whether
// there is one.
func (m *model) get(id []byte) (record, bool, error) {
	if len(id) == 0 {
		return record{}, false, nil
	}
	if m.idsCursor == nil {
		m.idsCursor = m.ids.Cursor()
	}
	k, v := m.idsCursor.Seek(id)
	if v == nil || !bytes.Equal(k, id) {
		return record{}, false, nil
	}
	r, err := decodeRecord(id, v)
	return r, err == nil, err
}

// load fills in the data of r, a header from get, from the record's entry in "changes".
func (m *model) load(id []byte, r *record) error {
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], r.cursor)
	gotID, full, err := decodeChange(key[:], m.changes.Get(key[:]))
	if err != nil {
		return err
	}
	if !bytes.Equal(gotID, id) {
		return fmt.Errorf("record %q: its change %d holds record %q: corrupt store", id, r.cursor, gotID)
	}
	r.data = full.data
	return nil
}

func (m *model) alloc(n int) []byte {
	if cap(m.arena)-len(m.arena) < n {
		m.arena = make([]byte, 0, max(n, 256<<10))
	}
	start := len(m.arena)
	m.arena = m.arena[:start+n]
	return m.arena[start : start+n : start+n]
}

// write stores r under id at the next cursor of the model: its header in "ids", the whole
// record in "changes", from which it removes the record's previous change at oldCursor (0:
// none).
func (m *model) write(id []byte, r *record, oldCursor uint64) error {
	var key [8]byte
	if oldCursor != 0 {
		binary.BigEndian.PutUint64(key[:], oldCursor)
		if err := m.changes.Delete(key[:]); err != nil {
			return err
		}
	}
	seq, err := m.bucket.NextSequence()
	if err != nil {
		return err
	}
	r.cursor = seq
	return m.put(id, r)
}

// put stores r under id at its cursor: its header in "ids", the whole record in "changes".
func (m *model) put(id []byte, r *record) error {
	v := m.alloc(headerSize + binary.MaxVarintLen64 + len(id) + len(r.data))
	r.encodeHeader(v)
	n := headerSize + binary.PutUvarint(v[headerSize:], uint64(len(id)))
	idCopy := v[n : n+len(id)]
	n += copy(idCopy, id)
	n += copy(v[n:], r.data)
	if err := m.ids.Put(idCopy, v[:headerSize]); err != nil {
		return fmt.Errorf("record %q: %w", id, err)
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], r.cursor)
	return m.changes.Put(key[:], v[:n])
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixNano()
}

// SaveRecords saves a batch of records, as records.ParseBatch returns them, in one
// transaction. It is an idempotent upsert, so a batch replayed after a crash neither loses
// nor duplicates anything:
//
//   - an unknown id is added;
//   - a known id whose content hash differs is updated: new data, a new cursor,
//     last_modified_at = now;
//   - a known id with the same hash is unchanged, and nothing at all is written for it (its
//     cursor stays);
//   - a deleted id is added again, with deleted_at cleared (first_seen_at stays).
//
// Items are applied in order; give each id once (ParseBatch does). Options mark the writes as
// an action's or a webhook handler's (External), or keep newer such writes (KeepExternalSince).
func (db *DB) SaveRecords(ctx context.Context, s Scope, items []records.Item, now time.Time, opts ...WriteOption) (records.Counts, error) {
	var counts records.Counts
	if err := s.validate(); err != nil || len(items) == 0 {
		return counts, err
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		var err error
		counts, err = saveRecords(tx, s, items, nanos(now), writeOptions(opts))
		return err
	})
	if err != nil {
		return records.Counts{}, fmt.Errorf("save %s batch of %s/%s: %w", s.Model, s.Integration, s.Connection, err)
	}
	db.wroteRecords(batchSize(items), len(items), counts)
	return counts, nil
}

// saveRecords is SaveRecords within tx. It decides the fate of every item first, then calls
// the options' check with the items it will write, then writes: a refused check writes
// nothing. An error leaves tx partly written only if a write fails; the caller rolls it back.
func saveRecords(tx *bolt.Tx, s Scope, items []records.Item, ts int64, o writeOpts) (records.Counts, error) {
	var counts records.Counts
	m, err := openModel(tx, s, true)
	if err != nil {
		return counts, err
	}
	type write struct {
		item      int
		rec       record
		oldCursor uint64
	}
	writes := make([]write, 0, len(items))
	for i, it := range items {
		if it.ID == "" {
			return counts, fmt.Errorf("record %d: empty id", i)
		}
		prev, found, err := m.get([]byte(it.ID))
		if err != nil {
			return counts, err
		}
		if !found {
			writes = append(writes, write{item: i, rec: record{hash: it.Hash, firstSeen: ts, modified: ts, action: codeAdded, external: o.external, data: it.Data}})
			counts.Added++
			continue
		}
		w := write{item: i, oldCursor: prev.cursor,
			rec: record{hash: it.Hash, firstSeen: prev.firstSeen, modified: ts, action: codeUpdated, external: o.external, data: it.Data}}
		switch {
		case o.keeps(&prev):
			counts.Unchanged++
			continue
		case prev.action == codeDeleted:
			w.rec.action = codeAdded
			counts.Added++
		case prev.hash == it.Hash:
			counts.Unchanged++
			continue
		default:
			counts.Updated++
		}
		writes = append(writes, w)
	}
	if o.check != nil && len(writes) > 0 {
		idx := make([]int, len(writes))
		for k, w := range writes {
			idx[k] = w.item
		}
		if err := o.check(idx); err != nil {
			return records.Counts{}, &refusedError{err}
		}
	}
	for k := range writes {
		w := &writes[k]
		if err := m.write([]byte(items[w.item].ID), &w.rec, w.oldCursor); err != nil {
			return counts, err
		}
	}
	return counts, nil
}

// UpdateRecords applies a batch of partial updates in one transaction: each patch (an item
// whose Data is a partial record) is deep-merged into the stored record with records.Merge.
// A merge that changes the content (by canonical hash) updates the record; one that changes
// nothing counts as unchanged and writes nothing. An unknown or deleted id fails the whole
// batch with an error naming it (wrapping ErrNotFound) and nothing is written.
func (db *DB) UpdateRecords(ctx context.Context, s Scope, patches []records.Item, now time.Time, opts ...WriteOption) (records.Counts, error) {
	o := writeOptions(opts)
	var counts records.Counts
	if err := s.validate(); err != nil || len(patches) == 0 {
		return counts, err
	}
	ts := nanos(now)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		counts = records.Counts{} // update may run this twice
		m, err := openModel(tx, s, true)
		if err != nil {
			return err
		}
		for _, p := range patches {
			id := []byte(p.ID)
			prev, found, err := m.get(id)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("record %q: %w", p.ID, ErrNotFound)
			}
			if prev.action == codeDeleted {
				return fmt.Errorf("record %q: deleted: %w", p.ID, ErrNotFound)
			}
			if err := m.load(id, &prev); err != nil {
				return err
			}
			merged, err := records.Merge(prev.data, p.Data)
			if err != nil {
				return fmt.Errorf("record %q: %w", p.ID, err)
			}
			if len(merged) > records.MaxRecordSize {
				return fmt.Errorf("record %q: %d bytes once merged, over the %d-byte limit: %w", p.ID, len(merged), records.MaxRecordSize, ErrTooLarge)
			}
			hash, err := records.ContentHash(merged)
			if err != nil {
				return fmt.Errorf("record %q: %w", p.ID, err)
			}
			if hash == prev.hash {
				counts.Unchanged++
				continue
			}
			if o.keeps(&prev) {
				counts.Unchanged++
				continue
			}
			r := record{hash: hash, firstSeen: prev.firstSeen, modified: ts, action: codeUpdated, external: o.external, data: merged}
			if err := m.write(id, &r, prev.cursor); err != nil {
				return err
			}
			counts.Updated++
		}
		return nil
	})
	if err != nil {
		return records.Counts{}, fmt.Errorf("update %s batch of %s/%s: %w", s.Model, s.Integration, s.Connection, err)
	}
	return counts, nil
}

// DeleteRecords marks records as deleted in one transaction: they keep their data, get
// last_action=deleted, deleted_at=now and a new cursor, so readers after a cursor see the
// deletion. Unknown and already deleted ids are ignored and not counted. Only
// Counts.Deleted is set.
func (db *DB) DeleteRecords(ctx context.Context, s Scope, ids []string, now time.Time) (records.Counts, error) {
	var counts records.Counts
	if err := s.validate(); err != nil || len(ids) == 0 {
		return counts, err
	}
	ts := nanos(now)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		counts = records.Counts{} // update may run this twice
		m, err := openModel(tx, s, false)
		if m == nil || err != nil {
			return err
		}
		for _, id := range ids {
			n, err := m.delete([]byte(id), ts)
			if err != nil {
				return err
			}
			counts.Deleted += n
		}
		return nil
	})
	if err != nil {
		return records.Counts{}, fmt.Errorf("delete %s records of %s/%s: %w", s.Model, s.Integration, s.Connection, err)
	}
	return counts, nil
}

// delete marks the record id as deleted at ts, returning 1 if it was live, else 0.
func (m *model) delete(id []byte, ts int64) (int, error) {
	r, found, err := m.get(id)
	if !found || err != nil || r.action == codeDeleted {
		return 0, err
	}
	if err := m.load(id, &r); err != nil { // a deleted record keeps its data
		return 0, err
	}
	r.action, r.modified, r.deletedAt = codeDeleted, ts, ts
	return 1, m.write(id, &r, r.cursor)
}

// GetRecords returns the live (not deleted) records among ids, in the order asked; ids with
// no live record are skipped.
func (db *DB) GetRecords(ctx context.Context, s Scope, ids []string) ([]records.Record, error) {
	var out []records.Record
	err := db.view(ctx, func(tx *bolt.Tx) error {
		m, err := openModel(tx, s, false)
		if m == nil || err != nil {
			return err
		}
		var buf []byte
		for _, id := range ids {
			r, found, err := m.get([]byte(id))
			if err != nil {
				return err
			}
			if !found || r.action == codeDeleted {
				continue
			}
			if err := m.load([]byte(id), &r); err != nil {
				return err
			}
			out = append(out, r.public([]byte(id), &buf))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %s records of %s/%s: %w", s.Model, s.Integration, s.Connection, err)
	}
	return out, nil
}

// RecordQuery selects the changes ReadRecords returns.
type RecordQuery struct {
	After   uint64           // return changes with cursor > After
	Limit   int              // max records (caller validates; <=0 means 100)
	Actions []records.Action // only records whose last_action is one of these; nil or empty = all
	IDs     []string         // only these ids; nil or empty = all
}

// ReadRecords returns the records of s changed after q.After, in cursor order, each once at
// its latest state (a record changed twice since q.After appears once, at its last change).
// next is the cursor of the last returned record when more matching records follow, and 0
// when nothing is left.
func (db *DB) ReadRecords(ctx context.Context, s Scope, q RecordQuery) (recs []records.Record, next uint64, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var want [codeDeleted + 1]bool
	for _, a := range q.Actions {
		if c, ok := actionCodes[a]; ok {
			want[c] = true
		} else {
			return nil, 0, fmt.Errorf("read %s records: unknown action %q", s, a)
		}
	}
	if len(q.Actions) == 0 {
		want = [codeDeleted + 1]bool{codeAdded: true, codeUpdated: true, codeDeleted: true}
	}
	err = db.view(ctx, func(tx *bolt.Tx) error {
		m, err := openModel(tx, s, false)
		if m == nil || err != nil {
			return err
		}
		var buf []byte
		if len(q.IDs) > 0 {
			recs, next, err = m.readIDs(q, want, limit, &buf)
			return err
		}
		if q.After == ^uint64(0) {
			return nil
		}
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], q.After+1)
		var last uint64
		c := m.changes.Cursor()
		for k, v := c.Seek(key[:]); k != nil; k, v = c.Next() {
			id, r, err := decodeChange(k, v)
			if err != nil {
				return err
			}
			if !want[r.action] {
				continue
			}
			if len(recs) == limit {
				next = last // another match follows
				return nil
			}
			recs = append(recs, r.public(id, &buf))
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read %s records of %s/%s: %w", s.Model, s.Integration, s.Connection, err)
	}
	return recs, next, nil
}

// readIDs is ReadRecords for a list of ids: it looks each up instead of scanning the index.
func (m *model) readIDs(q RecordQuery, want [codeDeleted + 1]bool, limit int, buf *[]byte) ([]records.Record, uint64, error) {
	type hit struct {
		id []byte
		r  record
	}
	var hits []hit
	seen := make(map[string]bool, len(q.IDs))
	for _, id := range q.IDs {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		r, found, err := m.get([]byte(id))
		if err != nil {
			return nil, 0, err
		}
		if found && r.cursor > q.After && want[r.action] {
			hits = append(hits, hit{[]byte(id), r})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmpUint64(a.r.cursor, b.r.cursor) })
	var next uint64
	if len(hits) > limit {
		hits = hits[:limit]
		next = hits[limit-1].r.cursor
	}
	recs := make([]records.Record, len(hits))
	for i := range hits {
		if err := m.load(hits[i].id, &hits[i].r); err != nil {
			return nil, 0, err
		}
		recs[i] = hits[i].r.public(hits[i].id, buf)
	}
	return recs, next, nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CountRecords counts the live and the deleted records of s.
func (db *DB) CountRecords(ctx context.Context, s Scope) (live, deleted int, err error) {
	err = db.view(ctx, func(tx *bolt.Tx) error {
		m, err := openModel(tx, s, false)
		if m == nil || err != nil {
			return err
		}
		live, deleted, err = m.count(nil)
		return err
	})
	return live, deleted, err
}

// count counts live and deleted records, calling live (if not nil) with the id of each live
// record.
func (m *model) count(live func(id, v []byte) error) (nLive, nDeleted int, err error) {
	c := m.ids.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) < headerSize {
			return 0, 0, fmt.Errorf("record %q: corrupt stored value", k)
		}
		if v[offAction]&^flagExternal == codeDeleted {
			nDeleted++
			continue
		}
		nLive++
		if live != nil {
			if err := live(k, v); err != nil {
				return 0, 0, err
			}
		}
	}
	return nLive, nDeleted, nil
}

// MassDeleteError is DeleteMissing refusing to delete more than its share of the records.
type MassDeleteError struct {
	Deleted, Live int
	MaxShare      float64
}

// Error says what the sync would have deleted and how to let it.
func (e *MassDeleteError) Error() string {
	return fmt.Sprintf("full sync would delete %d of %d records (%s), over the %s limit; rerun with force to allow it",
		e.Deleted, e.Live, percent(float64(e.Deleted)/float64(e.Live)), percent(e.MaxShare))
}

// percent renders a share as a percentage with at most one decimal: 0.5 → "50%".
func percent(share float64) string {
	s := strconv.FormatFloat(share*100, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}

// DeleteMissing marks as deleted every live record of the given models of one connection whose
// id is not in seen[model]: what a successful full sync does at its end (a failed one must not
// call it). Before deleting anything it counts, over all the models together, the live
// records and those it would delete; if deleted/live > maxShare (and maxShare < 1), it
// deletes nothing and returns a *MassDeleteError, so a provider glitch that returns an empty
// list cannot wipe the cache. All in one transaction. It returns per-model counts, one per
// model of seen, with only Deleted set.
//
// With KeepExternalSince, records an action or a webhook handler wrote since then are kept:
// the run could not have seen them.
func (db *DB) DeleteMissing(ctx context.Context, integration, connection string, seen map[string]map[string]struct{}, maxShare float64, now time.Time, opts ...WriteOption) (map[string]records.Counts, error) {
	o := writeOptions(opts)
	if err := requireIDs("delete missing: integration and connection", integration, connection); err != nil {
		return nil, err
	}
	out := make(map[string]records.Counts, len(seen))
	ts := nanos(now)
	err := db.update(ctx, func(tx *bolt.Tx) error {
		type doomed struct {
			model string
			m     *model
			ids   [][]byte
		}
		var plan []doomed
		live, total := 0, 0
		for _, name := range slices.Sorted(maps.Keys(seen)) {
			out[name] = records.Counts{}
			s := Scope{integration, connection, name}
			if err := s.validate(); err != nil {
				return err
			}
			m, err := openModel(tx, s, false)
			if err != nil {
				return err
			}
			if m == nil {
				continue
			}
			keep := seen[name]
			var ids [][]byte
			n, _, err := m.count(func(id, v []byte) error {
				if _, ok := keep[string(id)]; ok {
					return nil
				}
				r, err := decodeRecord(id, v)
				if err != nil || o.keeps(&r) {
					return err
				}
				ids = append(ids, bytes.Clone(id))
				return nil
			})
			if err != nil {
				return err
			}
			live += n
			total += len(ids)
			plan = append(plan, doomed{name, m, ids})
		}
		if maxShare < 1 && live > 0 && float64(total)/float64(live) > maxShare {
			return &MassDeleteError{Deleted: total, Live: live, MaxShare: maxShare}
		}
		for _, d := range plan {
			for _, id := range d.ids {
				if _, err := d.m.delete(id, ts); err != nil {
					return err
				}
			}
			out[d.model] = records.Counts{Deleted: len(d.ids)}
		}
		return nil
	})
	if err != nil {
		if mde := (*MassDeleteError)(nil); errors.As(err, &mde) {
			return nil, mde
		}
		return nil, fmt.Errorf("delete missing records of %s/%s: %w", integration, connection, err)
	}
	return out, nil
}

// WriteOption qualifies a write of records.
type WriteOption func(*writeOpts)

type writeOpts struct {
	external          bool
	keepExternalSince int64 // Unix nanoseconds; 0: keep nothing
	check             func(items []int) error
}

// Check has SaveRecords call check with the indexes, in the batch, of the items it is about to
// write (added or changed, not unchanged) before it writes any: an error from check refuses the
// batch and writes nothing. Validating records there skips the ones a sync saves unchanged.
func Check(check func(items []int) error) WriteOption {
	return func(o *writeOpts) { o.check = check }
}

// External marks the written records as an action's or an inbound webhook handler's: the
// provider's newest data, which a sync that started earlier must not overwrite.
func External() WriteOption { return func(o *writeOpts) { o.external = true } }

// KeepExternalSince makes a sync's write leave alone the records an action or a webhook
// handler wrote at or after t (typically the sync run's start): the sync's copy is older. Such
// a record counts as unchanged.
func KeepExternalSince(t time.Time) WriteOption {
	return func(o *writeOpts) { o.keepExternalSince = nanos(t) }
}

func writeOptions(opts []WriteOption) writeOpts {
	var o writeOpts
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// keeps reports whether the options protect the stored record prev from this write.
func (o writeOpts) keeps(prev *record) bool {
	return o.keepExternalSince != 0 && prev.external && prev.modified >= o.keepExternalSince
}

// LastCursor returns the cursor of the latest change in s, 0 if it has none: the position an
// app reads from to get every change made after this moment.
func (db *DB) LastCursor(ctx context.Context, s Scope) (uint64, error) {
	var last uint64
	err := db.view(ctx, func(tx *bolt.Tx) error {
		if b := nested(tx, bucketRecords, s.Integration, s.Connection, s.Model); b != nil {
			last = b.Sequence()
		}
		return nil
	})
	return last, err
}
