package plugins

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ferrysync/ferry/proxy"
)

// validatePrivateHosts refuses, unless the manifest allows private networks, a base URL or an
// allowed host that names a non-public address outright (an IP in a private range,
// "localhost"): such a plugin could never reach its provider, and the deploy says so instead
// of every run. Names that resolve to private addresses are caught by the proxy when it dials.
func (pr *Provider) validatePrivateHosts(p *problems) {
	if pr.AllowPrivateNetworks {
		return
	}
	var baseHost string
	if u, err := url.Parse(pr.BaseURL); err == nil && u.Host != "" {
		baseHost = u.Hostname()
		if r := privateHost(baseHost); r != "" {
			p.add("provider.base_url", "host %q is %s; set provider.allow_private_networks: true to reach it", baseHost, r)
		}
	}
	for i, h := range pr.AllowedHosts {
		u, err := url.Parse("//" + h)
		if err != nil || u.Hostname() == baseHost {
			continue // checkHost reports a bad host; the base URL's is reported once
		}
		if r := privateHost(u.Hostname()); r != "" {
			p.add(fmt.Sprintf("provider.allowed_hosts[%d]", i), "host %q is %s; set provider.allow_private_networks: true to reach it", u.Hostname(), r)
		}
	}
}

// privateHost describes host when it is plainly not on the public internet, or returns "".
func privateHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "a loopback name"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	if r := proxy.PrivateRange(ip); r != "" {
		return "a " + r + " address"
	}
	return ""
}
