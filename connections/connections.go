package connections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
)

// ErrInvalid is wrapped by every error for a connection request that cannot be taken as it is.
var ErrInvalid = errors.New("invalid connection")

// idPattern is what a connection id may look like: an app's own account id, but never a
// character that could break a key or a URL path.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,200}$`)

// credentialKeys are the credentials each auth type takes, required first.
var credentialKeys = map[string]struct{ required, optional []string }{
	plugins.AuthBearer: {required: []string{"token"}},
	plugins.AuthHeader: {required: []string{"value"}},
	plugins.AuthQuery:  {required: []string{"value"}},
	plugins.AuthBasic:  {required: []string{"username"}, optional: []string{"password"}},
	plugins.AuthNone:   {},
}

// Placeholders returns credentials of authType that meet its requirements and reach no
// provider: each required one set to value. A replayed dry run needs a connection, not
// credentials.
func Placeholders(authType, value string) map[string]string {
	creds := map[string]string{}
	for _, k := range credentialKeys[authType].required {
		creds[k] = value
	}
	return creds
}

// Store is what the service needs from the store.
type Store interface {
	PutConnection(ctx context.Context, c storage.Connection) (storage.Connection, bool, error)
	Connection(ctx context.Context, integration, id string) (storage.Connection, error)
}

// Sealer encrypts credentials at rest.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Manifests gives the active manifest of an integration.
type Manifests interface {
	Active(ctx context.Context, integration string) (plugins.Deployed, error)
}

// Service creates, updates and reads connections.
type Service struct {
	store     Store
	sealer    Sealer
	manifests Manifests
}

// NewService returns a Service.
func NewService(store Store, sealer Sealer, manifests Manifests) *Service {
	return &Service{store: store, sealer: sealer, manifests: manifests}
}

// Put is a create-or-update request. A nil field keeps what the connection has (nothing, for a
// new one); a set field replaces it.
type Put struct {
	Credentials map[string]string `json:"credentials"`
	Metadata    json.RawMessage   `json:"metadata"`
	BaseURL     *string           `json:"base_url"`
	// WebhookSecret checks the signatures of the provider's webhooks for this connection;
	// "" removes it.
	WebhookSecret *string `json:"webhook_secret"`
}

// Put creates or updates connection id of integration, checking the credentials against the
// integration's active auth type. It reports whether the connection is new.
func (s *Service) Put(ctx context.Context, integration, id string, p Put) (storage.Connection, bool, error) {
	if !idPattern.MatchString(id) {
		return storage.Connection{}, false, fmt.Errorf("%w: id %q must be 1 to 200 of A-Z a-z 0-9 . _ @ : -", ErrInvalid, id)
	}
	d, err := s.manifests.Active(ctx, integration)
	if err != nil {
		return storage.Connection{}, false, fmt.Errorf("integration %s: %w", integration, err)
	}
	c, err := s.store.Connection(ctx, integration, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		c = storage.Connection{Integration: integration, ID: id, Metadata: json.RawMessage("{}")}
	case err != nil:
		return storage.Connection{}, false, err
	}
	if p.Credentials != nil || c.Credentials == nil {
		if err := CheckCredentials(d.Manifest.Provider.Auth.Type, p.Credentials); err != nil {
			return storage.Connection{}, false, err
		}
		plain, _ := json.Marshal(p.Credentials)
		if c.Credentials, err = s.sealer.Seal(plain); err != nil {
			return storage.Connection{}, false, fmt.Errorf("seal credentials: %w", err)
		}
	}
	if p.Metadata != nil {
		md, err := jsonObject(p.Metadata)
		if err != nil {
			return storage.Connection{}, false, fmt.Errorf("%w: metadata: %w", ErrInvalid, err)
		}
		c.Metadata = md
	}
	if p.WebhookSecret != nil {
		c.WebhookSecret = nil
		if *p.WebhookSecret != "" {
			if c.WebhookSecret, err = s.sealer.Seal([]byte(*p.WebhookSecret)); err != nil {
				return storage.Connection{}, false, fmt.Errorf("seal webhook secret: %w", err)
			}
		}
	}
	if p.BaseURL != nil {
		if *p.BaseURL != "" {
			if err := checkBaseURL(*p.BaseURL); err != nil {
				return storage.Connection{}, false, err
			}
		}
		c.BaseURL = *p.BaseURL
	}
	return s.store.PutConnection(ctx, c)
}

// Credentials returns a connection's credentials in the clear, for the HTTP proxy only.
func (s *Service) Credentials(c storage.Connection) (map[string]string, error) {
	if len(c.Credentials) == 0 {
		return map[string]string{}, nil
	}
	plain, err := s.sealer.Open(c.Credentials)
	if err != nil {
		return nil, fmt.Errorf("credentials of %s/%s: %w", c.Integration, c.ID, err)
	}
	creds := map[string]string{}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("credentials of %s/%s: %w", c.Integration, c.ID, err)
	}
	return creds, nil
}

// WebhookSecret returns a connection's webhook secret in the clear, nil if it has none, for
// checking the provider's signatures only.
func (s *Service) WebhookSecret(c storage.Connection) ([]byte, error) {
	if len(c.WebhookSecret) == 0 {
		return nil, nil
	}
	secret, err := s.sealer.Open(c.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("webhook secret of %s/%s: %w", c.Integration, c.ID, err)
	}
	return secret, nil
}

// CheckCredentials checks that creds are exactly what auth type authType takes.
func CheckCredentials(authType string, creds map[string]string) error {
	keys, ok := credentialKeys[authType]
	if !ok {
		return fmt.Errorf("%w: unknown auth type %q", ErrInvalid, authType)
	}
	known := append(slices.Clone(keys.required), keys.optional...)
	var problems []string
	for _, k := range keys.required {
		if creds[k] == "" {
			problems = append(problems, fmt.Sprintf("missing credential %q", k))
		}
	}
	var unknown []string
	for k := range creds {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		problems = append(problems, fmt.Sprintf("unknown credential %q", k))
	}
	if len(problems) > 0 {
		want := "no credentials"
		if len(known) > 0 {
			want = strings.Join(known, ", ")
		}
		return fmt.Errorf("%w: %s (auth type %s takes %s)", ErrInvalid, strings.Join(problems, ", "), authType, want)
	}
	return nil
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base_url %q must be an absolute http or https URL", ErrInvalid, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: base_url must not hold credentials; pass them as credentials", ErrInvalid)
	}
	return nil
}

func jsonObject(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
