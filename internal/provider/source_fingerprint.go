package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
)

// Fingerprint prefixes: the fingerprint names the validator it holds, so that two fingerprints
// are only ever compared validator to validator.
const (
	fingerprintETag          = "etag:"
	fingerprintLastModified  = "last-modified:"
	fingerprintContentLength = "content-length:"
)

// sourceFingerprint picks the strongest validator the source answered: a strong ETag, else a
// weak ETag, else Last-Modified, else Content-Length. "" means the source answered none.
func sourceFingerprint(head apimall.HeadResult) string {
	if etag := strings.TrimSpace(head.ETag); etag != "" {
		return fingerprintETag + etag // a weak tag keeps its W/ prefix
	}
	if lm := strings.TrimSpace(head.LastModified); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			lm = t.UTC().Format(time.RFC3339)
		}
		return fingerprintLastModified + lm
	}
	if head.ContentLength >= 0 {
		return fingerprintContentLength + strconv.FormatInt(head.ContentLength, 10)
	}
	return ""
}

// sourceComparison is what comparing two fingerprints can tell.
type sourceComparison int

const (
	sourceSame sourceComparison = iota
	sourceChanged
	// sourceIncomparable: one side holds no validator, or the two hold different validators
	// (the source stopped sending its ETag, say). Nothing can be claimed, so nothing is replaced.
	sourceIncomparable
)

// compareSources compares a recorded fingerprint with the current one. ETags are compared
// with the weak comparison of RFC 9110 section 8.8.3.2 (the opaque tags match), since a server
// may mark the same tag weak on one answer and strong on the next.
func compareSources(recorded, current string) sourceComparison {
	switch {
	case recorded == current:
		return sourceSame
	case recorded == "" || current == "" || validatorOf(recorded) != validatorOf(current):
		return sourceIncomparable
	case validatorOf(recorded) == fingerprintETag && opaqueTag(recorded) == opaqueTag(current):
		return sourceSame
	default:
		return sourceChanged
	}
}

func validatorOf(fingerprint string) string {
	for _, prefix := range []string{fingerprintETag, fingerprintLastModified, fingerprintContentLength} {
		if strings.HasPrefix(fingerprint, prefix) {
			return prefix
		}
	}
	return ""
}

func opaqueTag(fingerprint string) string {
	return strings.TrimPrefix(strings.TrimPrefix(fingerprint, fingerprintETag), "W/")
}

// describeFingerprint names a fingerprint's validator for a diagnostic.
func describeFingerprint(fingerprint string) string {
	if fingerprint == "" {
		return "no validator"
	}
	return strings.TrimSuffix(validatorOf(fingerprint), ":") + " " + strings.TrimPrefix(fingerprint, validatorOf(fingerprint))
}
