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
		if indexSecret(r.Body, s) >= 0 {
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

// commonBytes lists bytes from the most to the least frequent in JSON bodies of ordinary
// text, roughly; a byte it leaves out is taken to be rarer than all of them.
const commonBytes = ` "e:,taoinsrlcdhu0123456789mpf.gybwv-_kTSACMEIRNOPDLB{}[]`

// byteRank is each byte's position in commonBytes, or len(commonBytes) if it is not there.
var byteRank = func() (rank [256]uint8) {
	for i := range rank {
		rank[i] = uint8(len(commonBytes))
	}
	for i := len(commonBytes) - 1; i >= 0; i-- {
		rank[commonBytes[i]] = uint8(i)
	}
	return rank
}()

// indexSecret is bytes.Index(body, secret), for the search of every proxied body: it looks
// for the secret's least frequent byte by byteRank with bytes.IndexByte, which runs many
// bytes at a time while it finds none, and compares the secret only where it finds one.
// bytes.Index looks for the first byte instead, which in a token such as "demo-token" is a
// common letter: three times slower on a page of contacts.
func indexSecret(body, secret []byte) int {
	if len(secret) == 0 {
		return 0
	}
	at := 0 // where in secret its rarest byte is
	for i, c := range secret {
		if byteRank[c] > byteRank[secret[at]] {
			at = i
		}
	}
	c, last := secret[at], len(body)-len(secret)+at // the last place the byte can match
	for i := at; i <= last; i++ {
		j := bytes.IndexByte(body[i:last+1], c)
		if j < 0 {
			return -1
		}
		i += j
		if start := i - at; bytes.Equal(body[start:start+len(secret)], secret) {
			return start
		}
	}
	return -1
}
