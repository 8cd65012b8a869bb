package main

import (
	"fmt"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

// providerEvent is the body of the provider's webhook: a contact that was created or updated,
// whole, or the id of one that was deleted.
type providerEvent struct {
	Type    string   `json:"type"`
	Contact *Contact `json:"contact"`
	ID      string   `json:"id"`
}

// onWebhook applies one provider event to the cache as it happens: a created or updated
// contact is saved (the same Contact the contacts sync saves, so that sync later counts it
// unchanged), a deleted one deleted. The host has checked the event's signature. Saving and
// deleting are idempotent, so an event the provider sends again changes nothing.
func onWebhook(w *ferry.Webhook) error {
	req, err := w.Request()
	if err != nil {
		return err
	}
	var ev providerEvent
	if err := req.JSON(&ev); err != nil {
		return err
	}
	switch ev.Type {
	case "contact.created", "contact.updated":
		if ev.Contact == nil || ev.Contact.ID == "" {
			return fmt.Errorf("%s event without a contact id", ev.Type)
		}
		res, err := w.Save("Contact", []Contact{*ev.Contact})
		if err != nil {
			return fmt.Errorf("%s %s: %w", ev.Type, ev.Contact.ID, err)
		}
		w.Log.Infof("%s %s: %d added, %d updated, %d unchanged", ev.Type, ev.Contact.ID, res.Added, res.Updated, res.Unchanged)
	case "contact.deleted":
		if ev.ID == "" {
			return fmt.Errorf("%s event without an id", ev.Type)
		}
		n, err := w.Delete("Contact", ev.ID)
		if err != nil {
			return fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		w.Log.Infof("%s %s: %d deleted", ev.Type, ev.ID, n)
	default:
		// A provider adds event types over time; an unknown one is not an error, or the
		// provider would retry it for nothing.
		w.Log.Warnf("ignored a provider event of type %q", ev.Type)
	}
	return nil
}
