package crm

import (
	"errors"
	"time"
)

// Model names, as POST /admin/mutate takes them in its "model" field.
const (
	ModelContacts  = "contacts"
	ModelCompanies = "companies"
)

var (
	// ErrNotFound is returned when a record with the given id does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is returned when a request or a record is malformed; the HTTP API answers
	// it with 400.
	ErrInvalid = errors.New("invalid")
)

// Contact is a person at a company, the provider's main, cursor-paged model.
type Contact struct {
	ID        string   `json:"id"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Email     string   `json:"email"`
	Phone     string   `json:"phone"`
	Title     string   `json:"title"`
	CompanyID string   `json:"company_id"`
	Tags      []string `json:"tags"`
	Address   Address  `json:"address"`
	// Notes is free text; generated contacts pad it so that their JSON is about 1 KB, the
	// size of a typical CRM record.
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is set by the server on every change, from a clock that never repeats or
	// goes back, so "updated after T" misses and repeats nothing.
	UpdatedAt time.Time `json:"updated_at"`
}

// Address is a contact's postal address.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

// Company is an organisation contacts belong to, the provider's page-numbered model.
type Company struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Domain    string    `json:"domain"`
	Industry  string    `json:"industry"`
	Employees int       `json:"employees"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Deletion is one entry of the contacts' deletion feed.
type Deletion struct {
	ID        string    `json:"id"`
	DeletedAt time.Time `json:"deleted_at"`
}

// clock hands out the times of changes. Every time is strictly after the previous one
// (max(now, last+1µs)), so two changes never share a time and a filter "after T" sees each
// change exactly once. Times are in UTC and whole microseconds, so they survive a round trip
// through RFC 3339 text unchanged. The caller serialises access.
type clock struct {
	now  func() time.Time
	last time.Time
}

func (c *clock) next() time.Time {
	t := c.now().UTC().Truncate(time.Microsecond)
	if !t.After(c.last) {
		t = c.last.Add(time.Microsecond)
	}
	c.last = t
	return t
}

// observe moves the clock past t, so later changes come after data that already exists.
func (c *clock) observe(t time.Time) {
	if t.After(c.last) {
		c.last = t
	}
}
