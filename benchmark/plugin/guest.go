package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// Contact is examples/crm-go's Contact: the same fields, types and tags, so that decoding and
// encoding it costs what it costs there.
type Contact struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Title     string    `json:"title"`
	CompanyID string    `json:"company_id"`
	Tags      []string  `json:"tags"`
	Address   Address   `json:"address"`
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Address is a contact's postal address.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

// guestOnly times what the Go example does with each page of contacts, decoding it into
// structs and encoding them again, with no host call in between: the ceiling that standard
// Go's WebAssembly code sets on a Go plugin. It logs {"guest_records_per_s": N}.
//
//go:wasmexport guest_only
//lint:ignore U1000 exported to the host
func guestOnly() int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		var md struct {
			Pages int `json:"pages"`
		}
		if err := s.Metadata(&md); err != nil {
			return err
		}
		page, err := json.Marshal(samplePage(1000))
		if err != nil {
			return err
		}
		start := time.Now()
		n := 0
		for range max(md.Pages, 1) {
			var contacts []Contact
			if err := json.Unmarshal(page, &contacts); err != nil {
				return err
			}
			if _, err := json.Marshal(contacts); err != nil {
				return err
			}
			n += len(contacts)
		}
		out, _ := json.Marshal(map[string]int64{"guest_records_per_s": int64(float64(n) / time.Since(start).Seconds())})
		s.Log.Infof("%s", out)
		return nil
	})
}

// samplePage makes n contacts of about 1 KB of JSON each, like the example provider's.
func samplePage(n int) []Contact {
	t := time.Date(2024, 2, 10, 8, 1, 2, 123456000, time.UTC)
	out := make([]Contact, n)
	for i := range out {
		out[i] = Contact{
			ID: fmt.Sprintf("c-%06d", i), FirstName: "Ada", LastName: "Lovelace",
			Email: fmt.Sprintf("ada.lovelace.%d@harboratlas.example", i), Phone: "+1-555-123-4567",
			Title: "CTO", CompanyID: "co-0001", Tags: []string{"lead", "vip"},
			Address:   Address{Street: "12 Mill Lane", City: "Lyon", Country: "France"},
			Notes:     strings.Repeat("lorem ipsum dolor sit amet ", 26),
			CreatedAt: t, UpdatedAt: t.Add(time.Duration(i) * time.Second),
		}
	}
	return out
}
