package validators

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/apimall/terraform-provider-apimall/internal/publicip"
)

// SourceURL checks that a value is a URL API Mall can fetch: absolute, http or https, with a
// host, without user-info, and not aimed at a non-public address or at localhost. It does not
// look names up in DNS (a plan must not depend on the resolver); API Mall checks the address it
// actually connects to.
func SourceURL() validator.String {
	return stringCheck{
		summary:     "Invalid source URL",
		description: "must be an absolute http:// or https:// URL of a publicly reachable host",
		check:       checkSourceURL,
	}
}

func checkSourceURL(raw string) string {
	const expected = "expected an absolute http:// or https:// URL of a publicly reachable file, such as https://example.com/assets/image.png"
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL (%s); %s.", withoutUserInfo(raw), unwrapURLError(err), expected)
	case !u.IsAbs():
		return fmt.Sprintf("%q is not an absolute URL; %s.", withoutUserInfo(raw), expected)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("the scheme %q is not supported; %s.", u.Scheme, expected)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host; %s.", withoutUserInfo(raw), expected)
	case u.User != nil:
		return fmt.Sprintf("%q carries user info (user:password@); API Mall fetches public files only, and credentials in a URL end up in logs. %s.",
			withoutUserInfo(raw), upperFirst(expected))
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return fmt.Sprintf("the host %q has an IPv6 zone, which only means something on this machine; %s.", host, expected)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return fmt.Sprintf("the host %q is localhost, which API Mall refuses to fetch; %s.", host, expected)
	}
	if addr, ok := publicip.ParseHostLiteral(host); ok && !publicip.IsPublic(addr) {
		spelled := ""
		if canonical := addr.Unmap().String(); canonical != host && "["+canonical+"]" != u.Host {
			spelled = fmt.Sprintf(" (%s)", canonical)
		}
		return fmt.Sprintf("the host %q%s is a %s address, which API Mall refuses to fetch; %s.",
			host, spelled, publicip.Reason(addr), expected)
	}
	return ""
}

func unwrapURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// withoutUserInfo hides the user:password@ part of a URL as written, parsed or not, so that no
// message repeats a credential, whichever check the URL failed.
func withoutUserInfo(raw string) string {
	prefix, rest := "", raw
	if i := strings.Index(raw, "//"); i >= 0 {
		prefix, rest = raw[:i+2], raw[i+2:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return prefix + "REDACTED@" + rest[at+1:]
	}
	return raw
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
