package main

import (
	"net/url"
	"time"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// Company is an organisation contacts belong to.
type Company struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Domain    string    `json:"domain"`
	Industry  string    `json:"industry"`
	Employees int       `json:"employees"`
	UpdatedAt time.Time `json:"updated_at"`
}

// syncCompanies is a full sync: it saves every company, following the Link header from page
// to page. The provider has no deletion feed for companies; the host marks the companies this
// run did not save deleted once it succeeds.
func syncCompanies(s *ferry.Sync) error {
	pages := s.HTTP.Paginate(
		ferry.Request{Path: "/companies", Query: url.Values{"per_page": {"100"}}},
		ferry.LinkPagination{ItemsPath: "data"},
	)
	var total ferry.SaveResult
	n, count := 0, 0
	for pages.Next() {
		var companies []Company
		if err := pages.Decode(&companies); err != nil {
			return err
		}
		res, err := s.Save("Company", companies)
		if err != nil {
			return err
		}
		n++
		count += len(companies)
		total.Added += res.Added
		total.Updated += res.Updated
		total.Unchanged += res.Unchanged
		s.Log.Debugf("companies page %d: %d companies: %d added, %d updated, %d unchanged",
			n, len(companies), res.Added, res.Updated, res.Unchanged)
	}
	if err := pages.Err(); err != nil {
		return err
	}
	s.Log.Infof("companies synced: %d pages, %d companies: %d added, %d updated, %d unchanged",
		n, count, total.Added, total.Updated, total.Unchanged)
	return nil
}
