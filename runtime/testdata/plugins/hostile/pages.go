package main

import (
	"net/url"
	"strconv"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// A steady stream of requests for the rate limit's test: syncs pages_a and pages_b page
// through GET /pages?model=M&page=N, a request a page, until a page has no "next".

// page is one page of the test provider's answer.
type page struct {
	Items []map[string]any `json:"items"`
	Next  *int             `json:"next"`
}

// pages saves every page of model.
func pages(model string) int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		for n := 0; ; {
			var p page
			q := url.Values{"model": {model}, "page": {strconv.Itoa(n)}}
			if err := s.HTTP.GetJSON("/pages", q, &p); err != nil {
				return err
			}
			if _, err := s.Save(model, p.Items); err != nil {
				return err
			}
			if p.Next == nil {
				return nil
			}
			n = *p.Next
		}
	})
}

//go:wasmexport pages_a
//lint:ignore U1000 exported to the host
func pagesA() int32 { return pages("A") }

//go:wasmexport pages_b
//lint:ignore U1000 exported to the host
func pagesB() int32 { return pages("B") }
