package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// settings is what the plugin reads from the connection's metadata, which the app sets.
type settings struct {
	// FieldMapping renames the actions' input fields to the provider's fields:
	// {"company": "title"} sends the input's company as the provider's title. A field it
	// leaves out keeps its name; one mapped to "" is not sent.
	FieldMapping map[string]string `json:"field_mapping"`
}

// contactFields are the input fields of the contact actions that become provider fields.
var contactFields = []string{"email", "first_name", "last_name", "company"}

// contactInput is the input of create-contact and update-contact: the app's record id and the
// contact fields the app gave, by their input names. Only the fields given are sent.
type contactInput struct {
	AppID  string
	Fields map[string]string
}

// readContactInput reads and checks an action's input. ferry.yaml's input schema already
// refused anything else; this keeps the plugin correct on its own.
func readContactInput(a *ferry.Action) (contactInput, error) {
	var raw map[string]string
	if err := a.Input(&raw); err != nil {
		return contactInput{}, err
	}
	in := contactInput{AppID: raw["app_id"], Fields: map[string]string{}}
	delete(raw, "app_id")
	for k, v := range raw {
		if !slices.Contains(contactFields, k) {
			return contactInput{}, fmt.Errorf("input field %q is not one of app_id, %s", k, strings.Join(contactFields, ", "))
		}
		in.Fields[k] = v
	}
	return in, nil
}

// providerFields renames fields by the connection's field mapping, dropping those mapped to
// "". Two input fields mapped to the same provider field are an error, since only one of
// them could be sent.
func providerFields(fields, mapping map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(fields))
	from := make(map[string]string, len(fields)) // provider field -> the input field sent as it
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys) // so the error names the same pair every time
	for _, k := range keys {
		to, ok := mapping[k]
		if !ok {
			to = k
		}
		if to == "" {
			continue
		}
		if other, dup := from[to]; dup {
			return nil, fmt.Errorf("field_mapping sends both %q and %q as the provider's %q", other, k, to)
		}
		from[to] = k
		out[to] = fields[k]
	}
	return out, nil
}

// mappedFields applies the connection's field mapping to the input's fields.
func mappedFields(a *ferry.Action, in contactInput) (map[string]string, error) {
	var s settings
	if err := a.Metadata(&s); err != nil {
		return nil, err
	}
	fields, err := providerFields(in.Fields, s.FieldMapping)
	if err != nil {
		return nil, fmt.Errorf("connection metadata: %w", err)
	}
	return fields, nil
}

// createContact finds the provider's contact with the input's email or creates it, links it
// to the app's id when the input has one, and saves it in the cache. Its output is
// {"id": provider id, "created": whether it was created}.
//
// Finding first makes the action safe to repeat: a retried call finds the contact the first
// call created instead of creating a second one.
func createContact(a *ferry.Action) error {
	in, err := readContactInput(a)
	if err != nil {
		return err
	}
	email := in.Fields["email"]
	if email == "" {
		return errors.New(`create-contact: "email" is required`)
	}
	var found struct {
		Data []Contact `json:"data"`
	}
	if err := a.HTTP.GetJSON("/contacts", url.Values{"email": {email}, "limit": {"1"}}, &found); err != nil {
		return fmt.Errorf("create-contact: look for %s: %w", email, err)
	}
	var c Contact
	created := len(found.Data) == 0
	if created {
		fields, err := mappedFields(a, in)
		if err != nil {
			return fmt.Errorf("create-contact: %w", err)
		}
		if err := a.HTTP.SendJSON(http.MethodPost, "/contacts", fields, &c); err != nil {
			return fmt.Errorf("create-contact %s: %w", email, err)
		}
		a.Log.Infof("created contact %s for %s", c.ID, email)
	} else {
		c = found.Data[0]
		a.Log.Infof("found contact %s for %s; nothing written", c.ID, email)
	}
	if in.AppID != "" {
		if err := a.Links.Put("Contact", ferry.Link{AppID: in.AppID, ExternalID: c.ID}); err != nil {
			return fmt.Errorf("create-contact: %w", err)
		}
	}
	if err := saveContact(a.Host, c); err != nil {
		return fmt.Errorf("create-contact: %w", err)
	}
	return a.Output(map[string]any{"id": c.ID, "created": created})
}

// updateContact changes the provider's contact linked to the input's app_id with the input's
// fields and saves what the provider answered. Its output is {"id", "updated": true}.
func updateContact(a *ferry.Action) error {
	in, err := readContactInput(a)
	if err != nil {
		return err
	}
	if in.AppID == "" {
		return errors.New(`update-contact: "app_id" is required`)
	}
	link, ok, err := a.Links.ByAppID("Contact", in.AppID)
	if err != nil {
		return fmt.Errorf("update-contact: %w", err)
	}
	if !ok {
		return fmt.Errorf("update-contact: no Contact is linked to app id %q: create it with create-contact and this app_id, or put the link (PUT /v1/links/...)", in.AppID)
	}
	fields, err := mappedFields(a, in)
	if err != nil {
		return fmt.Errorf("update-contact: %w", err)
	}
	var c Contact
	err = a.HTTP.SendJSON(http.MethodPatch, "/contacts/"+url.PathEscape(link.ExternalID), fields, &c)
	var httpErr *ferry.HTTPError
	if errors.As(err, &httpErr) && httpErr.Status == http.StatusNotFound {
		return fmt.Errorf("update-contact: contact %s, linked to app id %q, is gone from the provider: %w", link.ExternalID, in.AppID, err)
	}
	if err != nil {
		return fmt.Errorf("update-contact %s: %w", link.ExternalID, err)
	}
	if err := saveContact(a.Host, c); err != nil {
		return fmt.Errorf("update-contact: %w", err)
	}
	a.Log.Infof("updated contact %s (app id %s): %d fields", c.ID, in.AppID, len(fields))
	return a.Output(map[string]any{"id": c.ID, "updated": true})
}

// saveContact saves the provider's contact as the contacts sync does (the same Contact
// struct, so the same JSON), making the cache current now; the next sync that fetches it
// counts it unchanged.
func saveContact(h *ferry.Host, c Contact) error {
	_, err := h.Save("Contact", []Contact{c})
	return err
}
