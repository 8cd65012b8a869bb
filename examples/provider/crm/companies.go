package crm

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Companies returns a copy of every company, ordered by id: the order the companies endpoint
// pages through.
func (s *Server) Companies() []Company {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Company, len(s.companies))
	for i, e := range s.companies {
		out[i] = e.c
	}
	return out
}

// PutCompany creates or replaces the company with c.ID and returns it as stored, with
// updated_at set by the server. created reports whether the company is new.
func (s *Server) PutCompany(c Company) (stored Company, created bool, err error) {
	if c.ID == "" {
		return Company{}, false, fmt.Errorf("put company: %w: \"id\" must not be empty", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.UpdatedAt = s.clock.next()
	b, err := json.Marshal(c)
	if err != nil {
		return Company{}, false, fmt.Errorf("put company %q: %w", c.ID, err)
	}
	_, exists := s.companyByID[c.ID]
	s.storeCompany(&companyEntry{c: c, json: b})
	return c, !exists, nil
}

// DeleteCompany deletes the company with the given id. Companies have no deletion feed: a
// deleted company simply disappears from the pages. Contacts keep their company_id. It
// returns an error wrapping ErrNotFound when there is no such company.
func (s *Server) DeleteCompany(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.companyByID[id]
	if !ok {
		return fmt.Errorf("delete company %q: %w", id, ErrNotFound)
	}
	s.removeCompany(e)
	return nil
}

// storeCompany inserts e in id order, replacing the company with the same id if there is
// one. The caller holds the write lock.
func (s *Server) storeCompany(e *companyEntry) {
	i, found := slices.BinarySearchFunc(s.companies, e, compareCompanies)
	if found {
		s.companies[i] = e
	} else {
		s.companies = slices.Insert(s.companies, i, e)
	}
	s.companyByID[e.c.ID] = e
	if n := idNumber(e.c.ID, "co-"); n > s.lastCompany {
		s.lastCompany = n
	}
}

// removeCompany takes e out of the order and the index. The caller holds the write lock.
func (s *Server) removeCompany(e *companyEntry) {
	if i, found := slices.BinarySearchFunc(s.companies, e, compareCompanies); found {
		s.companies = slices.Delete(s.companies, i, i+1)
	}
	delete(s.companyByID, e.c.ID)
}

// appendCompaniesPage appends the JSON of page page (from 1) of perPage companies to dst and
// reports whether a later page exists. A page past the last one is empty.
func (s *Server) appendCompaniesPage(dst []byte, page, perPage int) (_ []byte, hasNext bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	total := len(s.companies)
	totalPages := (total + perPage - 1) / perPage
	start := total
	if page-1 <= total/perPage { // else (page-1)*perPage is past the end, or would overflow
		start = min((page-1)*perPage, total)
	}
	end := min(start+perPage, total)

	dst = append(dst, `{"data":[`...)
	for i, e := range s.companies[start:end] {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.json...)
	}
	dst = append(dst, `],"page":`...)
	dst = strconv.AppendInt(dst, int64(page), 10)
	dst = append(dst, `,"per_page":`...)
	dst = strconv.AppendInt(dst, int64(perPage), 10)
	dst = append(dst, `,"total_pages":`...)
	dst = strconv.AppendInt(dst, int64(totalPages), 10)
	return append(dst, '}'), page < totalPages
}
