package ferry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
)

// Webhook is what an inbound webhook handler works with: the [Host] capabilities plus the
// provider's request and the response body to answer it with.
//
// The host has checked the provider's signature (as ferry.yaml's webhook.signature says,
// with the connection's webhook secret) before it calls the handler, so the request is the
// provider's.
type Webhook struct {
	*Host

	req *WebhookRequest // read once, on first use
}

// WebhookRequest is the provider's HTTP request to Ferry's inbound webhook route.
type WebhookRequest struct {
	// Method is the HTTP method, normally POST.
	Method string `json:"method"`
	// Path is the request's path on Ferry, /v1/hooks/INTEGRATION/CONNECTION.
	Path string `json:"path"`
	// Query holds the request's query parameters.
	Query url.Values `json:"query"`
	// Header holds the request's headers, signature included.
	Header Header `json:"headers"`
	// Body is the raw request body, exactly as the provider sent it.
	Body []byte `json:"-"`
}

// JSON decodes the request body into out.
func (r *WebhookRequest) JSON(out any) error {
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("ferry: decode webhook body %s: %w", excerpt(r.Body, 80), err)
	}
	return nil
}

// RunWebhook runs fn as the inbound webhook handler the host called (the export ferry.yaml's
// webhook.export names), and returns the value the export must return, exactly as [RunSync]
// does. A failure answers the provider with a non-2xx status, so a provider that retries its
// webhooks sends the event again: make the handler's writes idempotent (saves are).
//
//	//go:wasmexport on_webhook
//	func onWebhook() int32 { return ferry.RunWebhook(onWebhookImpl) }
func RunWebhook(fn func(w *Webhook) error) int32 {
	return runWebhook(defaultABI, fn)
}

func runWebhook(a abi, fn func(w *Webhook) error) int32 {
	h := newHost(a)
	return h.run(func() error { return fn(&Webhook{Host: h}) })
}

// Request returns the provider's request. The host hands it over as its input,
// "REQUEST_JSON\nBODY" (docs/abi.md); it is read once and the same value is returned after.
func (w *Webhook) Request() (*WebhookRequest, error) {
	if w.req != nil {
		return w.req, nil
	}
	res, err := w.call(fnInput, nil)
	if err != nil {
		return nil, fmt.Errorf("ferry: read webhook request: %w", err)
	}
	head, body, _ := bytes.Cut(res, []byte("\n"))
	req := &WebhookRequest{Body: body}
	if err := json.Unmarshal(head, req); err != nil {
		return nil, fmt.Errorf("ferry: decode webhook request %q: %w", excerpt(head, 80), err)
	}
	if req.Body == nil {
		req.Body = []byte{}
	}
	w.req = req
	return req, nil
}

// Respond sets the body Ferry answers the provider with, for providers that expect one (a
// challenge echoed back, say); the host answers 200 with it, or 204 No Content when the
// handler set none. Calling it again replaces the earlier body.
func (w *Webhook) Respond(body []byte) error {
	if _, err := w.call(fnOutput, body); err != nil {
		return fmt.Errorf("ferry: set webhook response: %w", err)
	}
	return nil
}

// RespondJSON sets the response body to v encoded as JSON, as [Webhook.Respond] does.
func (w *Webhook) RespondJSON(v any) error {
	return w.output(v, "webhook response")
}
