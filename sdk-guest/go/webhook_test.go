package ferry

import (
	"strings"
	"testing"
)

func TestRunWebhook(t *testing.T) {
	const body = `{"type":"contact.updated","contact":{"id":"c-000001","email":"ada@x.io"}}`
	tests := []struct {
		name        string
		input       string
		handler     func(w *Webhook) error
		wantCode    int32
		wantFailure string
		wantOutput  string
	}{
		{
			name: "event saved, JSON response",
			input: `{"method":"POST","path":"/v1/hooks/crm/acme","query":{"v":["2"]},` +
				`"headers":{"Content-Type":["application/json"],"X-Provider-Signature":["sha256=ab"]}}` + "\n" + body,
			handler: func(w *Webhook) error {
				req, err := w.Request()
				if err != nil {
					return err
				}
				if req.Method != "POST" || req.Path != "/v1/hooks/crm/acme" || req.Query.Get("v") != "2" ||
					req.Header.Get("x-provider-signature") != "sha256=ab" || string(req.Body) != body {
					t.Errorf("request = %+v, body %q", req, req.Body)
				}
				var ev struct {
					Type    string         `json:"type"`
					Contact map[string]any `json:"contact"`
				}
				if err := req.JSON(&ev); err != nil {
					return err
				}
				if _, err := w.Save("Contact", []map[string]any{ev.Contact}); err != nil {
					return err
				}
				return w.RespondJSON(map[string]bool{"ok": true})
			},
			wantOutput: `{"ok":true}`,
		},
		{
			name:  "body with newlines, raw response",
			input: `{"method":"POST","path":"/h","query":{},"headers":{}}` + "\nline 1\nline 2\n",
			handler: func(w *Webhook) error {
				req, err := w.Request()
				if err != nil {
					return err
				}
				if string(req.Body) != "line 1\nline 2\n" {
					t.Errorf("body = %q", req.Body)
				}
				return w.Respond([]byte("challenge-123"))
			},
			wantOutput: "challenge-123",
		},
		{
			name:  "empty body, no response",
			input: `{"method":"GET","path":"/h","query":{},"headers":{}}` + "\n",
			handler: func(w *Webhook) error {
				req, err := w.Request()
				if err != nil {
					return err
				}
				if req.Body == nil || len(req.Body) != 0 {
					t.Errorf("body = %#v, want empty and not nil", req.Body)
				}
				return nil
			},
		},
		{
			name:  "body that is not JSON",
			input: `{"method":"POST","path":"/h","query":{},"headers":{}}` + "\nnot json",
			handler: func(w *Webhook) error {
				req, err := w.Request()
				if err != nil {
					return err
				}
				var v any
				return req.JSON(&v)
			},
			wantCode:    1,
			wantFailure: "ferry: decode webhook body not json: invalid character",
		},
		{
			name:  "malformed request header",
			input: `{"method":` + "\n{}",
			handler: func(w *Webhook) error {
				_, err := w.Request()
				return err
			},
			wantCode:    1,
			wantFailure: `ferry: decode webhook request "{\"method\":"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHost(t)
			th.input = []byte(tt.input)
			code := runWebhook(th, tt.handler)
			if code != tt.wantCode {
				t.Errorf("code = %d, want %d (failure %q)", code, tt.wantCode, th.failure)
			}
			if !strings.HasPrefix(th.failure, tt.wantFailure) || (tt.wantFailure == "") != (th.failure == "") {
				t.Errorf("failure = %q, want it to start with %q", th.failure, tt.wantFailure)
			}
			if string(th.output) != tt.wantOutput {
				t.Errorf("output = %q, want %q", th.output, tt.wantOutput)
			}
		})
	}
}

func TestWebhookRequestReadOnce(t *testing.T) {
	th := newTestHost(t)
	th.input = []byte(`{"method":"POST","path":"/h","query":{},"headers":{}}` + "\n{}")
	w := &Webhook{Host: newHost(th)}
	a, err := w.Request()
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Request()
	if err != nil || a != b {
		t.Errorf("second Request = %p, %v; want the first, %p", b, err, a)
	}
	if n := th.count(fnInput); n != 1 {
		t.Errorf("input read %d times, want 1", n)
	}
}
