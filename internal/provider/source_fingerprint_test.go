package provider

import (
	"testing"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
)

func TestSourceFingerprint(t *testing.T) {
	cases := map[string]struct {
		head apimall.HeadResult
		want string
	}{
		"strong etag wins": {
			apimall.HeadResult{ETag: `"abc"`, LastModified: "Tue, 24 Nov 2026 10:00:00 GMT", ContentLength: 10},
			`etag:"abc"`,
		},
		"weak etag kept as weak": {
			apimall.HeadResult{ETag: `W/"abc"`, LastModified: "Tue, 24 Nov 2026 10:00:00 GMT", ContentLength: 10},
			`etag:W/"abc"`,
		},
		"last-modified over length": {
			apimall.HeadResult{LastModified: "Tue, 24 Nov 2026 10:00:00 GMT", ContentLength: 10},
			"last-modified:2026-11-24T10:00:00Z",
		},
		"last-modified in an old format is normalised": {
			apimall.HeadResult{LastModified: "Tuesday, 24-Nov-26 10:00:00 GMT", ContentLength: 10},
			"last-modified:2026-11-24T10:00:00Z",
		},
		"unparsable last-modified kept as sent": {
			apimall.HeadResult{LastModified: "yesterday", ContentLength: -1},
			"last-modified:yesterday",
		},
		"length alone":  {apimall.HeadResult{ContentLength: 612441}, "content-length:612441"},
		"empty file":    {apimall.HeadResult{ContentLength: 0}, "content-length:0"},
		"no validators": {apimall.HeadResult{ContentLength: -1}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := sourceFingerprint(tc.head); got != tc.want {
				t.Errorf("sourceFingerprint(%+v) = %q, want %q", tc.head, got, tc.want)
			}
		})
	}
}

func TestCompareSources(t *testing.T) {
	cases := []struct {
		recorded, current string
		want              sourceComparison
	}{
		{`etag:"v1"`, `etag:"v1"`, sourceSame},
		{`etag:"v1"`, `etag:"v2"`, sourceChanged},
		{`etag:W/"v1"`, `etag:"v1"`, sourceSame},
		{`etag:"v1"`, `etag:W/"v1"`, sourceSame},
		{`etag:W/"v1"`, `etag:W/"v2"`, sourceChanged},
		{"last-modified:2026-11-24T10:00:00Z", "last-modified:2026-11-24T10:00:00Z", sourceSame},
		{"last-modified:2026-11-24T10:00:00Z", "last-modified:2026-11-25T10:00:00Z", sourceChanged},
		{"content-length:10", "content-length:11", sourceChanged},
		{`etag:"v1"`, "last-modified:2026-11-24T10:00:00Z", sourceIncomparable},
		{`etag:"v1"`, "", sourceIncomparable},
		{"", `etag:"v1"`, sourceIncomparable},
		{"", "", sourceSame},
	}
	for _, tc := range cases {
		if got := compareSources(tc.recorded, tc.current); got != tc.want {
			t.Errorf("compareSources(%q, %q) = %v, want %v", tc.recorded, tc.current, got, tc.want)
		}
	}
}
