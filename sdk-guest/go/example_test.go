package ferry_test

import (
	"errors"
	"net/url"
	"time"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

type Contact struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	UpdatedAt time.Time `json:"updated_at"`
}

// An incremental sync: resume from the checkpoint, save a page at a time, and checkpoint after
// each page. In a plugin the function is called from an export:
//
//	//go:wasmexport sync_contacts
//	func syncContacts() int32 { return ferry.RunSync(syncContactsImpl) }
func ExampleRunSync() {
	syncContacts := func(s *ferry.Sync) error {
		var cp struct {
			Cursor string `json:"cursor"`
		}
		if _, err := s.Checkpoint(&cp); err != nil {
			return err
		}
		p := s.HTTP.Paginate(
			ferry.Request{Path: "/contacts", Query: url.Values{"limit": {"100"}}},
			ferry.CursorPagination{ItemsPath: "data", CursorPath: "next_cursor", CursorParam: "cursor", Start: cp.Cursor},
		)
		for p.Next() {
			var contacts []Contact
			if err := p.Decode(&contacts); err != nil {
				return err
			}
			res, err := s.Save("Contact", contacts)
			if err != nil {
				return err
			}
			s.Log.Debugf("page: %d added, %d updated", res.Added, res.Updated)
			cp.Cursor = p.Cursor()
			if err := s.SaveCheckpoint(cp); err != nil { // after the batch it covers
				return err
			}
		}
		return p.Err()
	}
	_ = ferry.RunSync(syncContacts)
}

// An action: read the input, write to the provider, save the record it wrote so the cache is
// current before the next sync, and return the output.
func ExampleRunAction() {
	createContact := func(a *ferry.Action) error {
		var in struct {
			Email string `json:"email"`
		}
		if err := a.Input(&in); err != nil {
			return err
		}
		var created Contact
		if err := a.HTTP.SendJSON("POST", "/contacts", in, &created); err != nil {
			return err
		}
		if _, err := a.Save("Contact", []Contact{created}); err != nil {
			return err
		}
		return a.Output(map[string]string{"id": created.ID})
	}
	_ = ferry.RunAction(createContact)
}

// A full sync over a listing paged by the Link header; the host marks the records this run
// did not save deleted. SaveRaw stores each page's items as the provider sent them.
func ExampleLinkPagination() {
	_ = ferry.RunSync(func(s *ferry.Sync) error {
		p := s.HTTP.Paginate(
			ferry.Request{Path: "/companies", Query: url.Values{"per_page": {"100"}}},
			ferry.LinkPagination{ItemsPath: "data"},
		)
		for p.Next() {
			if _, err := s.SaveRaw("Company", p.Raw()); err != nil {
				return err
			}
		}
		return p.Err()
	})
}

// Page numbers with a total in the body: /tickets?page=1&per_page=50 answers
// {"tickets":[...],"total_pages":7}.
func ExamplePagePagination() {
	_ = ferry.RunSync(func(s *ferry.Sync) error {
		p := s.HTTP.Paginate(ferry.Request{Path: "/tickets"}, ferry.PagePagination{
			ItemsPath:      "tickets",
			LimitParam:     "per_page",
			Limit:          50,
			TotalPagesPath: "total_pages",
		})
		for p.Next() {
			if _, err := s.SaveRaw("Ticket", p.Raw()); err != nil {
				return err
			}
		}
		return p.Err()
	})
}

// An incremental sync that asks only for what changed since its last successful run, and
// deletes what the provider reports deleted.
func ExampleSync_LastSyncTime() {
	_ = ferry.RunSync(func(s *ferry.Sync) error {
		since, ok, err := s.LastSyncTime()
		if err != nil || !ok {
			return err // first run: a full fetch would go here
		}
		var deleted struct {
			IDs []string `json:"ids"`
		}
		q := url.Values{"since": {since.Format(time.RFC3339)}}
		if err := s.HTTP.GetJSON("/contacts/deleted", q, &deleted); err != nil {
			return err
		}
		_, err = s.Delete("Contact", deleted.IDs...)
		return err
	})
}

// Acting on a status: a 404 from the provider means the record is already gone.
func ExampleHTTPError() {
	_ = ferry.RunAction(func(a *ferry.Action) error {
		err := a.HTTP.SendJSON("DELETE", "/contacts/c-000042", nil, nil)
		var httpErr *ferry.HTTPError
		if errors.As(err, &httpErr) && httpErr.Status == 404 {
			err = nil
		}
		if err != nil {
			return err
		}
		_, err = a.Delete("Contact", "c-000042")
		return err
	})
}

// Metadata is the connection's settings, set by the app; a plugin may also store state in it.
func ExampleHost_Metadata() {
	_ = ferry.RunSync(func(s *ferry.Sync) error {
		var md struct {
			Folders []string `json:"folders"`
		}
		if err := s.Metadata(&md); err != nil {
			return err
		}
		for _, folder := range md.Folders {
			resp, err := s.HTTP.Get("/folders/"+url.PathEscape(folder)+"/files", nil)
			if err != nil {
				return err
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if _, err := s.SaveRaw("File", resp.Body); err != nil {
				return err
			}
			s.Log.Infof("folder %s synced", folder)
		}
		return nil
	})
}

// A push action: the app names its own record, the data link finds the provider's, and the
// provider's answer is saved so the cache is current before the next sync.
func ExampleLinks() {
	_ = ferry.RunAction(func(a *ferry.Action) error {
		var in struct {
			AppID string `json:"app_id"`
			Email string `json:"email"`
		}
		if err := a.Input(&in); err != nil {
			return err
		}
		link, ok, err := a.Links.ByAppID("Contact", in.AppID)
		if err != nil {
			return err
		}
		var c Contact
		if ok { // linked: update the provider's record
			err = a.HTTP.SendJSON("PATCH", "/contacts/"+url.PathEscape(link.ExternalID), map[string]string{"email": in.Email}, &c)
		} else { // not yet: create it and remember the pair
			err = a.HTTP.SendJSON("POST", "/contacts", map[string]string{"email": in.Email}, &c)
			if err == nil {
				err = a.Links.Put("Contact", ferry.Link{AppID: in.AppID, ExternalID: c.ID})
			}
		}
		if err != nil {
			return err
		}
		if _, err := a.Save("Contact", []Contact{c}); err != nil {
			return err
		}
		return a.Output(map[string]string{"id": c.ID})
	})
}

// An inbound webhook handler: the provider tells Ferry what changed, and the handler brings
// the cache up to date at once. The host checked the provider's signature before the call.
//
//	//go:wasmexport on_webhook
//	func onWebhook() int32 { return ferry.RunWebhook(onWebhookImpl) }
func ExampleRunWebhook() {
	_ = ferry.RunWebhook(func(w *ferry.Webhook) error {
		req, err := w.Request()
		if err != nil {
			return err
		}
		var event struct {
			Type    string  `json:"type"`
			Contact Contact `json:"contact"`
			ID      string  `json:"id"`
		}
		if err := req.JSON(&event); err != nil {
			return err
		}
		switch event.Type {
		case "contact.created", "contact.updated":
			_, err = w.Save("Contact", []Contact{event.Contact})
		case "contact.deleted":
			_, err = w.Delete("Contact", event.ID)
		default:
			w.Log.Warnf("ignored a %q event", event.Type)
		}
		return err
	})
}

// An action that wrote in bulk asks for a sync instead of saving every record itself.
func ExampleHost_TriggerSync() {
	_ = ferry.RunAction(func(a *ferry.Action) error {
		if err := a.HTTP.SendJSON("POST", "/contacts/import", map[string]string{"list": "q3-leads"}, nil); err != nil {
			return err
		}
		return a.TriggerSync("contacts")
	})
}
