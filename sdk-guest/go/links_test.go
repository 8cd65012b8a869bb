package ferry

import (
	"errors"
	"strings"
	"testing"
)

func TestLinks(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)

	if _, ok, err := h.Links.ByAppID("Contact", "u1"); ok || err != nil {
		t.Fatalf("ByAppID before any put = %v, %v; want false, nil", ok, err)
	}
	if err := h.Links.Put("Contact", Link{AppID: "u1", ExternalID: "c-000001"}); err != nil {
		t.Fatal(err)
	}
	if got, want := string(th.args[len(th.args)-1]), "Contact\n"+`{"app_id":"u1","external_id":"c-000001"}`; got != want {
		t.Errorf("links_put argument = %q, want %q", got, want)
	}
	if err := h.Links.Put("Company", Link{AppID: "u1", ExternalID: "co-0001"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		get    func() (Link, bool, error)
		want   Link
		wantOK bool
	}{
		{"by app id", func() (Link, bool, error) { return h.Links.ByAppID("Contact", "u1") },
			Link{AppID: "u1", ExternalID: "c-000001"}, true},
		{"by external id", func() (Link, bool, error) { return h.Links.ByExternalID("Contact", "c-000001") },
			Link{AppID: "u1", ExternalID: "c-000001"}, true},
		{"per model", func() (Link, bool, error) { return h.Links.ByAppID("Company", "u1") },
			Link{AppID: "u1", ExternalID: "co-0001"}, true},
		{"unknown app id", func() (Link, bool, error) { return h.Links.ByAppID("Contact", "u2") }, Link{}, false},
		{"unknown external id", func() (Link, bool, error) { return h.Links.ByExternalID("Contact", "co-0001") }, Link{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := tt.get()
			if err != nil || ok != tt.wantOK || got != tt.want {
				t.Errorf("got %+v, %v, %v; want %+v, %v, nil", got, ok, err, tt.want, tt.wantOK)
			}
		})
	}
	if got := string(th.args[len(th.args)-1]); got != "Contact\n"+`{"external_id":"co-0001"}` {
		t.Errorf("links_get by external id sent %q: want only external_id", got)
	}

	// Relinking the app id moves it; the old external id is no longer linked.
	if err := h.Links.Put("Contact", Link{AppID: "u1", ExternalID: "c-000002"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.Links.ByExternalID("Contact", "c-000001"); ok {
		t.Error("the old external id is still linked after the app id was relinked")
	}
	if err := h.Links.Delete("Contact", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.Links.ByAppID("Contact", "u1"); ok {
		t.Error("link still there after Delete")
	}
	if err := h.Links.Delete("Contact", "u1"); err != nil {
		t.Errorf("deleting a missing link: %v", err)
	}
}

func TestLinksErrors(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	tests := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"empty app id", func() error { _, _, err := h.Links.ByAppID("Contact", ""); return err }, "empty app id"},
		{"empty external id", func() error { _, _, err := h.Links.ByExternalID("Contact", ""); return err }, "empty external id"},
		{"put without external id", func() error { return h.Links.Put("Contact", Link{AppID: "u1"}) }, "both app_id and external_id must be set"},
		{"delete without app id", func() error { return h.Links.Delete("Contact", "") }, "empty app id"},
		{"bad model", func() error { return h.Links.Put("Con tact", Link{AppID: "u1", ExternalID: "c1"}) }, `invalid model name "Con tact"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := len(th.calls)
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if len(th.calls) != calls {
				t.Errorf("the host was called for a call refused in the guest")
			}
		})
	}

	// The host's message reaches the plugin unchanged, with what failed in front.
	th.errs[fnLinksGet] = `unknown model "Deal"`
	_, _, err := h.Links.ByAppID("Deal", "u1")
	if want := `ferry: get Deal link of app id u1: unknown model "Deal"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	var zero Links
	if err := zero.Delete("Contact", "u1"); err == nil {
		t.Error("a zero Links worked")
	}
}

func TestTriggerSync(t *testing.T) {
	th := newTestHost(t)
	code := runAction(th, func(a *Action) error {
		// Actions share the Host: links and triggers work there as in syncs.
		if err := a.Links.Put("Contact", Link{AppID: "u1", ExternalID: "c1"}); err != nil {
			return err
		}
		return a.TriggerSync("contacts")
	})
	if code != 0 {
		t.Fatalf("code = %d, failure %q", code, th.failure)
	}
	if len(th.triggered) != 1 || th.triggered[0] != "contacts" {
		t.Errorf("triggered = %q, want [contacts]", th.triggered)
	}
	if len(th.links["Contact"]) != 1 {
		t.Errorf("links = %v, want the one the action put", th.links)
	}

	h := newHost(th)
	if err := h.TriggerSync(""); err == nil {
		t.Error("TriggerSync accepted an empty name")
	}
	th.errs[fnTriggerSync] = `unknown sync "contcts"`
	err := h.TriggerSync("contcts")
	if want := `ferry: trigger sync contcts: unknown sync "contcts"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	var he hostError
	if !errors.As(err, &he) {
		t.Errorf("error %v does not wrap the host's error", err)
	}
}
