package ferry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Link is a data link: an app's record id paired with the provider's id of the same record,
// kept per connection and model. The app reads and writes the same links over Ferry's REST
// API (/v1/links/...).
type Link struct {
	// AppID is the record's id in the app.
	AppID string `json:"app_id"`
	// ExternalID is the record's id at the provider.
	ExternalID string `json:"external_id"`
}

// Links reads and writes the connection's data links, so that a push action can find the
// provider's record that matches an app's record, and remember the one it created. Each
// model has its own links: an app id may be linked to one external id per model, and an
// external id to one app id. Its zero value is not usable: use the Links field of a [Sync],
// [Action] or [Webhook].
type Links struct {
	h *Host
}

// ByAppID returns the link of model whose app id is appID, and false when there is none.
func (l Links) ByAppID(model, appID string) (Link, bool, error) {
	if appID == "" {
		return Link{}, false, fmt.Errorf("ferry: get %s link: empty app id", model)
	}
	return l.get(model, "app_id", appID)
}

// ByExternalID returns the link of model whose external id is externalID, and false when
// there is none.
func (l Links) ByExternalID(model, externalID string) (Link, bool, error) {
	if externalID == "" {
		return Link{}, false, fmt.Errorf("ferry: get %s link: empty external id", model)
	}
	return l.get(model, "external_id", externalID)
}

// get looks a link up by one of its ids: key is "app_id" or "external_id".
func (l Links) get(model, key, id string) (Link, bool, error) {
	what := strings.ReplaceAll(key, "_", " ") + " " + id
	res, err := l.call(fnLinksGet, "get", model, map[string]string{key: id})
	if err != nil {
		return Link{}, false, fmt.Errorf("ferry: get %s link of %s: %w", model, what, err)
	}
	if res == nil {
		return Link{}, false, nil
	}
	var link Link
	if err := json.Unmarshal(res, &link); err != nil {
		return Link{}, false, fmt.Errorf("ferry: get %s link of %s: decode host result %q: %w", model, what, excerpt(res, 80), err)
	}
	return link, true, nil
}

// Put stores link for model. It replaces the link of link.AppID and the link of
// link.ExternalID, if there are any, so each id stays linked once; putting the same link
// again changes nothing. Both ids must be set.
func (l Links) Put(model string, link Link) error {
	if link.AppID == "" || link.ExternalID == "" {
		return fmt.Errorf("ferry: put %s link %+v: both app_id and external_id must be set", model, link)
	}
	if _, err := l.call(fnLinksPut, "put", model, link); err != nil {
		return fmt.Errorf("ferry: put %s link of app id %s: %w", model, link.AppID, err)
	}
	return nil
}

// Delete removes the link of model whose app id is appID. Deleting a link that does not exist
// is not an error, so a replayed deletion is harmless.
func (l Links) Delete(model, appID string) error {
	if appID == "" {
		return fmt.Errorf("ferry: delete %s link: empty app id", model)
	}
	if _, err := l.call(fnLinksDelete, "delete", model, map[string]string{"app_id": appID}); err != nil {
		return fmt.Errorf("ferry: delete %s link of app id %s: %w", model, appID, err)
	}
	return nil
}

// call sends "MODEL\n{...}" to f.
func (l Links) call(f hostFunc, verb, model string, v any) ([]byte, error) {
	if l.h == nil {
		return nil, errors.New("ferry: Links used outside a Sync, Action or Webhook")
	}
	if err := checkModel(model); err != nil {
		return nil, err
	}
	arg, err := l.h.encodeArg(model+"\n", v, '{', "link "+verb)
	if err != nil {
		return nil, err
	}
	return l.h.call(f, arg)
}
