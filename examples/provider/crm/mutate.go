package crm

import (
	"cmp"
	"fmt"
	"slices"
)

// maxMutation bounds each count of a Mutation, so one request cannot exhaust memory.
const maxMutation = 1_000_000

// Mutation asks for generated changes to one model: Add new records, Update existing ones
// and Delete existing ones.
type Mutation struct {
	Model  string `json:"model"` // ModelContacts or ModelCompanies
	Add    int    `json:"add"`
	Update int    `json:"update"`
	Delete int    `json:"delete"`
}

// MutationResult lists the ids a mutation changed, each list in id order.
type MutationResult struct {
	Added   []string `json:"added"`
	Updated []string `json:"updated"`
	Deleted []string `json:"deleted"`
}

// Mutate applies m and reports what it changed. The records it picks are deterministic:
// Delete takes the highest ids, Update the lowest ids among the rest, and Add makes new
// ids after the highest id ever used, so ids are never reused. Counts larger than the
// records available are capped. Updated and added content comes from the server's seed, so
// two servers with the same options that receive the same mutations hold the same records,
// apart from the times of the changes.
//
// Each change gets its own time from the clock, so deleted contacts enter the deletion feed
// and updated or added contacts move to the end of the contacts order. Each contact change
// is also a webhook event, in the same order: deletions, updates, additions.
func (s *Server) Mutate(m Mutation) (MutationResult, error) {
	for _, n := range []struct {
		name  string
		count int
	}{{"add", m.Add}, {"update", m.Update}, {"delete", m.Delete}} {
		if n.count < 0 || n.count > maxMutation {
			return MutationResult{}, fmt.Errorf("mutate %s: %w: %q must be from 0 to %d, got %d",
				m.Model, ErrInvalid, n.name, maxMutation, n.count)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Model {
	case ModelContacts:
		return s.mutateContacts(m), nil
	case ModelCompanies:
		return s.mutateCompanies(m), nil
	default:
		return MutationResult{}, fmt.Errorf("mutate: %w: \"model\" must be %q or %q, got %q",
			ErrInvalid, ModelContacts, ModelCompanies, m.Model)
	}
}

// pickIDs takes records sorted by id and returns the upd lowest and the del highest of them,
// capping del at the records available and upd at the records del leaves.
func pickIDs[E any](byID []E, upd, del int) (updated, deleted []E) {
	del = min(del, len(byID))
	upd = min(upd, len(byID)-del)
	return byID[:upd], byID[len(byID)-del:]
}

// mutateContacts applies m to the contacts. The caller holds the write lock.
func (s *Server) mutateContacts(m Mutation) MutationResult {
	byID := slices.Clone(s.contacts)
	slices.SortFunc(byID, func(a, b *contactEntry) int { return cmp.Compare(a.c.ID, b.c.ID) })
	updated, deleted := pickIDs(byID, m.Update, m.Delete)

	res := MutationResult{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	gone := make(map[*contactEntry]bool, len(updated)+len(deleted))
	for _, e := range updated {
		gone[e] = true
	}
	for _, e := range deleted {
		gone[e] = true
	}
	s.removeContacts(gone)

	for _, e := range deleted {
		s.deleted = append(s.deleted, Deletion{ID: e.c.ID, DeletedAt: s.clock.next()})
		s.notifyDeleted(e.c.ID)
		res.Deleted = append(res.Deleted, e.c.ID)
	}
	for _, e := range updated {
		c := cloneContact(e.c)
		s.gen.revise(&c)
		c.UpdatedAt = s.clock.next()
		ne := s.gen.newContactEntry(c)
		s.appendContact(ne)
		s.notifyContact(ne, false)
		res.Updated = append(res.Updated, c.ID)
	}
	for range m.Add {
		s.lastContact++
		var companyID, domain string
		if len(s.companies) > 0 {
			co := s.companies[s.gen.rng.IntN(len(s.companies))].c
			companyID, domain = co.ID, co.Domain
		}
		now := s.clock.next()
		c := s.gen.contact(s.lastContact, companyID, domain, now, now)
		e := s.gen.newContactEntry(c)
		s.appendContact(e)
		s.notifyContact(e, true)
		res.Added = append(res.Added, c.ID)
	}
	return res
}

// mutateCompanies applies m to the companies. The caller holds the write lock.
func (s *Server) mutateCompanies(m Mutation) MutationResult {
	updated, deleted := pickIDs(slices.Clone(s.companies), m.Update, m.Delete)

	res := MutationResult{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	for _, e := range deleted {
		s.removeCompany(e)
		res.Deleted = append(res.Deleted, e.c.ID)
	}
	for _, e := range updated {
		c := e.c
		c.Industry = s.gen.pick(industries)
		c.Employees = 5 + s.gen.rng.IntN(20000)
		c.UpdatedAt = s.clock.next()
		s.storeCompany(newCompanyEntry(c))
		res.Updated = append(res.Updated, c.ID)
	}
	for range m.Add {
		s.lastCompany++
		c := s.gen.company(s.lastCompany, s.clock.next())
		s.storeCompany(newCompanyEntry(c))
		res.Added = append(res.Added, c.ID)
	}
	return res
}
