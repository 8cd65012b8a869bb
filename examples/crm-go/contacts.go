package main

import (
	"fmt"
	"net/url"
	"time"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// Contact is a person at a company, as the provider serves it and as the cache keeps it.
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

// contactsCheckpoint is where the contacts sync stands between runs.
type contactsCheckpoint struct {
	// UpdatedAfter is the updated_after filter: of the listing in progress while Cursor is
	// set, of the next run's listing once it is "". Empty before the first complete run.
	UpdatedAfter string `json:"updated_after"`
	// Cursor is the provider's cursor for the next page of the listing in progress; "" when
	// no listing is in progress.
	Cursor string `json:"cursor"`
	// MaxUpdatedAt is the newest updated_at saved by the listing in progress. It is kept
	// apart from UpdatedAfter because the cursor belongs to the listing's own filter.
	MaxUpdatedAt string `json:"max_updated_at,omitempty"`
}

// contactsPageSize is the provider's largest page.
const contactsPageSize = 1000

// syncContacts is an incremental sync: it fetches the contacts changed since the last run,
// saving and checkpointing every page so that a run that dies resumes at the page it was on,
// then applies the provider's deletion feed. Each page is queued for saving, so the host saves
// it while the sync fetches and decodes the next one.
func syncContacts(s *ferry.Sync) error {
	var cp contactsCheckpoint
	if _, err := s.Checkpoint(&cp); err != nil {
		return err
	}
	since := cp.UpdatedAfter // the filter of this listing, and where the deletion feed starts
	maxUpdated, err := parseTime(cp.MaxUpdatedAt)
	if err != nil {
		return fmt.Errorf("checkpoint max_updated_at: %w", err)
	}
	if prev, err := parseTime(since); err != nil {
		return fmt.Errorf("checkpoint updated_after: %w", err)
	} else if prev.After(maxUpdated) {
		maxUpdated = prev
	}
	if cp.Cursor != "" {
		s.Log.Infof("resuming the contacts listing updated after %q at cursor %s", since, cp.Cursor)
	}

	query := url.Values{"limit": {fmt.Sprint(contactsPageSize)}}
	if since != "" {
		query.Set("updated_after", since)
	}
	pages := s.HTTP.Paginate(ferry.Request{Path: "/contacts", Query: query}, ferry.CursorPagination{
		ItemsPath:   "data",
		CursorPath:  "next_cursor",
		CursorParam: "cursor",
		Start:       cp.Cursor,
	})
	n := 0
	for pages.Next() {
		var contacts []Contact
		if err := pages.Decode(&contacts); err != nil {
			return err
		}
		// Queued: the host saves the page while the loop fetches the next one. A page the
		// host refuses is reported by a later call (a later QueueSave, or Flush below).
		if err := s.QueueSave("Contact", contacts); err != nil {
			return err
		}
		for _, c := range contacts {
			if c.UpdatedAt.After(maxUpdated) {
				maxUpdated = c.UpdatedAt
			}
		}
		// After the batch, never before: the checkpoint is queued behind the page and written
		// only once the page is saved (dropped if the page is refused), so a crash in between
		// replays the page, harmlessly.
		err := s.SaveCheckpoint(contactsCheckpoint{
			UpdatedAfter: since,
			Cursor:       pages.Cursor(),
			MaxUpdatedAt: formatTime(maxUpdated),
		})
		if err != nil {
			return err
		}
		n++
		s.Log.Debugf("contacts page %d: %d contacts", n, len(contacts))
	}
	if err := pages.Err(); err != nil {
		return err
	}
	// Wait for the last queued page: the counts of every page, or the failure of one.
	total, err := s.Flush()
	if err != nil {
		return err
	}

	deleted := 0
	if since != "" { // on the first run nothing is cached that could have been deleted
		if deleted, err = deleteContacts(s, since); err != nil {
			return err
		}
	}

	final := contactsCheckpoint{UpdatedAfter: formatTime(maxUpdated)}
	if err := s.SaveCheckpoint(final); err != nil {
		return err
	}
	s.Log.Infof("contacts synced: %d pages, %d added, %d updated, %d unchanged, %d deleted; next run fetches changes after %s",
		n, total.Added, total.Updated, total.Unchanged, deleted, orNone(final.UpdatedAfter))
	return nil
}

// deleteContacts applies the provider's deletion feed since the given time and returns how
// many cached contacts it deleted.
func deleteContacts(s *ferry.Sync, since string) (int, error) {
	var feed struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := s.HTTP.GetJSON("/contacts/deleted", url.Values{"since": {since}}, &feed); err != nil {
		return 0, err
	}
	ids := make([]string, len(feed.Data))
	for i, d := range feed.Data {
		ids[i] = d.ID
	}
	return s.Delete("Contact", ids...)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
