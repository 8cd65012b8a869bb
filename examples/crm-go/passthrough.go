package main

import (
	"fmt"
	"net/url"
	"time"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// passthroughCheckpoint is where the passthrough contacts sync stands between runs.
type passthroughCheckpoint struct {
	// Since is the updated_after filter of the listing in progress.
	Since string `json:"since,omitempty"`
	// Cursor is the provider's cursor for the listing's next page; "" when none is in
	// progress.
	Cursor string `json:"cursor,omitempty"`
}

// syncContactsPassthrough is the contacts sync on the passthrough fast path: the host saves
// each page's contacts as the provider sends them, and only the next cursor comes back into
// the plugin, so standard Go's WebAssembly speed does not limit it. It sees no contact, so it
// cannot take the newest updated_at as its next filter as syncContacts does: it asks for the
// changes since the start of the last successful run instead, which relies on the provider's
// clock agreeing with Ferry's.
func syncContactsPassthrough(s *ferry.Sync) error {
	var cp passthroughCheckpoint
	if _, err := s.Checkpoint(&cp); err != nil {
		return err
	}
	if cp.Cursor == "" { // a new listing
		last, ok, err := s.LastSyncTime()
		if err != nil {
			return err
		}
		cp.Since = ""
		if ok {
			cp.Since = last.UTC().Format(time.RFC3339Nano)
		}
	}
	query := url.Values{"limit": {fmt.Sprint(contactsPageSize)}}
	if cp.Since != "" {
		query.Set("updated_after", cp.Since)
	}
	var total ferry.SaveResult
	for pages := 1; ; pages++ {
		if cp.Cursor != "" {
			query.Set("cursor", cp.Cursor)
		}
		page, err := s.HTTP.SaveFrom(ferry.Request{Path: "/contacts", Query: query}, "Contact",
			ferry.Passthrough{Items: "data", Values: []string{"next_cursor"}})
		if err != nil {
			return err
		}
		if err := page.Value("next_cursor", &cp.Cursor); err != nil {
			return fmt.Errorf("next_cursor of page %d: %w", pages, err)
		}
		// After the page, never before: a crash in between saves the page again, harmlessly.
		if err := s.SaveCheckpoint(cp); err != nil {
			return err
		}
		total.Added += page.Saved.Added
		total.Updated += page.Saved.Updated
		total.Unchanged += page.Saved.Unchanged
		if cp.Cursor == "" {
			s.Log.Infof("contacts passed through: %d pages, %d added, %d updated, %d unchanged",
				pages, total.Added, total.Updated, total.Unchanged)
			break
		}
	}
	if cp.Since != "" { // on the first run nothing is cached that could have been deleted
		deleted, err := deleteContacts(s, cp.Since)
		if err != nil {
			return err
		}
		s.Log.Infof("contacts deleted since %s: %d", cp.Since, deleted)
	}
	return s.SaveCheckpoint(passthroughCheckpoint{})
}
