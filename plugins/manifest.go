package plugins

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Manifest is a parsed ferry.yaml. A Manifest returned by [Parse] has every
// default applied and has passed validation; treat it as read-only.
type Manifest struct {
	// Integration is the integration's id, [a-z0-9-]+, at most 63 characters.
	Integration string `yaml:"integration" json:"integration"`
	// Wasm is the module's path, relative to ferry.yaml.
	Wasm     string            `yaml:"wasm" json:"wasm"`
	Provider Provider          `yaml:"provider" json:"provider"`
	Syncs    map[string]Sync   `yaml:"syncs" json:"syncs"`
	Actions  map[string]Action `yaml:"actions" json:"actions"`
	Webhook  *Webhook          `yaml:"webhook" json:"webhook,omitempty"`
	// Models maps each model name ([A-Za-z0-9_]+) to the JSON Schema its
	// records must satisfy; an empty schema ({}) accepts any object.
	Models map[string]any `yaml:"models" json:"models"`
	Limits Limits         `yaml:"limits" json:"limits"`
}

// Provider describes the external API the plugin talks to through the host's
// HTTP proxy.
type Provider struct {
	// BaseURL is the absolute http(s) URL request paths are resolved against,
	// unless a connection sets its own.
	BaseURL string `yaml:"base_url" json:"base_url"`
	Auth    Auth   `yaml:"auth" json:"auth"`
	// RateLimit is applied per connection; nil means unlimited.
	RateLimit *RateLimit `yaml:"rate_limit" json:"rate_limit,omitempty"`
	// AllowedHosts are the hosts (host or host:port, as written in a URL) a
	// plugin may reach with an absolute URL. Defaults to BaseURL's host.
	AllowedHosts []string `yaml:"allowed_hosts" json:"allowed_hosts"`
	// Timeout bounds one HTTP request, including reading its body. Defaults
	// to 30s, or Limits.Timeout if shorter; it may not exceed Limits.Timeout.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Retries is how many times a request that failed with 429, 5xx or a
	// network error is retried, 0 to 10. Defaults to 3; see RetryCount.
	Retries *int `yaml:"retries" json:"retries"`
	// AllowPrivateNetworks lets the plugin's requests reach loopback, private,
	// link-local (cloud metadata included) and unspecified addresses, which
	// the proxy refuses otherwise, judging the address it actually dials.
	// For providers on the operator's own network, and for tests.
	AllowPrivateNetworks bool `yaml:"allow_private_networks" json:"allow_private_networks,omitempty"`
}

// Auth types, as written in provider.auth.type.
const (
	AuthBearer = "bearer" // Authorization: Bearer <token>
	AuthHeader = "header" // the credential in the header named by Auth.Name
	AuthQuery  = "query"  // the credential in the query parameter named by Auth.Name
	AuthBasic  = "basic"  // Authorization: Basic <user:password>
	AuthNone   = "none"   // no credentials
)

// Auth says how the proxy injects a connection's credentials.
type Auth struct {
	// Type is one of AuthBearer, AuthHeader, AuthQuery, AuthBasic, AuthNone.
	Type string `yaml:"type" json:"type"`
	// Name is the header or query parameter for AuthHeader and AuthQuery;
	// empty for the other types.
	Name string `yaml:"name" json:"name,omitempty"`
}

// RateLimit is a token bucket: PerSecond requests per second on average,
// bursts of up to Burst requests.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second" json:"per_second"`
	// Burst defaults to PerSecond rounded up.
	Burst int `yaml:"burst" json:"burst"`
}

// Sync types, as written in syncs.NAME.type.
const (
	// SyncIncremental fetches what changed since the checkpoint; deletes are
	// explicit.
	SyncIncremental = "incremental"
	// SyncFull fetches everything each run; records a successful run did not
	// save are marked deleted.
	SyncFull = "full"
)

// Sync is one sync function.
type Sync struct {
	// Export is the module export that runs the sync.
	Export string `yaml:"export" json:"export"`
	// Models are the models the sync saves, each declared in Manifest.Models.
	Models []string `yaml:"models" json:"models"`
	// Type is SyncIncremental or SyncFull.
	Type string `yaml:"type" json:"type"`
	// Frequency is the schedule's interval, at least 1s. Defaults to 1h.
	Frequency Duration `yaml:"frequency" json:"frequency"`
	// AutoStart schedules the sync for every new connection.
	AutoStart bool `yaml:"auto_start" json:"auto_start"`
	// DeleteThreshold is the largest share of a model's cached records that
	// a full run may delete before it is held as failed, in (0, 1]; 1 turns
	// the guard off. Defaults to 0.5; ignored by incremental syncs. See
	// DeleteShare.
	DeleteThreshold *float64 `yaml:"delete_threshold" json:"delete_threshold"`
	// KeepNewerWrites keeps a run from overwriting (or, for a full sync, deleting) a record an
	// action or an inbound webhook wrote after the run started: the run's copy is older.
	// Defaults to true when the manifest has a webhook handler; see KeepsNewerWrites.
	KeepNewerWrites *bool `yaml:"keep_newer_writes" json:"keep_newer_writes,omitempty"`
}

// KeepsNewerWrites tells whether runs of s leave alone newer writes of actions and webhooks.
func (m *Manifest) KeepsNewerWrites(s Sync) bool {
	if s.KeepNewerWrites != nil {
		return *s.KeepNewerWrites
	}
	return m.Webhook != nil
}

// Action is one action function, called on demand with a JSON input.
type Action struct {
	Export string `yaml:"export" json:"export"`
	// Input and Output are optional JSON Schemas (objects) for the action's
	// input and output; nil when not given.
	Input  any `yaml:"input" json:"input,omitempty"`
	Output any `yaml:"output" json:"output,omitempty"`
}

// Webhook routes inbound provider webhooks to an export.
type Webhook struct {
	Export string `yaml:"export" json:"export"`
	// Signature, when set, is verified before the export is called.
	Signature *Signature `yaml:"signature" json:"signature,omitempty"`
}

// Signature schemes, as written in webhook.signature.scheme.
const (
	SchemeHMACSHA256Hex    = "hmac-sha256-hex"
	SchemeHMACSHA256Base64 = "hmac-sha256-base64"
)

// Signature says how a provider signs its webhook requests: an HMAC of the
// raw body with the connection's webhook secret, in header Header, encoded as
// Scheme says, after the literal Prefix (e.g. "sha256=").
type Signature struct {
	Header string `yaml:"header" json:"header"`
	Scheme string `yaml:"scheme" json:"scheme"`
	Prefix string `yaml:"prefix" json:"prefix,omitempty"`
}

// Limits bound every run of the plugin.
type Limits struct {
	// MemoryMB caps the module's linear memory, 1 to 4096. Defaults to 64.
	MemoryMB int `yaml:"memory_mb" json:"memory_mb"`
	// Timeout ends a run, 1s to 24h. Defaults to 10m.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Defaults applied by Parse to fields left out of ferry.yaml.
const (
	DefaultRequestTimeout  = 30 * time.Second
	DefaultRetries         = 3
	DefaultFrequency       = time.Hour
	DefaultDeleteThreshold = 0.5
	DefaultMemoryMB        = 64
	DefaultRunTimeout      = 10 * time.Minute
)

// MaxManifestSize bounds a ferry.yaml; a manifest is configuration plus a few
// JSON Schemas, far smaller than this.
const MaxManifestSize = 1 << 20

// Parse decodes and validates a ferry.yaml and applies its defaults.
//
// Decoding is strict: unknown keys, values of the wrong YAML type (a number
// where a string belongs, 1.5 where an integer belongs) and syntax errors are
// refused with the field's path and its line and column. Every problem found
// is reported at once, as *FieldError values joined with errors.Join and
// sorted by path.
func Parse(data []byte) (_ *Manifest, err error) {
	defer recoverParse(&err)
	if len(data) > MaxManifestSize {
		return nil, &FieldError{Message: fmt.Sprintf("manifest is %d bytes, more than the %d-byte limit", len(data), MaxManifestSize)}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		fe := yamlError(nil, err)
		fe.Message = "YAML syntax: " + fe.Message
		return nil, fe
	}
	var docs []*ast.DocumentNode
	for _, doc := range file.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch len(docs) {
	case 0:
		return nil, &FieldError{Message: "manifest is empty"}
	case 1:
	default:
		return nil, &FieldError{Message: fmt.Sprintf("manifest holds %d YAML documents, want one", len(docs))}
	}
	body := docs[0].Body

	present, err := checkShape(body)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := yaml.NodeToValue(body, &m, yaml.Strict(), yaml.AllowDuplicateMapKey()); err != nil {
		return nil, yamlError(body, err)
	}
	m.applyDefaults(present)
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// yamlError turns an error of the YAML library into a FieldError that names
// the field at the error's position when it can be found in root.
func yamlError(root ast.Node, err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &FieldError{Message: err.Error()}
	}
	out := &FieldError{Message: ye.GetMessage()}
	if tk := ye.GetToken(); tk != nil && tk.Position != nil {
		out.Line, out.Column = tk.Position.Line, tk.Position.Column
		if root != nil {
			found := false
			ast.Walk(visitFunc(func(n ast.Node) bool {
				if !found && n.GetToken() == tk {
					out.Path, found = trimRootPath(n.GetPath()), true
				}
				return !found
			}), root)
		}
	}
	return out
}

// trimRootPath turns the YAML library's "$.a.b" into "a.b".
func trimRootPath(p string) string {
	if p == "$" {
		return ""
	}
	return strings.TrimPrefix(p, "$.")
}

// visitFunc is an ast.Visitor that descends while the function returns true.
type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if n == nil || !f(n) {
		return nil
	}
	return f
}

// applyDefaults fills in what ferry.yaml left out. present holds the paths of
// the keys that were given a non-null value, so an explicit zero is kept (and
// refused by validate) rather than silently replaced.
func (m *Manifest) applyDefaults(present map[string]bool) {
	if m.Syncs == nil {
		m.Syncs = map[string]Sync{}
	}
	if m.Actions == nil {
		m.Actions = map[string]Action{}
	}
	if m.Models == nil {
		m.Models = map[string]any{}
	}
	for name, schema := range m.Models {
		if schema == nil {
			m.Models[name] = map[string]any{}
		}
	}

	p := &m.Provider
	if !present["provider.allowed_hosts"] {
		if u, err := url.Parse(p.BaseURL); err == nil && u.Host != "" {
			p.AllowedHosts = []string{u.Host}
		}
	}
	if p.Retries == nil {
		n := DefaultRetries
		p.Retries = &n
	}
	if rl := p.RateLimit; rl != nil && !present["provider.rate_limit.burst"] {
		rl.Burst = int(math.Ceil(rl.PerSecond))
	}

	for name, s := range m.Syncs {
		if !present[joinPath(joinPath("syncs", name), "frequency")] {
			s.Frequency = Duration{DefaultFrequency}
		}
		if s.DeleteThreshold == nil {
			t := DefaultDeleteThreshold
			s.DeleteThreshold = &t
		}
		m.Syncs[name] = s
	}

	if !present["limits.memory_mb"] {
		m.Limits.MemoryMB = DefaultMemoryMB
	}
	if !present["limits.timeout"] {
		m.Limits.Timeout = Duration{DefaultRunTimeout}
	}
	// A request cannot outlast its run: a short run shortens the default request timeout.
	if !present["provider.timeout"] {
		p.Timeout = Duration{min(DefaultRequestTimeout, m.Limits.Timeout.Duration)}
	}
}

// SyncNames returns the names of the manifest's syncs, sorted.
func (m *Manifest) SyncNames() []string {
	return slices.Sorted(maps.Keys(m.Syncs))
}

// ActionNames returns the names of the manifest's actions, sorted.
func (m *Manifest) ActionNames() []string {
	return slices.Sorted(maps.Keys(m.Actions))
}

// ModelNames returns the names of the manifest's models, sorted.
func (m *Manifest) ModelNames() []string {
	return slices.Sorted(maps.Keys(m.Models))
}

// DeleteShare returns the share of cached records a full run may delete, in
// (0, 1]: DeleteThreshold, or DefaultDeleteThreshold when it is not set.
func (s Sync) DeleteShare() float64 {
	if s.DeleteThreshold == nil {
		return DefaultDeleteThreshold
	}
	return *s.DeleteThreshold
}

// RetryCount returns how many times a failed request is retried: Retries, or
// DefaultRetries when it is not set.
func (p Provider) RetryCount() int {
	if p.Retries == nil {
		return DefaultRetries
	}
	return *p.Retries
}
