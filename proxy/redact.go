package proxy

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
)

// minEchoedSecret is the shortest credential searched for in responses. Shorter ones would
// match ordinary data ("1234" in a phone number) and corrupt it; real tokens are far longer.
const minEchoedSecret = 8

// echoedSecrets returns the forms in which t's credentials could come back in a response: the
// secret values as sent, query-escaped, and basic auth's encoded pair. A basic auth username is
// not a secret and stays.
func (t *Target) echoedSecrets() [][]byte {
	var out [][]byte
	add := func(s string) {
		if len(s) < minEchoedSecret {
			return
		}
		out = append(out, []byte(s))
		if q := url.QueryEscape(s); q != s {
			out = append(out, []byte(q))
		}
	}
	c := t.Credentials
	switch t.Auth.Type {
	case "bearer":
		add(c["token"])
	case "header", "query":
		add(c["value"])
	case "basic":
		add(c["password"])
		if c["username"] != "" || c["password"] != "" {
			add(base64.StdEncoding.EncodeToString([]byte(c["username"] + ":" + c["password"])))
		}
	}
	return out
}

// redactResponse replaces the connection's credentials in a response's headers and body
// with REDACTED before the plugin sees it: a provider that echoes a request (a debugging
// endpoint, an error page quoting the URL, a redirect keeping the query) must not hand the
// plugin what the proxy added.
func (t *Target) redactResponse(r *Response) {
	secrets := t.echoedSecrets()
	if len(secrets) == 0 {
		return
	}
	for _, s := range secrets {
		if bytes.Contains(r.Body, s) {
			r.Body = bytes.ReplaceAll(r.Body, s, []byte("REDACTED"))
		}
	}
	for name, values := range r.Header {
		for i, v := range values {
			for _, s := range secrets {
				if strings.Contains(v, string(s)) {
					v = strings.ReplaceAll(v, string(s), "REDACTED")
				}
			}
			r.Header[name][i] = v
		}
	}
}
