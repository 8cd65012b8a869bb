package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// Store is what the API reads and changes directly in the store.
type Store interface {
	Integration(ctx context.Context, id string) (storage.Integration, error)
	Integrations(ctx context.Context) ([]storage.Integration, error)
	Versions(ctx context.Context, id string) ([]storage.Version, error)
	Activate(ctx context.Context, id string, version int) error
	Connection(ctx context.Context, integration, id string) (storage.Connection, error)
	Connections(ctx context.Context, integration string) ([]storage.Connection, error)
	DeleteConnection(ctx context.Context, integration, id string) error
	Checkpoint(ctx context.Context, integration, connection, sync string) (json.RawMessage, error)
	SyncState(ctx context.Context, integration, connection, sync string) (storage.SyncState, error)
	SetPaused(ctx context.Context, integration, connection, sync string, paused bool) error
	Run(ctx context.Context, id string) (storage.Run, error)
	Runs(ctx context.Context, f storage.RunFilter) ([]storage.Run, error)
	RunLog(ctx context.Context, runID string) ([]storage.LogEntry, error)
	ReadRecords(ctx context.Context, s storage.Scope, q storage.RecordQuery) ([]records.Record, uint64, error)
	PutLink(ctx context.Context, s storage.Scope, l storage.Link) error
	LinkByApp(ctx context.Context, s storage.Scope, appID string) (storage.Link, error)
	LinkByExternal(ctx context.Context, s storage.Scope, externalID string) (storage.Link, error)
	DeleteLink(ctx context.Context, s storage.Scope, appID string) error
	SetWebhookConfig(ctx context.Context, c storage.WebhookConfig) error
	WebhookConfig(ctx context.Context) (storage.WebhookConfig, error)
	Deliveries(ctx context.Context, f storage.DeliveryFilter) ([]storage.Delivery, error)
}

// Plugins deploys and loads plugins.
type Plugins interface {
	DeployPlanned(ctx context.Context, manifest, wasm []byte, opt plugins.DeployOptions) (plugins.Deployed, plugins.Plan, error)
	Active(ctx context.Context, integration string) (plugins.Deployed, error)
}

// Config holds a Server's parts.
type Config struct {
	// APIKey is the secret clients send as a bearer token.
	APIKey      string
	Store       Store
	Plugins     Plugins
	Connections *connections.Service
	Runner      *syncs.Runner
	Logger      *slog.Logger
	// Sealer encrypts the webhook's signing secret before it is stored.
	Sealer interface{ Seal([]byte) ([]byte, error) }
	// MaxUpload bounds a deploy's body; other bodies are bounded at MaxBody.
	MaxUpload int64
}

// MaxBody bounds a request body other than a deploy's.
const MaxBody = 4 << 20

// Server is the REST API as an http.Handler.
type Server struct {
	cfg  Config
	log  *slog.Logger
	echo *echo.Echo
}

var _ http.Handler = (*Server)(nil)

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = plugins.DefaultMaxModuleSize + 1<<20
	}
	s := &Server{cfg: cfg, log: cfg.Logger, echo: echo.New()}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.limitBody, s.authenticate)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })

	e.POST("/v1/integrations", s.deploy)
	e.GET("/v1/integrations", s.listIntegrations)
	e.GET("/v1/integrations/:id", s.getIntegration)
	e.GET("/v1/integrations/:id/versions", s.listVersions)
	e.POST("/v1/integrations/:id/rollback", s.rollback)

	e.GET("/v1/connections", s.listConnections)
	e.PUT("/v1/connections/:integration/:connection", s.putConnection)
	e.GET("/v1/connections/:integration/:connection", s.getConnection)
	e.DELETE("/v1/connections/:integration/:connection", s.deleteConnection)

	e.POST("/v1/syncs/:integration/:connection/:sync/trigger", s.triggerSync)
	e.GET("/v1/syncs/:integration/:connection/:sync", s.syncStatus)
	e.POST("/v1/syncs/:integration/:connection/:sync/pause", s.pauseSync)
	e.POST("/v1/syncs/:integration/:connection/:sync/start", s.startSync)

	e.GET("/v1/runs", s.listRuns)
	e.GET("/v1/runs/:id", s.getRun)
	e.GET("/v1/runs/:id/log", s.runLog)

	e.GET("/v1/records", s.readRecords)

	e.POST("/v1/actions/:integration/:connection/:action", s.callAction)
	e.GET("/v1/actions/calls/:id", s.getActionCall)
	e.PUT("/v1/links/:integration/:connection/:model/:app_id", s.putLink)
	e.GET("/v1/links/:integration/:connection/:model/:app_id", s.getLink)
	e.DELETE("/v1/links/:integration/:connection/:model/:app_id", s.deleteLink)
	e.GET("/v1/links/:integration/:connection/:model", s.findLink)
	e.POST("/v1/hooks/:integration/:connection", s.inboundHook)
	e.PUT("/v1/webhook", s.putWebhook)
	e.GET("/v1/webhook", s.getWebhook)
	e.GET("/v1/webhook/deliveries", s.listDeliveries)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// authenticate lets through only requests that carry the API key, but for /healthz.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// Providers authenticate their webhooks with their own signatures (see inboundHook).
		if p := c.Request().URL.Path; p == "/healthz" || strings.HasPrefix(p, hookPrefix) {
			return next(c)
		}
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || !secrets.Equal(strings.TrimSpace(token), s.cfg.APIKey) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
				Message: "missing or wrong secret key: send Authorization: Bearer <key from the data dir's secret_key>"}
		}
		return next(c)
	}
}

// limitBody bounds request bodies, deploys more generously than the rest.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		limit := int64(MaxBody)
		if c.Request().Method == http.MethodPost && c.Request().URL.Path == "/v1/integrations" {
			limit = s.cfg.MaxUpload
		}
		r := c.Request()
		if r.ContentLength > limit {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
				Message: fmt.Sprintf("request body of %d bytes is over the %d-byte limit", r.ContentLength, limit)}
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// decodeJSON reads a JSON request body into v, refusing unknown fields; an empty body leaves v
// as it is.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var maxBytes *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &maxBytes):
		return err
	}
	return invalid("request body: %v", err)
}
