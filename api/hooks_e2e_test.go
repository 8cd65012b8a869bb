package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// postHook POSTs body to an inbound hook path as a provider would: with the given headers,
// and without Ferry's secret key.
func postHook(t *testing.T, url string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestInboundHookRefusals: requests the inbound hook must refuse are refused before the
// webhook handler runs: a missing, malformed or bad signature is 401, an unknown integration
// or connection 404, an oversized body 413. None of them runs anything (no run is logged),
// changes a record or tells the app. The same event, signed as it should be, then goes
// through, which shows each refused one would have changed the cache.
func TestInboundHookRefusals(t *testing.T) {
	w := newTwoWay(t, 5, `{}`)
	w.deployAs(t, "actions.yaml", "kitchen") // integration acts, with no webhook handler
	if status, body := w.json(t, "PUT", "/v1/connections/crm/plain", `{"credentials":{"token":"x"}}`); status != http.StatusCreated {
		t.Fatalf("connect plain (no webhook secret): %d %s", status, body)
	}
	if run := w.sync(t, "contacts"); run.Counts["Contact"] != (records.Counts{Added: 5}) {
		t.Fatalf("initial sync: %+v", run.Counts)
	}
	w.listen(t)
	cached := w.contacts(t, "")
	runs := w.runs(t)

	// The provider's contact.updated event for c-000002, with a new name.
	c := w.providerContact(t, "c-000002")
	c.LastName = "Signed-Off"
	event, err := json.Marshal(map[string]any{"type": crm.EventContactUpdated, "contact": c})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(secret string, body []byte) map[string]string {
		return map[string]string{crm.SignatureHeader: crm.Sign([]byte(secret), body)}
	}
	signed := sign(providerHookSecret, event)
	hex := strings.TrimPrefix(signed[crm.SignatureHeader], "sha256=")
	// padded is the event with notes long enough to make its body n bytes.
	padded := func(n int) []byte {
		c := c
		c.Notes = ""
		short, _ := json.Marshal(map[string]any{"type": crm.EventContactUpdated, "contact": c})
		c.Notes = strings.Repeat("n", n-len(short))
		b, _ := json.Marshal(map[string]any{"type": crm.EventContactUpdated, "contact": c})
		if len(b) != n {
			t.Fatalf("padded event of %d bytes, want %d", len(b), n)
		}
		return b
	}
	overHook, overAll := padded(api.MaxHookBody+1), padded(api.MaxBody+1)

	hooks := w.URL + "/v1/hooks/"
	tests := []struct {
		name   string
		url    string
		body   []byte
		header map[string]string
		status int
		code   string
		msg    string
	}{
		{"no signature", hooks + "crm/acme", event, nil,
			401, "unauthorized", "missing or malformed signature header X-Provider-Signature"},
		{"the secret key instead of a signature", hooks + "crm/acme", event, map[string]string{"Authorization": "Bearer " + w.key},
			401, "unauthorized", "missing or malformed signature header"},
		{"an empty signature", hooks + "crm/acme", event, map[string]string{crm.SignatureHeader: "sha256="},
			401, "unauthorized", "missing or malformed signature header"},
		{"a signature without its prefix", hooks + "crm/acme", event, map[string]string{crm.SignatureHeader: hex},
			401, "unauthorized", "missing or malformed signature header"},
		{"a signature in base64, not hex", hooks + "crm/acme", event,
			map[string]string{crm.SignatureHeader: "sha256=" + base64.StdEncoding.EncodeToString([]byte(hex))},
			401, "unauthorized", "bad signature in X-Provider-Signature"},
		{"signed with another secret", hooks + "crm/acme", event, sign("not-the-"+providerHookSecret, event),
			401, "unauthorized", "bad signature in X-Provider-Signature"},
		{"the signature of another body", hooks + "crm/acme", event, sign(providerHookSecret, append([]byte(" "), event...)),
			401, "unauthorized", "bad signature in X-Provider-Signature"},
		{"a connection without a webhook secret", hooks + "crm/plain", event, signed,
			401, "unauthorized", "no webhook secret"},
		{"an unknown connection", hooks + "crm/nobody", event, signed,
			404, "not_found", "nobody"},
		{"an unknown integration", hooks + "nope/acme", event, signed,
			404, "not_found", "nope"},
		{"an integration without a webhook handler", hooks + "acts/acme", event, signed,
			404, "not_found", "acts has no webhook handler"},
		{"a body over the hook's limit", hooks + "crm/acme", overHook, sign(providerHookSecret, overHook),
			413, "too_large", "limit"},
		{"a body over every request's limit", hooks + "crm/acme", overAll, sign(providerHookSecret, overAll),
			413, "too_large", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postHook(t, tt.url, tt.body, tt.header)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			code, msg := apiError(t, body)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %s %q, want %s containing %q", code, msg, tt.code, tt.msg)
			}
		})
	}

	// Nothing ran, nothing changed, nobody was told.
	if got := w.runs(t); !reflect.DeepEqual(got, runs) {
		t.Errorf("runs after the refusals: %+v, want the initial sync's alone", got)
	}
	for _, path := range []string{"/v1/runs?integration=crm&connection=plain", "/v1/runs?integration=acts"} {
		if status, body := w.json(t, "GET", path, ""); status != http.StatusOK || strings.TrimSpace(string(body)) != `{"runs":[]}` {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	if got := w.contacts(t, ""); !reflect.DeepEqual(got, cached) {
		t.Errorf("records changed by refused requests")
	}
	if ds := w.deliveries(t); len(ds) != 0 {
		t.Errorf("deliveries queued for the app: %+v", ds)
	}

	// The event, signed as the provider signs it, goes through: the handler saves it.
	status, body := postHook(t, hooks+"crm/acme", event, signed)
	if status != http.StatusNoContent {
		t.Fatalf("the signed event: %d %s", status, body)
	}
	if rec := w.contact(t, "c-000002"); rec.data["last_name"] != "Signed-Off" || rec.meta.LastAction != records.Updated {
		t.Errorf("c-000002 after the signed event: %v %+v", rec.data["last_name"], rec.meta)
	}
	after := w.runs(t)
	if len(after) != len(runs)+1 || after[0].Kind != storage.KindWebhook || after[0].Counts["Contact"] != (records.Counts{Updated: 1}) {
		t.Errorf("runs after the signed event: %+v", after)
	}
}
