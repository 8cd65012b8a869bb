package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// nonPublic lists the address ranges a plugin may not reach unless its manifest allows
// private networks, with the name an error gives each. Order matters only for the name.
var nonPublic = []struct {
	prefix netip.Prefix
	name   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"}, // "this network": Linux routes it to the host itself
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // includes cloud metadata (169.254.169.254)
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("fc00::/7"), "private"},                         // unique local, includes AWS's fd00:ec2::254
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"}, // includes Alibaba's metadata 100.100.100.200
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
}

// PrivateRange names the non-public range ip lies in ("loopback", "private", "link-local",
// "unspecified", ...), or returns "" for an address on the public internet. An IPv4 address
// written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
func PrivateRange(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, r := range nonPublic {
		if r.prefix.Contains(ip) {
			return r.name
		}
	}
	return ""
}

// BlockedAddressError is a connection the proxy refused to open because its address is not on
// the public internet and the target does not allow private networks.
type BlockedAddressError struct {
	// Addr is the address that was about to be dialled, after DNS resolution.
	Addr netip.Addr
	// Range names its range, as PrivateRange does.
	Range string
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("address %s is %s, not on the public internet; the manifest must set provider.allow_private_networks: true to reach it",
		e.Addr, article(e.Range))
}

func article(s string) string {
	switch s[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + s + " address"
	}
	return "a " + s + " address"
}

// publicOnly is a net.Dialer ControlContext hook that refuses to connect to a non-public
// address. It runs on the address actually dialled, after DNS resolution, once per address
// tried, so a host name that resolves (or is rebound) to a private address is refused too.
func publicOnly(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: cannot check the address: %w", network, address, err)
	}
	if r := PrivateRange(ap.Addr()); r != "" {
		return &BlockedAddressError{Addr: ap.Addr().Unmap(), Range: r}
	}
	return nil
}

// newDialer returns the dialer of a transport, refusing non-public addresses unless
// allowPrivate.
func newDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.ControlContext = publicOnly
	}
	return d
}
