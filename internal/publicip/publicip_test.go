package publicip

import (
	"net/netip"
	"testing"
)

func TestIsPublic(t *testing.T) {
	cases := map[string]bool{
		// Each special-purpose block: first, inside and last address.
		"0.0.0.0": false, "0.255.255.255": false,
		"10.0.0.0": false, "10.20.30.40": false, "10.255.255.255": false,
		"100.64.0.0": false, "100.64.0.1": false, "100.127.255.255": false,
		"127.0.0.1": false, "127.255.255.255": false,
		"169.254.0.0": false, "169.254.169.254": false, "169.254.255.255": false,
		"172.16.0.0": false, "172.20.1.1": false, "172.31.255.255": false,
		"192.0.0.0": false, "192.0.0.255": false,
		"192.0.2.0": false, "192.0.2.255": false,
		"192.88.99.0": false, "192.88.99.255": false,
		"192.168.0.0": false, "192.168.1.1": false, "192.168.255.255": false,
		"198.18.0.0": false, "198.18.0.1": false, "198.19.255.255": false,
		"198.51.100.0": false, "198.51.100.255": false,
		"203.0.113.0": false, "203.0.113.255": false,
		"224.0.0.0": false, "239.255.255.255": false,
		"240.0.0.0": false, "240.0.0.1": false, "255.255.255.255": false,
		"::": false, "::1": false, "fc00::": false, "fd00::1": false, "fe80::1": false, "ff02::1": false,
		"2001::": false, "2001:1ff:ffff::": false, "2001:db8::1": false, "2002::1": false,
		"64:ff9b::7f00:1": false, "100::1": false, "4000::1": false,
		// IPv4-mapped IPv6 is judged by the IPv4 address it carries.
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true,
		// Public neighbours of the blocks above, and well-known public addresses.
		"1.1.1.1": true, "8.8.8.8": true, "9.255.255.255": true, "11.0.0.0": true,
		"100.63.255.255": true, "100.128.0.0": true, "172.15.255.255": true, "172.32.0.0": true,
		"192.0.1.255": true, "192.0.3.0": true, "192.167.255.255": true, "192.169.0.0": true,
		"198.17.255.255": true, "198.20.0.0": true, "223.255.255.255": true,
		"2606:4700::1111": true, "2001:200::1": true, "2003::1": true, "2a00:1450::1": true,
	}
	for in, want := range cases {
		addr := netip.MustParseAddr(in)
		if got := IsPublic(addr); got != want {
			t.Errorf("IsPublic(%s) = %v, want %v (reason %q)", in, got, want, Reason(addr))
		}
		if got := Reason(addr) == ""; got != want {
			t.Errorf("Reason(%s) = %q, inconsistent with IsPublic", in, Reason(addr))
		}
	}
}

func TestReason(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1":        "loopback",
		"::ffff:127.0.0.1": "loopback",
		"10.1.2.3":         "private (RFC 1918)",
		"100.64.0.1":       "carrier-grade NAT (RFC 6598)",
		"169.254.169.254":  "link-local",
		"fd00::1":          "unique local (RFC 4193)",
		"::":               "unspecified",
		"8.8.8.8":          "",
	}
	for in, want := range cases {
		if got := Reason(netip.MustParseAddr(in)); got != want {
			t.Errorf("Reason(%s) = %q, want %q", in, got, want)
		}
	}
	if got := Reason(netip.Addr{}); got == "" {
		t.Error("the zero Addr counts as public")
	}
}

func TestParseHostLiteral(t *testing.T) {
	cases := map[string]string{ // host -> address, "" for a name
		"127.0.0.1":          "127.0.0.1",
		"2130706433":         "127.0.0.1",
		"0x7f000001":         "127.0.0.1",
		"0x7f.1":             "127.0.0.1",
		"0X7F.0.0.1":         "127.0.0.1",
		"0177.0.0.1":         "127.0.0.1",
		"0177.1":             "127.0.0.1",
		"127.1":              "127.0.0.1",
		"127.0.1":            "127.0.0.1",
		"10.0x10.0300":       "10.16.0.192",
		"017700000001":       "127.0.0.1",
		"0":                  "0.0.0.0",
		"127.0.0.1.":         "127.0.0.1",
		"[::ffff:127.0.0.1]": "::ffff:127.0.0.1",
		"::1":                "::1",
		"[fe80::1%eth0]":     "fe80::1%eth0",
		"example.com":        "",
		"localhost":          "",
		"1.2.3.4.example":    "",
		"1.2.3.4.5":          "",
		"256.1.1.1":          "",
		"1.2.3.256":          "",
		"1.2.65536":          "",
		"4294967296":         "",
		"0x7g.1":             "",
		"08.0.0.1":           "",
		"1..2":               "",
		"-1.2.3.4":           "",
		"+1.2.3.4":           "",
		"":                   "",
		"[not-an-address]":   "",
	}
	for host, want := range cases {
		addr, ok := ParseHostLiteral(host)
		if want == "" {
			if ok {
				t.Errorf("ParseHostLiteral(%q) = %s, want a name (ok=false)", host, addr)
			}
			continue
		}
		if !ok || addr.String() != want {
			t.Errorf("ParseHostLiteral(%q) = %s, %v; want %s", host, addr, ok, want)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	cases := map[string]bool{
		"localhost": true, "LOCALHOST.": true, "127.0.0.1": true, "127.0.0.2": true,
		"::1": true, "[::1]": true, "[::ffff:127.0.0.1]": true,
		"cdn.localhost": false, "10.0.0.1": false, "gateway.apimall.ai": false, "": false,
		// Spellings that glibc reads as 127.0.0.1 but Go's resolver sends to DNS.
		"127.1": false, "0x7f.1": false, "2130706433": false, "0177.0.0.1": false, "127.0.0.1.": false,
	}
	for host, want := range cases {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseHostLiteral(f *testing.F) {
	for _, seed := range []string{"127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "example.com", "0x", "1.2.3.4.5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		addr, ok := ParseHostLiteral(host)
		if ok && !addr.IsValid() {
			t.Fatalf("ParseHostLiteral(%q) reported an invalid address as a literal", host)
		}
		if ok {
			_ = IsPublic(addr)
		}
	})
}
