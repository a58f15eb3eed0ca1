package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// validate runs v on value and returns the one error's summary and detail, or "" when valid.
func validate(t *testing.T, v validator.String, value types.String) (summary, detail string) {
	t.Helper()
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("attr"), ConfigValue: value}, resp)
	switch resp.Diagnostics.ErrorsCount() {
	case 0:
		return "", ""
	case 1:
		return resp.Diagnostics.Errors()[0].Summary(), resp.Diagnostics.Errors()[0].Detail()
	default:
		t.Fatalf("more than one error: %v", resp.Diagnostics)
		return "", ""
	}
}

type validatorCase struct {
	value      string
	wantDetail string // "" for a valid value; else the whole detail
}

func runCases(t *testing.T, v validator.String, wantSummary string, cases map[string]validatorCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			summary, detail := validate(t, v, types.StringValue(tc.value))
			if tc.wantDetail == "" {
				if summary != "" {
					t.Fatalf("%q refused: %s: %s", tc.value, summary, detail)
				}
				return
			}
			if summary != wantSummary || detail != tc.wantDetail {
				t.Errorf("%q:\n got %q: %q\nwant %q: %q", tc.value, summary, detail, wantSummary, tc.wantDetail)
			}
		})
	}
	for _, skipped := range []types.String{types.StringNull(), types.StringUnknown()} {
		if summary, _ := validate(t, v, skipped); summary != "" {
			t.Errorf("%s value refused: %s", skipped, summary)
		}
	}
}

func TestSourceURL(t *testing.T) {
	const expected = "expected an absolute http:// or https:// URL of a publicly reachable file, such as https://example.com/assets/image.png."
	runCases(t, SourceURL(), "Invalid source URL", map[string]validatorCase{
		"https":              {"https://example.com/assets/reference-image.png", ""},
		"http with port":     {"http://assets.example.com:8080/cat.png?v=2", ""},
		"public ip":          {"https://93.184.215.14/a.png", ""},
		"public ipv6":        {"https://[2606:4700::1111]/a.png", ""},
		"name like numbers":  {"https://1.2.3.4.nip.example/a.png", ""},
		"relative":           {"/assets/cat.png", `attr: "/assets/cat.png" is not an absolute URL; ` + expected},
		"ftp":                {"ftp://example.com/cat.png", `attr: the scheme "ftp" is not supported; ` + expected},
		"file":               {"file:///etc/passwd", `attr: the scheme "file" is not supported; ` + expected},
		"no host":            {"https:///cat.png", `attr: "https:///cat.png" has no host; ` + expected},
		"unparsable":         {"https://exa mple.com/%zz", `attr: "https://exa mple.com/%zz" is not a URL (invalid character " " in host name); ` + expected},
		"user info, no host": {"https://user:secret@/cat.png", `attr: "https://REDACTED@/cat.png" has no host; ` + expected},
		"user info, bad port": {"https://user:secret@example.com:port/cat.png",
			`attr: "https://REDACTED@example.com:port/cat.png" is not a URL (invalid port ":port" after host); ` + expected},
		"user info": {"https://user:secret@example.com/cat.png",
			`attr: "https://REDACTED@example.com/cat.png" carries user info (user:password@); API Mall fetches public files only, and credentials in a URL end up in logs. Expected an absolute http:// or https:// URL of a publicly reachable file, such as https://example.com/assets/image.png.`},
		"ipv6 zone":       {"http://[fe80::1%25eth0]/a.png", `attr: the host "fe80::1%eth0" has an IPv6 zone, which only means something on this machine; ` + expected},
		"localhost":       {"http://localhost:8080/a.png", `attr: the host "localhost" is localhost, which API Mall refuses to fetch; ` + expected},
		"localhost dot":   {"http://LOCALHOST./a.png", `attr: the host "LOCALHOST." is localhost, which API Mall refuses to fetch; ` + expected},
		"sub.localhost":   {"http://cdn.localhost/a.png", `attr: the host "cdn.localhost" is localhost, which API Mall refuses to fetch; ` + expected},
		"loopback":        {"http://127.0.0.1/a.png", `attr: the host "127.0.0.1" is a loopback address, which API Mall refuses to fetch; ` + expected},
		"decimal":         {"http://2130706433/a.png", `attr: the host "2130706433" (127.0.0.1) is a loopback address, which API Mall refuses to fetch; ` + expected},
		"hex":             {"http://0x7f.1/a.png", `attr: the host "0x7f.1" (127.0.0.1) is a loopback address, which API Mall refuses to fetch; ` + expected},
		"octal":           {"http://0177.0.0.1/a.png", `attr: the host "0177.0.0.1" (127.0.0.1) is a loopback address, which API Mall refuses to fetch; ` + expected},
		"short":           {"http://127.1/a.png", `attr: the host "127.1" (127.0.0.1) is a loopback address, which API Mall refuses to fetch; ` + expected},
		"mapped":          {"http://[::ffff:127.0.0.1]/a.png", `attr: the host "::ffff:127.0.0.1" (127.0.0.1) is a loopback address, which API Mall refuses to fetch; ` + expected},
		"ipv6 loopback":   {"http://[::1]/a.png", `attr: the host "::1" is a loopback address, which API Mall refuses to fetch; ` + expected},
		"rfc1918":         {"https://192.168.1.10/a.png", `attr: the host "192.168.1.10" is a private (RFC 1918) address, which API Mall refuses to fetch; ` + expected},
		"metadata":        {"http://169.254.169.254/latest", `attr: the host "169.254.169.254" is a link-local address, which API Mall refuses to fetch; ` + expected},
		"cgnat":           {"http://100.64.0.1/a.png", `attr: the host "100.64.0.1" is a carrier-grade NAT (RFC 6598) address, which API Mall refuses to fetch; ` + expected},
		"ula":             {"http://[fd00::1]/a.png", `attr: the host "fd00::1" is a unique local (RFC 4193) address, which API Mall refuses to fetch; ` + expected},
		"unspecified":     {"http://0.0.0.0/a.png", `attr: the host "0.0.0.0" is a "this network" (0.0.0.0/8) address, which API Mall refuses to fetch; ` + expected},
		"trailing dot ip": {"http://10.0.0.1./a.png", `attr: the host "10.0.0.1." (10.0.0.1) is a private (RFC 1918) address, which API Mall refuses to fetch; ` + expected},
	})
}

func TestFilename(t *testing.T) {
	const expected = "expected a plain file name such as reference-image.png: 1 to 255 bytes, without /, \\ or control characters, and not . or ..."
	runCases(t, Filename(), "Invalid filename", map[string]validatorCase{
		"plain":         {"reference-image.png", ""},
		"unicode":       {"chat-été.png", ""},
		"dotfile":       {".hidden.png", ""},
		"255 bytes":     {strings.Repeat("a", 255), ""},
		"empty":         {"", "attr: the file name is empty; " + expected},
		"256 bytes":     {strings.Repeat("a", 256), "attr: the file name is 256 bytes long; " + expected},
		"dot":           {".", `attr: "." names a directory, not a file; ` + expected},
		"dotdot":        {"..", `attr: ".." names a directory, not a file; ` + expected},
		"slash":         {"a/b.png", `attr: the file name "a/b.png" contains a path separator; ` + expected},
		"backslash":     {`a\b.png`, `attr: the file name "a\\b.png" contains a path separator; ` + expected},
		"newline":       {"a\nb.png", `attr: the file name "a\nb.png" contains a control character; ` + expected},
		"nul":           {"a\x00b.png", `attr: the file name "a\x00b.png" contains a control character; ` + expected},
		"del":           {"a\x7fb.png", `attr: the file name "a\x7fb.png" contains a control character; ` + expected},
		"invalid utf-8": {"a\xffb.png", `attr: the file name "a\xffb.png" is not valid UTF-8; ` + expected},
	})
}

func TestUploadContentType(t *testing.T) {
	const expected = "expected an image/*, video/* or audio/* media type, such as image/png, video/mp4 or audio/mpeg."
	runCases(t, UploadContentType(), "Invalid content type", map[string]validatorCase{
		"png":        {"image/png", ""},
		"mp4":        {"video/mp4", ""},
		"mpeg":       {"audio/mpeg", ""},
		"parameters": {"audio/ogg; codecs=opus", ""},
		"upper case": {"IMAGE/PNG", ""},
		"html":       {"text/html", `attr: "text/html" is of the text family, which API Mall does not store; ` + expected},
		"json":       {"application/json", `attr: "application/json" is of the application family, which API Mall does not store; ` + expected},
		"no subtype": {"png", `attr: "png" is not a valid media type; ` + expected},
		"empty":      {"", `attr: "" is not a valid media type; ` + expected},
		"garbage":    {"image/png;;=", `attr: "image/png;;=" is not a valid media type; ` + expected},
	})
}
