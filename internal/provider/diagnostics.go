package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
)

// This file is the one place where errors become the diagnostics a user reads.

const uploadFailedSummary = "Upload from URL failed"

func missingAPIKeyDiagnostic() diag.Diagnostic {
	return diag.NewErrorDiagnostic("Missing API Mall API key",
		"Uploading a file needs an API Mall API key. Set api_key in the provider \"apimall\" block, "+
			"or the "+envAPIKey+" environment variable.")
}

// uploadFailedDiagnostic explains a failed upload: the API's own answer with one line of advice,
// or the timeout, cancellation or network failure that ended it.
func uploadFailedDiagnostic(err error, createTimeout time.Duration) diag.Diagnostic {
	var apiErr *apimall.APIError
	switch {
	case errors.As(err, &apiErr):
		detail := err.Error()
		if advice := apiErr.Advice(); advice != "" {
			detail += "\n\n" + advice
		}
		if attr := attributeOf(apiErr); attr != "" {
			return diag.NewAttributeErrorDiagnostic(path.Root(attr), uploadFailedSummary, detail)
		}
		return diag.NewErrorDiagnostic(uploadFailedSummary, detail)
	case errors.Is(err, context.DeadlineExceeded):
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf(
			"The upload did not finish within the create timeout of %s (retries included): %s.\n\n"+
				"Raise it with a timeouts { create = \"...\" } block if API Mall is slow to fetch this file.", createTimeout, err))
	case errors.Is(err, context.Canceled):
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf(
			"The upload was interrupted before API Mall answered: %s. API Mall may still store the file; "+
				"the next apply uploads it again.", err))
	default:
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf("Could not reach API Mall: %s.", err))
	}
}

// attributeOf names the resource attribute that a 400 answer is about, so that Terraform can
// point at the line of configuration to fix. API Mall's invalid requests are about the source
// unless the answer names another field.
func attributeOf(apiErr *apimall.APIError) string {
	if apiErr.StatusCode != http.StatusBadRequest {
		return ""
	}
	if field, ok := apiErr.Details["field"].(string); ok {
		switch field {
		case "filename", "content_type":
			return field
		}
	}
	return "source_url"
}

// sourceCheckWarning reports a source that could not be checked for changes: never a reason to
// replace, and never a reason to stop the plan.
func sourceCheckWarning(sourceURL string, err error, timeout time.Duration) diag.Diagnostic {
	reason := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = fmt.Sprintf("no answer within the read timeout of %s", timeout)
	}
	return diag.NewAttributeWarningDiagnostic(path.Root("source_url"), "Could not check the source for changes",
		fmt.Sprintf("Checking %s for changes failed: %s. Nothing is replaced because of it; the next plan checks again.", sourceURL, reason))
}
