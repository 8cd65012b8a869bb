package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// MaxHookBody bounds an inbound webhook's body.
const MaxHookBody = 1 << 20

// hookPrefix is the path of inbound webhooks, which providers call without the secret key.
const hookPrefix = "/v1/hooks/"

// inboundHook hands a provider's webhook to the integration's webhook handler for the
// connection. The provider's signature is checked first, with the connection's webhook
// secret, which plugin code never sees; a request that fails the check runs nothing.
func (s *Server) inboundHook(c echo.Context) error {
	ctx := c.Request().Context()
	integration, connection := c.Param("integration"), c.Param("connection")
	d, err := s.cfg.Plugins.Active(ctx, integration)
	if err != nil {
		return err
	}
	if d.Manifest.Webhook == nil {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: integration + " has no webhook handler"}
	}
	conn, err := s.cfg.Store.Connection(ctx, integration, connection)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxHookBody))
	if err != nil {
		return err
	}
	if err := s.checkSignature(c.Request(), body, d.Manifest.Webhook.Signature, conn); err != nil {
		return err
	}
	input, err := hookInput(c.Request(), body)
	if err != nil {
		return err
	}
	call, err := s.cfg.Runner.Invoke(ctx, syncs.Invocation{
		Kind: storage.KindWebhook, Integration: integration, Connection: connection, Name: "webhook", Input: input,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("X-Ferry-Call-Id", call.ID)
	if len(call.Output) == 0 {
		return c.NoContent(http.StatusNoContent)
	}
	contentType := "text/plain; charset=utf-8"
	if json.Valid(call.Output) {
		contentType = echo.MIMEApplicationJSON
	}
	return c.Blob(http.StatusOK, contentType, call.Output)
}

// checkSignature verifies the provider's signature of body as the manifest says: an
// HMAC-SHA256 with the connection's webhook secret, hex or base64, after a prefix.
func (s *Server) checkSignature(r *http.Request, body []byte, sig *plugins.Signature, conn storage.Connection) error {
	if sig == nil {
		return nil // the manifest asks for no signature
	}
	unauthorized := func(msg string) error {
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: msg}
	}
	secret, err := s.cfg.Connections.WebhookSecret(conn)
	if err != nil {
		return err
	}
	if secret == nil {
		return unauthorized("the connection has no webhook secret to check the signature with (set webhook_secret)")
	}
	got, ok := strings.CutPrefix(r.Header.Get(sig.Header), sig.Prefix)
	if !ok || got == "" {
		return unauthorized("missing or malformed signature header " + sig.Header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sum := mac.Sum(nil)
	var want string
	switch sig.Scheme {
	case plugins.SchemeHMACSHA256Base64:
		want = base64.StdEncoding.EncodeToString(sum)
	default:
		want = hex.EncodeToString(sum)
		got = strings.ToLower(got)
	}
	if !hmac.Equal([]byte(got), []byte(want)) {
		return unauthorized("bad signature in " + sig.Header)
	}
	return nil
}

// hookInput is the webhook handler's input: the request as "REQUEST_JSON\nBODY".
func hookInput(r *http.Request, body []byte) ([]byte, error) {
	head, err := json.Marshal(struct {
		Method  string              `json:"method"`
		Path    string              `json:"path"`
		Query   map[string][]string `json:"query"`
		Headers map[string][]string `json:"headers"`
	}{r.Method, r.URL.Path, r.URL.Query(), r.Header})
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), body...), nil
}
