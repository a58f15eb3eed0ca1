// Package publicip decides whether an address is publicly routable, for both the fake gateway's
// source fetches and the provider's plan-time source_url check.
package publicip

import (
	"net/netip"
	"strconv"
	"strings"
)

// nonPublic is the IANA special-purpose address table (RFC 6890 and its updates): blocks that
// are not globally reachable unicast. netip.Addr.IsGlobalUnicast is not a substitute: it answers
// true for 100.64.0.1, 198.18.0.1, 240.0.0.1 and fd00::1.
var nonPublic = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (192.88.99.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments (2001::/23)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (2002::/16)"},
}

// globalUnicastV6 is the only IPv6 block IANA allocates for global unicast.
var globalUnicastV6 = netip.MustParsePrefix("2000::/3")

// IsPublic reports whether addr is a globally routable unicast address. IPv4-mapped IPv6
// addresses are judged as the IPv4 address they carry.
func IsPublic(addr netip.Addr) bool {
	return Reason(addr) == ""
}

// Reason says why addr is not public ("loopback", "private (RFC 1918)", ...), or "" when it is.
func Reason(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not a valid address"
	}
	addr = addr.Unmap()
	for _, block := range nonPublic {
		if block.prefix.Contains(addr) {
			return block.reason
		}
	}
	if addr.Is6() && !globalUnicastV6.Contains(addr) {
		return "outside the IPv6 global unicast block (2000::/3)"
	}
	return ""
}

// IsLoopbackHost reports whether a URL host (without port) surely names this machine:
// "localhost", or a loopback address in the standard notation. Unlike the refusal side
// (ParseHostLiteral), it does not accept inet_aton spellings such as "127.1" or "0x7f.1": Go's
// resolver does not read those as addresses but asks DNS, which could answer anything, and this
// answer decides whether an API key may travel over plain http.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Zone() == "" && addr.Unmap().IsLoopback()
}

// ParseHostLiteral reads a URL host (no port; IPv6 in brackets or not) as an IP address the way
// a resolver would. For IPv4 that is inet_aton's grammar, which glibc applies to every name it
// resolves: one to four parts, each decimal, 0x-hex or 0-led octal, the last part filling the
// remaining bytes, so "2130706433", "0x7f.1", "0177.0.0.1" and "127.1" all mean 127.0.0.1.
// A host with an IPv6 zone ("fe80::1%eth0") parses with its zone kept. ok is false for a name.
func ParseHostLiteral(host string) (addr netip.Addr, ok bool) {
	host = strings.TrimSuffix(host, ".")
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.Contains(host, ":") {
		addr, err := netip.ParseAddr(host)
		return addr, err == nil
	}
	return parseInetAton(host)
}

func parseInetAton(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if host == "" || len(parts) > 4 {
		return netip.Addr{}, false
	}
	values := make([]uint64, len(parts))
	for i, part := range parts {
		v, ok := parseInetAtonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		values[i] = v
	}
	// Every part but the last is one byte; the last fills the bytes that remain.
	var ip uint64
	for _, v := range values[:len(values)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		ip = ip<<8 | v
	}
	lastBits := 8 * uint(5-len(values))
	last := values[len(values)-1]
	if last >= 1<<lastBits {
		return netip.Addr{}, false
	}
	ip = ip<<lastBits | last
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func parseInetAtonPart(part string) (uint64, bool) {
	base := 10
	digits := part
	switch {
	case len(part) > 1 && (part[:2] == "0x" || part[:2] == "0X"):
		base, digits = 16, part[2:]
		if digits == "" {
			return 0, true // inet_aton reads a bare "0x" as zero
		}
	case len(part) > 1 && part[0] == '0':
		base, digits = 8, part[1:]
	}
	if digits == "" || strings.ContainsAny(digits, "+-_") {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, base, 32)
	return v, err == nil
}
