package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
)

func TestUploadFailedDiagnostic(t *testing.T) {
	badRequest := func(details map[string]any) error {
		return &apimall.APIError{StatusCode: 400, Code: "invalid_request", Message: "Invalid field", Details: details, RequestID: "req_1", Attempts: 1}
	}
	cases := map[string]struct {
		err        error
		wantPath   path.Path // empty for none
		wantDetail []string
	}{
		"400 about the source": {badRequest(map[string]any{"status": 404}), path.Root("source_url"),
			[]string{"API Mall answered 400 invalid_request: Invalid field (details: status=404). Request ID: req_1"}},
		"400 about the filename":     {badRequest(map[string]any{"field": "filename"}), path.Root("filename"), []string{"Request ID: req_1"}},
		"400 about the content type": {badRequest(map[string]any{"field": "content_type"}), path.Root("content_type"), nil},
		"401 with advice": {&apimall.APIError{StatusCode: 401, Code: "unauthorized", Message: "Invalid API key", RequestID: "req_2", Attempts: 1}, path.Empty(),
			[]string{"Request ID: req_2", "Check the API key: api_key in the provider block, or the APIMALL_API_KEY environment variable."}},
		"deadline": {fmt.Errorf("no answer after 3 attempts: %w", context.DeadlineExceeded), path.Empty(),
			[]string{"could not finish within the create timeout of 2m0s (retries included): no answer after 3 attempts: context deadline exceeded.", "timeouts { create = \"...\" }"}},
		"cancelled": {fmt.Errorf("no answer after 1 attempt: %w", context.Canceled), path.Empty(),
			[]string{"The upload was interrupted: no answer after 1 attempt: context canceled. API Mall may have stored the file", "the next apply uploads it again"}},
		// Stopped after an answer: the answer is in the message, the advice is about the timeout.
		"deadline after a 503": {fmt.Errorf("the server asked to retry after 30s: %w. Last answer: %w", context.DeadlineExceeded,
			&apimall.APIError{StatusCode: 503, Code: "unavailable", Message: "Busy", RequestID: "req_3", Attempts: 1}), path.Empty(),
			[]string{"Request ID: req_3", "timeouts { create = \"...\" }"}},
		"cancelled after a 500": {fmt.Errorf("cancelled while waiting to retry: %w. Last answer: %w", context.Canceled,
			&apimall.APIError{StatusCode: 500, Code: "internal_error", Message: "Internal error", RequestID: "req_4", Attempts: 1}), path.Empty(),
			[]string{"The upload was interrupted", "Request ID: req_4"}},
		"network": {errors.New("no answer after 5 attempts: dial tcp 127.0.0.1:1: connect: connection refused"), path.Empty(),
			[]string{"Could not reach API Mall: no answer after 5 attempts: dial tcp 127.0.0.1:1: connect: connection refused."}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := uploadFailedDiagnostic(tc.err, 2*time.Minute)
			if d.Severity() != diag.SeverityError || d.Summary() != uploadFailedSummary {
				t.Errorf("got %s %q, want an error %q", d.Severity(), d.Summary(), uploadFailedSummary)
			}
			var got path.Path
			if withPath, ok := d.(diag.DiagnosticWithPath); ok {
				got = withPath.Path()
			}
			if got.String() != tc.wantPath.String() {
				t.Errorf("path %s, want %s", got, tc.wantPath)
			}
			for _, want := range tc.wantDetail {
				if !strings.Contains(d.Detail(), want) {
					t.Errorf("detail %q does not say %q", d.Detail(), want)
				}
			}
			if (errors.Is(tc.err, context.DeadlineExceeded) || errors.Is(tc.err, context.Canceled)) && strings.Contains(d.Detail(), "max_retries") {
				t.Errorf("detail %q advises max_retries for an upload that was stopped, not out of retries", d.Detail())
			}
		})
	}
}

func TestSameMediaType(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"image/png", "image/png", true},
		{"image/png; charset=binary", "image/png", true},
		{"IMAGE/PNG", "image/png", true},
		{"image/png", "image/webp", false},
		{"", "image/png", false},
		{"not a type;;", "not a type;;", true},
	}
	for _, tc := range cases {
		if got := sameMediaType(tc.a, tc.b); got != tc.want {
			t.Errorf("sameMediaType(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
