package crm

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Contacts returns a copy of every contact, ordered by (updated_at, id): the order the
// contacts endpoint pages through.
func (s *Server) Contacts() []Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Contact, len(s.contacts))
	for i, e := range s.contacts {
		out[i] = cloneContact(e.c)
	}
	return out
}

// DeletedContacts returns the deletion feed: the contacts deleted after since (all of them
// when since is the zero time), oldest first. A contact that is created again leaves the feed.
func (s *Server) DeletedContacts(since time.Time) []Deletion {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := 0
	if !since.IsZero() {
		i = sort.Search(len(s.deleted), func(i int) bool { return s.deleted[i].DeletedAt.After(since) })
	}
	return append([]Deletion{}, s.deleted[i:]...) // never nil: the feed encodes as [], not null
}

// PutContact creates or replaces the contact with c.ID and returns it as stored. It is an
// idempotent upsert of content: the server sets updated_at (so every put is a change that
// "updated after" filters see), keeps created_at of an existing contact when c leaves it zero,
// and stores nil tags as an empty list. created reports whether the contact is new.
func (s *Server) PutContact(c Contact) (stored Contact, created bool, err error) {
	if c.ID == "" {
		return Contact{}, false, fmt.Errorf("put contact: %w: \"id\" must not be empty", ErrInvalid)
	}
	c = cloneContact(c)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.next()
	old, exists := s.contactByID[c.ID]
	switch {
	case !c.CreatedAt.IsZero():
		c.CreatedAt = c.CreatedAt.UTC()
	case exists:
		c.CreatedAt = old.c.CreatedAt
	default:
		c.CreatedAt = now
	}
	c.UpdatedAt = now
	b, err := json.Marshal(c)
	if err != nil {
		return Contact{}, false, fmt.Errorf("put contact %q: %w", c.ID, err)
	}
	if exists {
		s.removeContact(old)
	} else {
		// A contact created again leaves the deletion feed, so a client that reads the feed
		// after the contacts does not delete it again.
		s.deleted = slices.DeleteFunc(s.deleted, func(d Deletion) bool { return d.ID == c.ID })
	}
	e := &contactEntry{c: c, key: now.UnixNano(), json: b}
	s.appendContact(e)
	s.notifyContact(e, !exists)
	return cloneContact(c), !exists, nil
}

// NewContact is a contact to create with [Server.CreateContact] (the body of POST /contacts):
// every field but those the server sets (id, created_at, updated_at).
type NewContact struct {
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Email     string   `json:"email"` // required
	Phone     string   `json:"phone"`
	Title     string   `json:"title"`
	CompanyID string   `json:"company_id"`
	Tags      []string `json:"tags"`
	Address   Address  `json:"address"`
	Notes     string   `json:"notes"`
}

// CreateContact creates a contact from n with a new id (after the highest contact id ever
// used; ids are never reused) and created_at and updated_at set to now, and returns it as
// stored. The email is required; nil tags are stored as an empty list. It returns an error
// wrapping ErrInvalid when the email is empty.
func (s *Server) CreateContact(n NewContact) (Contact, error) {
	if strings.TrimSpace(n.Email) == "" {
		return Contact{}, fmt.Errorf("create contact: %w: \"email\" is required", ErrInvalid)
	}
	c := Contact{
		FirstName: n.FirstName, LastName: n.LastName, Email: n.Email, Phone: n.Phone, Title: n.Title,
		CompanyID: n.CompanyID, Tags: slices.Clone(n.Tags), Address: n.Address, Notes: n.Notes,
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ID = contactID(s.lastContact + 1)
	now := s.clock.next()
	c.CreatedAt, c.UpdatedAt = now, now
	b, err := json.Marshal(c)
	if err != nil {
		return Contact{}, fmt.Errorf("create contact %q: %w", c.ID, err)
	}
	e := &contactEntry{c: c, key: now.UnixNano(), json: b}
	s.appendContact(e) // moves lastContact to the new id
	s.notifyContact(e, true)
	return cloneContact(c), nil
}

// ContactPatch is a change to a contact for [Server.PatchContact] (the body of
// PATCH /contacts/{id}): a field that is nil (left out of the JSON, or null) keeps its value.
type ContactPatch struct {
	FirstName *string       `json:"first_name,omitempty"`
	LastName  *string       `json:"last_name,omitempty"`
	Email     *string       `json:"email,omitempty"`
	Phone     *string       `json:"phone,omitempty"`
	Title     *string       `json:"title,omitempty"`
	CompanyID *string       `json:"company_id,omitempty"`
	Tags      *[]string     `json:"tags,omitempty"`
	Address   *AddressPatch `json:"address,omitempty"`
	Notes     *string       `json:"notes,omitempty"`
}

// AddressPatch changes some fields of an address; nil fields keep their value.
type AddressPatch struct {
	Street  *string `json:"street,omitempty"`
	City    *string `json:"city,omitempty"`
	Country *string `json:"country,omitempty"`
}

// PatchContact merges p into the contact with the given id and returns it as stored, with a
// new updated_at: every patch is a change, even one that sets the values the contact had. It
// returns an error wrapping ErrNotFound when there is no such contact, and one wrapping
// ErrInvalid when p would empty the email.
func (s *Server) PatchContact(id string, p ContactPatch) (Contact, error) {
	if p.Email != nil && strings.TrimSpace(*p.Email) == "" {
		return Contact{}, fmt.Errorf("patch contact %q: %w: \"email\" must not be empty", id, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.contactByID[id]
	if !ok {
		return Contact{}, fmt.Errorf("patch contact %q: %w", id, ErrNotFound)
	}
	c := cloneContact(old.c)
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.FirstName, p.FirstName)
	set(&c.LastName, p.LastName)
	set(&c.Email, p.Email)
	set(&c.Phone, p.Phone)
	set(&c.Title, p.Title)
	set(&c.CompanyID, p.CompanyID)
	set(&c.Notes, p.Notes)
	if p.Tags != nil {
		c.Tags = slices.Clone(*p.Tags)
		if c.Tags == nil {
			c.Tags = []string{}
		}
	}
	if a := p.Address; a != nil {
		set(&c.Address.Street, a.Street)
		set(&c.Address.City, a.City)
		set(&c.Address.Country, a.Country)
	}
	now := s.clock.next()
	c.UpdatedAt = now
	b, err := json.Marshal(c)
	if err != nil {
		return Contact{}, fmt.Errorf("patch contact %q: %w", id, err)
	}
	s.removeContact(old)
	e := &contactEntry{c: c, key: now.UnixNano(), json: b}
	s.appendContact(e)
	s.notifyContact(e, false)
	return cloneContact(c), nil
}

// DeleteContact deletes the contact with the given id and adds it to the deletion feed.
// It returns an error wrapping ErrNotFound when there is no such contact.
func (s *Server) DeleteContact(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.contactByID[id]
	if !ok {
		return fmt.Errorf("delete contact %q: %w", id, ErrNotFound)
	}
	s.removeContact(e)
	s.deleted = append(s.deleted, Deletion{ID: id, DeletedAt: s.clock.next()})
	s.notifyDeleted(id)
	return nil
}

// appendContact stores e, whose update time must be after every stored contact's (it comes
// from the clock), so appending keeps the order. The caller holds the write lock.
func (s *Server) appendContact(e *contactEntry) {
	s.contacts = append(s.contacts, e)
	s.contactByID[e.c.ID] = e
	if n := idNumber(e.c.ID, "c-"); n > s.lastContact {
		s.lastContact = n
	}
}

// removeContact takes e out of the order and the index. The caller holds the write lock.
func (s *Server) removeContact(e *contactEntry) {
	if i, found := slices.BinarySearchFunc(s.contacts, e, compareContacts); found {
		s.contacts = slices.Delete(s.contacts, i, i+1)
	}
	delete(s.contactByID, e.c.ID)
}

// removeContacts takes the given entries out of the order and the index in one pass over
// the contacts, however many there are. The caller holds the write lock.
func (s *Server) removeContacts(gone map[*contactEntry]bool) {
	s.contacts = slices.DeleteFunc(s.contacts, func(e *contactEntry) bool { return gone[e] })
	for e := range gone {
		delete(s.contactByID, e.c.ID)
	}
}

// contactPosition is a place in the order of contacts: just after the contact with update
// time key (Unix nanoseconds) and id. beforeAllContacts is before every contact.
type contactPosition struct {
	key int64
	id  string
}

var beforeAllContacts = contactPosition{key: math.MinInt64}

// appendContactsPage appends the JSON of one page of the contacts endpoint to dst: at most
// limit contacts after position after whose update time is after updatedAfter (Unix
// nanoseconds) and, when email is not "", whose email is exactly email; and the cursor of the
// next page, "" when this page is the last.
//
// The page is built by concatenating the contacts' cached JSON under the read lock, and
// nothing is written to the network while the lock is held. Without an email it is a binary
// search; with one, a scan from there (a provider would keep an index; this one has no need).
func (s *Server) appendContactsPage(dst []byte, after contactPosition, updatedAfter int64, limit int, email string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	all := s.contacts
	start := sort.Search(len(all), func(i int) bool {
		e := all[i]
		return e.key > after.key || e.key == after.key && e.c.ID > after.id
	})
	if i := sort.Search(len(all), func(i int) bool { return all[i].key > updatedAfter }); i > start {
		start = i
	}
	var page []*contactEntry
	more := false // whether a contact is left for a next page
	if email == "" {
		end := min(start+limit, len(all))
		page, more = all[start:end], end < len(all)
	} else {
		for _, e := range all[start:] {
			if e.c.Email != email {
				continue
			}
			if len(page) == limit {
				more = true
				break
			}
			page = append(page, e)
		}
	}

	var next string
	if more {
		last := page[len(page)-1]
		next = encodeCursor(contactPosition{key: last.key, id: last.c.ID})
	}
	size := len(`{"data":[],"next_cursor":""}`) + len(next) + len(page)
	for _, e := range page {
		size += len(e.json)
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"data":[`...)
	for i, e := range page {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.json...)
	}
	dst = append(dst, `],"next_cursor":`...)
	dst = strconv.AppendQuote(dst, next) // base64url: nothing to escape
	return append(dst, '}')
}

func cloneContact(c Contact) Contact {
	c.Tags = slices.Clone(c.Tags)
	return c
}
