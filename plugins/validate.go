package plugins

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	integrationPattern = regexp.MustCompile(`^[a-z0-9-]+$`)
	functionPattern    = regexp.MustCompile(`^[a-z0-9_-]+$`) // sync and action names
	modelPattern       = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// headerPattern is an HTTP field name (RFC 9110 token).
	headerPattern = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
)

// Bounds on manifest values.
const (
	maxIntegrationLen = 63
	minFrequency      = time.Second
	maxRetries        = 10
	maxMemoryMB       = 4096
	minRunTimeout     = time.Second
	maxRunTimeout     = 24 * time.Hour
)

// validate checks a decoded manifest whose defaults are applied and returns
// every problem at once.
func (m *Manifest) validate() error {
	var p problems

	switch {
	case m.Integration == "":
		p.add("integration", "required")
	case !integrationPattern.MatchString(m.Integration):
		p.add("integration", "%q must match [a-z0-9-]+", m.Integration)
	case len(m.Integration) > maxIntegrationLen:
		p.add("integration", "%q is %d characters long, at most %d allowed", m.Integration, len(m.Integration), maxIntegrationLen)
	}
	validateWasmPath(&p, m.Wasm)
	m.Provider.validate(&p, m.Limits)

	if len(m.Syncs) == 0 && len(m.Actions) == 0 {
		p.add("", "the manifest declares no syncs and no actions; add at least one")
	}
	for _, name := range m.ModelNames() {
		path := joinPath("models", name)
		if !modelPattern.MatchString(name) {
			p.add(path, "model name %q must match [A-Za-z0-9_]+", name)
		}
		validateSchema(&p, path, m.Models[name])
	}
	for _, name := range m.SyncNames() {
		m.validateSync(&p, name)
	}
	validateModelSharing(&p, m)
	for _, name := range m.ActionNames() {
		path := joinPath("actions", name)
		if !functionPattern.MatchString(name) {
			p.add(path, "action name %q must match [a-z0-9_-]+", name)
		}
		a := m.Actions[name]
		validateExport(&p, path+".export", a.Export)
		if a.Input != nil {
			validateSchema(&p, path+".input", a.Input)
		}
		if a.Output != nil {
			validateSchema(&p, path+".output", a.Output)
		}
	}
	if w := m.Webhook; w != nil {
		validateExport(&p, "webhook.export", w.Export)
		if s := w.Signature; s != nil {
			switch {
			case s.Header == "":
				p.add("webhook.signature.header", "required")
			case !headerPattern.MatchString(s.Header):
				p.add("webhook.signature.header", "%q is not a valid HTTP header name", s.Header)
			}
			switch s.Scheme {
			case SchemeHMACSHA256Hex, SchemeHMACSHA256Base64:
			case "":
				p.add("webhook.signature.scheme", "required (want %s or %s)", SchemeHMACSHA256Hex, SchemeHMACSHA256Base64)
			default:
				p.add("webhook.signature.scheme", "unknown scheme %q (want %s or %s)", s.Scheme, SchemeHMACSHA256Hex, SchemeHMACSHA256Base64)
			}
		}
	}

	if mb := m.Limits.MemoryMB; mb < 1 || mb > maxMemoryMB {
		p.add("limits.memory_mb", "%d is out of range (want 1 to %d)", mb, maxMemoryMB)
	}
	if d := m.Limits.Timeout; d.Duration < minRunTimeout || d.Duration > maxRunTimeout {
		p.add("limits.timeout", "%s is out of range (want 1s to 24h)", d)
	}
	return p.err()
}

// validateWasmPath keeps the module inside the plugin's directory: the path
// is resolved against ferry.yaml's directory by the CLI, on any OS.
func validateWasmPath(p *problems, path string) {
	slashed := strings.ReplaceAll(path, `\`, "/")
	switch {
	case path == "":
		p.add("wasm", "required")
	case strings.HasPrefix(slashed, "/") || filepath.VolumeName(path) != "" || (len(path) > 1 && path[1] == ':'):
		p.add("wasm", "%q must be a path relative to ferry.yaml", path)
	case slices.Contains(strings.Split(slashed, "/"), ".."):
		p.add("wasm", "%q must not contain \"..\"", path)
	}
}

func (pr *Provider) validate(p *problems, limits Limits) {
	validateBaseURL(p, pr.BaseURL)

	switch pr.Auth.Type {
	case AuthHeader:
		switch {
		case pr.Auth.Name == "":
			p.add("provider.auth.name", "required for auth type header")
		case !headerPattern.MatchString(pr.Auth.Name):
			p.add("provider.auth.name", "%q is not a valid HTTP header name", pr.Auth.Name)
		}
	case AuthQuery:
		if pr.Auth.Name == "" {
			p.add("provider.auth.name", "required for auth type query")
		}
	case AuthBearer, AuthBasic, AuthNone:
		if pr.Auth.Name != "" {
			p.add("provider.auth.name", "not used by auth type %s; remove it", pr.Auth.Type)
		}
	case "":
		p.add("provider.auth.type", "required (want bearer, header, query, basic or none)")
	default:
		p.add("provider.auth.type", "unknown auth type %q (want bearer, header, query, basic or none)", pr.Auth.Type)
	}

	if rl := pr.RateLimit; rl != nil {
		if !(rl.PerSecond > 0) || math.IsInf(rl.PerSecond, 0) {
			p.add("provider.rate_limit.per_second", "%v must be a number above 0", rl.PerSecond)
		}
		if rl.Burst < 1 {
			p.add("provider.rate_limit.burst", "%d must be at least 1", rl.Burst)
		}
	}

	for i, h := range pr.AllowedHosts {
		if msg := checkHost(h); msg != "" {
			p.add(fmt.Sprintf("provider.allowed_hosts[%d]", i), "%q %s", h, msg)
		}
	}
	pr.validatePrivateHosts(p)

	if t := pr.Timeout.Duration; t > limits.Timeout.Duration && limits.Timeout.Duration > 0 {
		p.add("provider.timeout", "%s is longer than limits.timeout (%s)", pr.Timeout, limits.Timeout)
	}
	if n := pr.RetryCount(); n < 0 || n > maxRetries {
		p.add("provider.retries", "%d is out of range (want 0 to %d)", n, maxRetries)
	}
}

func validateBaseURL(p *problems, raw string) {
	const path = "provider.base_url"
	if raw == "" {
		p.add(path, "required")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		p.add(path, "%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		p.add(path, "%q must be an absolute http or https URL", raw)
	case u.Host == "" || u.Hostname() == "":
		p.add(path, "%q has no host", raw)
	case u.User != nil:
		p.add(path, "must not carry credentials; give them to the connection instead")
	case u.Fragment != "":
		p.add(path, "%q must not have a fragment", raw)
	default:
		if msg := checkHost(u.Host); msg != "" {
			p.add(path, "host %q %s", u.Host, msg)
		}
	}
}

// checkHost checks a host or host:port as written in a URL's authority and
// returns what is wrong with it, or "".
func checkHost(h string) string {
	if h == "" {
		return "is empty"
	}
	if strings.Contains(h, "://") {
		return "must be a host like api.example.com, not a URL"
	}
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "is not a host or host:port"
	}
	host := u.Hostname()
	if host == "" {
		return "has no host name"
	}
	if port := u.Port(); port != "" || strings.HasSuffix(h, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	if net.ParseIP(host) == nil && !validHostname(host) {
		return "is not a valid host name"
	}
	return ""
}

// validHostname accepts DNS names made of letters, digits, hyphens and
// underscores (which some providers' hosts do use), dot-separated.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

func (m *Manifest) validateSync(p *problems, name string) {
	path := joinPath("syncs", name)
	s := m.Syncs[name]
	if !functionPattern.MatchString(name) {
		p.add(path, "sync name %q must match [a-z0-9_-]+", name)
	}
	validateExport(p, path+".export", s.Export)

	if len(s.Models) == 0 {
		p.add(path+".models", "at least one model is required")
	}
	seen := map[string]bool{}
	for _, model := range s.Models {
		switch {
		case seen[model]:
			p.add(path+".models", "model %q is listed twice", model)
		case model == "":
			p.add(path+".models", "model name is empty")
		default:
			if _, ok := m.Models[model]; !ok {
				p.add(path+".models", "model %q is not declared under models", model)
			}
		}
		seen[model] = true
	}

	switch s.Type {
	case SyncIncremental, SyncFull:
	case "":
		p.add(path+".type", "required (want incremental or full)")
	default:
		p.add(path+".type", "unknown sync type %q (want incremental or full)", s.Type)
	}
	if s.Frequency.Duration < minFrequency {
		p.add(path+".frequency", "%s is shorter than the minimum of 1s", s.Frequency)
	}
	if t := s.DeleteShare(); !(t > 0 && t <= 1) {
		p.add(path+".delete_threshold", "%v is out of range (want above 0 and at most 1)", t)
	}
}

// validateModelSharing refuses a model saved by a full sync and by another
// sync: at the end of a successful run, a full sync marks every record of its
// models that it did not save as deleted, which would delete the records the
// other sync saved.
func validateModelSharing(p *problems, m *Manifest) {
	users := map[string][]string{} // model -> sync names, sorted
	for _, name := range m.SyncNames() {
		for _, model := range m.Syncs[name].Models {
			if !slices.Contains(users[model], name) {
				users[model] = append(users[model], name)
			}
		}
	}
	for model, syncs := range users {
		if len(syncs) < 2 {
			continue
		}
		for _, name := range syncs {
			if m.Syncs[name].Type != SyncFull {
				continue
			}
			others := slices.DeleteFunc(slices.Clone(syncs), func(s string) bool { return s == name })
			p.add(joinPath("syncs", name)+".models",
				"model %q is also saved by sync %s; a full sync deletes the records it did not save, so its models cannot be shared",
				model, strings.Join(quoteAll(others), ", "))
		}
	}
}

// validateExport checks an export name the manifest points at. Names starting
// with "_" are the ABI's and the toolchain's (_start, _initialize,
// __ferry_abi_v1), never a plugin function.
func validateExport(p *problems, path, name string) {
	switch {
	case name == "":
		p.add(path, "required")
	case strings.HasPrefix(name, "_"):
		p.add(path, "%q must not start with \"_\" (such names are reserved for the ABI and the toolchain)", name)
	}
}

// validateSchema checks that a JSON Schema in the manifest is an object that
// can be stored and served as JSON. Whether it is a meaningful schema is
// checked where records are validated against it.
func validateSchema(p *problems, path string, schema any) {
	if _, ok := schema.(map[string]any); !ok {
		p.add(path, "a JSON Schema must be a mapping, got %s", describeValue(schema))
		return
	}
	if _, err := json.Marshal(schema); err != nil {
		p.add(path, "schema cannot be written as JSON: %v", err)
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// describeValue names the YAML type of a decoded free-form value.
func describeValue(v any) string {
	switch v := v.(type) {
	case []any:
		return "a list"
	case string:
		return "string " + strconv.Quote(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case int, int64, uint64, float64:
		return fmt.Sprint("number ", v)
	}
	return fmt.Sprintf("%T", v)
}
