package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// resolve turns a plugin's path or URL into the URL to call, refusing hosts the connection may
// not reach.
func (t *Target) resolve(req Request) (*url.URL, error) {
	var u *url.URL
	if req.URL != "" {
		var err error
		if u, err = url.Parse(req.URL); err != nil {
			return nil, fmt.Errorf("bad url %q: %w", req.URL, err)
		}
		if !u.IsAbs() {
			return nil, fmt.Errorf("url %q is not absolute; use path for URLs relative to the base URL", req.URL)
		}
	} else {
		if t.BaseURL == nil {
			return nil, fmt.Errorf("no base URL to resolve path %q against", req.Path)
		}
		rel, err := url.Parse(req.Path)
		if err != nil || rel.IsAbs() || rel.Host != "" {
			return nil, fmt.Errorf("bad path %q: must be a path relative to the base URL", req.Path)
		}
		u = new(url.URL)
		*u = *t.BaseURL
		// The base URL's own path is a prefix ("https://api.example.com/v2" + "/contacts").
		u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(rel.Path, "/")
		u.RawPath = ""
		u.RawQuery = mergeQuery(u.Query(), rel.Query()).Encode()
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q not allowed (http or https only)", u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials in the URL are not allowed")
	}
	if t.BaseURL != nil && t.BaseURL.Scheme == "https" && u.Scheme == "http" {
		return nil, fmt.Errorf("plain http is not allowed for a connection whose base URL is https")
	}
	if !t.allowed(u) {
		return nil, fmt.Errorf("host %q is not in the allowed hosts %v", u.Host, t.allowedList())
	}
	q := mergeQuery(u.Query(), req.Query)
	if t.Auth.Type == "query" {
		q.Del(t.Auth.Name)
	}
	u.RawQuery = q.Encode()
	return u, nil
}

func mergeQuery(dst, src url.Values) url.Values {
	for k, vs := range src {
		dst[k] = append(dst[k], vs...)
	}
	return dst
}

func (t *Target) allowedList() []string {
	list := make([]string, 0, len(t.AllowedHosts)+1)
	if t.BaseURL != nil {
		list = append(list, t.BaseURL.Host)
	}
	return append(list, t.AllowedHosts...)
}

// allowed matches u's host against the allowed list: "host:port" matches that port only;
// "host" and "*.example.com" (any subdomain) match the scheme's default port only, so that a
// plugin cannot reach another service on an allowed host.
func (t *Target) allowed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	hostPort := strings.ToLower(u.Host)
	defaultPort := u.Port() == "" || (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443")
	for _, a := range t.allowedList() {
		a = strings.ToLower(a)
		switch {
		case a == hostPort:
			return true
		case a == host || (strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:])):
			if defaultPort {
				return true
			}
		}
	}
	return false
}

// secretHeader reports whether a plugin-set header would carry or override credentials.
func (t *Target) secretHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie":
		return true
	}
	return t.Auth.Type == "header" && strings.EqualFold(name, t.Auth.Name)
}

func (t *Target) authorize(r *http.Request) {
	c := t.Credentials
	switch t.Auth.Type {
	case "bearer":
		r.Header.Set("Authorization", "Bearer "+c["token"])
	case "header":
		r.Header.Set(t.Auth.Name, c["value"])
	case "query":
		q := r.URL.Query()
		q.Set(t.Auth.Name, c["value"])
		r.URL.RawQuery = q.Encode()
	case "basic":
		r.SetBasicAuth(c["username"], c["password"])
	}
}

// redact renders u for logs: no query-auth secret, no credentials.
func redact(u *url.URL, t *Target) string {
	return redactString(u.String(), t)
}

// redactString removes t's credentials from s, a URL or an error for the logs. It is
// stricter than redactResponse (echoedSecrets): every credential of 4 bytes or more, the
// basic auth username included, since a log line loses nothing by it, while a response is
// the plugin's data and must not be corrupted by replacing short, common strings.
func redactString(s string, t *Target) string {
	if t.Auth.Type == "query" && t.Auth.Name != "" {
		s = queryParam(t.Auth.Name).ReplaceAllString(s, "${1}REDACTED")
	}
	for _, secret := range t.Credentials {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "REDACTED")
			s = strings.ReplaceAll(s, url.QueryEscape(secret), "REDACTED")
		}
	}
	return s
}

// queryParam matches a query parameter's value in a URL, however the URL is quoted.
func queryParam(name string) *regexp.Regexp {
	return regexp.MustCompile(`([?&]` + regexp.QuoteMeta(url.QueryEscape(name)) + `=)[^&\s"']*`)
}
