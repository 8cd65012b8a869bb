package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/storage"
)

// MinWebhookSecret is the shortest signing secret PUT /v1/webhook accepts, in bytes.
const MinWebhookSecret = 16

// MaxDeliveriesLimit bounds the deliveries one list returns.
const MaxDeliveriesLimit = 1000

// webhookView is the webhook as the API shows it: never its secret.
type webhookView struct {
	URL       string    `json:"url"`
	UpdatedAt time.Time `json:"updated_at"`
}

// putWebhook sets the app's webhook from {"url": "https://...", "secret": "..."}: an absolute
// http(s) URL and a signing secret of at least MinWebhookSecret bytes, sealed before it is
// stored. Both are required; a new PUT replaces the webhook, and deliveries still pending go
// to the new URL, signed with the new secret.
func (s *Server) putWebhook(c echo.Context) error {
	var req struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkWebhookURL(req.URL); err != nil {
		return err
	}
	if len(req.Secret) < MinWebhookSecret {
		return invalid("secret must be at least %d bytes (got %d): a random string, e.g. `openssl rand -hex 32`", MinWebhookSecret, len(req.Secret))
	}
	if s.cfg.Sealer == nil {
		return errors.New("set webhook: the server has no sealer to encrypt the secret with")
	}
	sealed, err := s.cfg.Sealer.Seal([]byte(req.Secret))
	if err != nil {
		return err
	}
	cfg := storage.WebhookConfig{URL: req.URL, Secret: sealed, UpdatedAt: time.Now().UTC()}
	if err := s.cfg.Store.SetWebhookConfig(c.Request().Context(), cfg); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookView{URL: cfg.URL, UpdatedAt: cfg.UpdatedAt})
}

// checkWebhookURL accepts absolute http and https URLs with a host.
func checkWebhookURL(raw string) error {
	if raw == "" {
		return invalid("url is required: the absolute http(s) URL Ferry POSTs webhooks to")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("url %q: %v", raw, err)
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" || u.Host == "" {
		return invalid("url %q must be an absolute http or https URL, like https://app.example.com/ferry", raw)
	}
	return nil
}

// getWebhook shows the app's webhook, without its secret; 404 when none is set.
func (s *Server) getWebhook(c echo.Context) error {
	cfg, err := s.cfg.Store.WebhookConfig(c.Request().Context())
	if errors.Is(err, storage.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no webhook is set: PUT /v1/webhook sets one"}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookView{URL: cfg.URL, UpdatedAt: cfg.UpdatedAt})
}

// deliveryView is a delivery as the API shows it: every field always present, and the body
// as the JSON object that was (or will be) POSTed.
type deliveryView struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	RunID         string          `json:"run_id"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"` // null unless pending
	LastError     string          `json:"last_error"`
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   *time.Time      `json:"delivered_at"`
	Body          json.RawMessage `json:"body"`
}

// listDeliveries lists webhook deliveries, newest first, optionally of one status.
func (s *Server) listDeliveries(c echo.Context) error {
	f := storage.DeliveryFilter{Status: c.QueryParam("status")}
	switch f.Status {
	case "", storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed:
	default:
		return invalid("status must be %s, %s or %s, not %q", storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed, f.Status)
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDeliveriesLimit {
			return invalid("limit must be a number from 1 to %d", MaxDeliveriesLimit)
		}
		f.Limit = n
	}
	list, err := s.cfg.Store.Deliveries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]deliveryView, 0, len(list))
	for _, d := range list {
		v := deliveryView{ID: d.ID, Type: d.Type, RunID: d.RunID, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, Body: d.Body}
		if d.Status == storage.DeliveryPending {
			next := d.NextAttemptAt
			v.NextAttemptAt = &next
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
}
