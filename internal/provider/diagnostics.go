package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
// or the timeout, cancellation or network failure that ended it. An upload stopped by the
// timeout or by Ctrl-C after an answer carries that answer too; the advice is then about the
// timeout (or none), since more retries would not have helped.
func uploadFailedDiagnostic(err error, createTimeout time.Duration) diag.Diagnostic {
	var apiErr *apimall.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf(
			"The upload could not finish within the create timeout of %s (retries included): %s\n\n"+
				"Raise it with a timeouts { create = \"...\" } block if API Mall is slow to fetch this file.", createTimeout, withStop(err)))
	case errors.Is(err, context.Canceled):
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf(
			"The upload was interrupted: %s API Mall may have stored the file all the same; the next apply uploads it again.", withStop(err)))
	case errors.As(err, &apiErr):
		detail := err.Error()
		if advice := apiErr.Advice(); advice != "" {
			detail += "\n\n" + advice
		}
		if attr := attributeOf(apiErr); attr != "" {
			return diag.NewAttributeErrorDiagnostic(path.Root(attr), uploadFailedSummary, detail)
		}
		return diag.NewErrorDiagnostic(uploadFailedSummary, detail)
	default:
		return diag.NewErrorDiagnostic(uploadFailedSummary, fmt.Sprintf("Could not reach API Mall: %s.", err))
	}
}

// withStop ends an error's message with a full stop, once.
func withStop(err error) string {
	msg := err.Error()
	if strings.HasSuffix(msg, ".") {
		return msg
	}
	return msg + "."
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
func sourceCheckWarning(sourceURL string, err error, readTimeout time.Duration) diag.Diagnostic {
	reason := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = fmt.Sprintf("no answer within the read timeout of %s", readTimeout)
	}
	return diag.NewAttributeWarningDiagnostic(path.Root("source_url"), "Could not check the source for changes",
		fmt.Sprintf("Checking %s for changes failed: %s. Nothing is replaced because of it; the next plan checks again.", sourceURL, reason))
}

// sourceChangedWarning says why a resource whose configuration did not change is replaced: the
// plan itself only shows the fingerprint as known after apply.
func sourceChangedWarning(sourceURL, recorded, current string) diag.Diagnostic {
	return diag.NewAttributeWarningDiagnostic(path.Root("source_url"), "Source changed; planning a new upload",
		fmt.Sprintf("%s answered %s when it was uploaded and now answers %s, so the file behind it changed. "+
			"It is uploaded again and the hosted url and key change.",
			sourceURL, describeFingerprint(recorded), describeFingerprint(current)))
}

func sourceIncomparableWarning(sourceURL, recorded, current string) diag.Diagnostic {
	next := "Its changes cannot be detected until it answers one again."
	if current != "" {
		next = "To compare its new validator from now on, set detect_source_changes to false and apply, then back to " +
			"true and apply: both are in-place updates that upload nothing."
	}
	return diag.NewAttributeWarningDiagnostic(path.Root("source_url"), "Could not compare the source with the recorded one",
		fmt.Sprintf("%s now answers %s, but %s was recorded, so whether its content changed cannot be told. "+
			"Nothing is replaced because of it; set triggers_replace to upload it again by hand. %s",
			sourceURL, describeFingerprint(current), describeFingerprint(recorded), next))
}

func noValidatorsWarning(sourceURL string) diag.Diagnostic {
	return diag.NewAttributeWarningDiagnostic(path.Root("detect_source_changes"), "Source changes cannot be detected",
		fmt.Sprintf("%s answered without an ETag, Last-Modified or Content-Length header, so a change of its content "+
			"cannot be noticed. Use triggers_replace to upload it again by hand.", sourceURL))
}

func hostedCheckWarning(hostedURL, reason, key string) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Could not check the hosted file",
		fmt.Sprintf("Checking %s failed: %s. The state of %s is kept as it was; the next refresh checks again.", hostedURL, reason, key))
}

func invalidImportIDDiagnostic(err error) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Invalid import ID", fmt.Sprintf(
		"%s. Expected the hosted URL of a stored file, such as "+
			"https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png (the url attribute of the resource).", err))
}

func invalidBaseURLEnvDiagnostic(err error) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Invalid "+envBaseURL, fmt.Sprintf("The %s environment variable is not usable: %s.", envBaseURL, err))
}

func invalidMaxRetriesEnvDiagnostic(raw string) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root("max_retries"), "Invalid "+envMaxRetries,
		fmt.Sprintf("The %s environment variable is %q; expected a whole number between 0 and %d.", envMaxRetries, raw, apimall.MaxMaxRetries))
}

func clientConfigDiagnostic(err error) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root("base_url"), "Invalid API Mall client configuration", err.Error())
}

func unexpectedProviderDataDiagnostic(data any) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Unexpected provider data",
		fmt.Sprintf("Expected *provider.providerData, got %T. This is a bug in the provider; please report it.", data))
}
