package apimall

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"
)

// HeadResult is what a HEAD request learned.
type HeadResult struct {
	StatusCode int
	// ContentType is the Content-Type header, "" when absent.
	ContentType string
	// ContentLength is the Content-Length header, -1 when absent.
	ContentLength int64
	ETag          string
	LastModified  string
	// Attempts is how many requests it took, retries included.
	Attempts int
	// RetriesCut says why retrying stopped before max_retries although the answer asked for a
	// retry (the deadline was too close, or the caller cancelled); nil otherwise.
	RetriesCut error
}

// Describe names the answer for a message: its status, and why it was not retried further.
func (h HeadResult) Describe() string {
	s := fmt.Sprintf("HTTP %d after %s", h.StatusCode, attempts(h.Attempts))
	if h.RetriesCut != nil {
		s += fmt.Sprintf(" (not retried further: %s)", h.RetriesCut)
	}
	return s
}

// Head sends an unauthenticated HEAD to rawURL (a hosted file or a source), retried like an
// upload and following redirects. The API key is never sent with it. The error is for
// requests that got no HTTP answer at all; any status, 404 or 500 included, is a result.
func (c *Client) Head(ctx context.Context, rawURL string) (HeadResult, error) {
	ctx = c.logContext(ctx)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return HeadResult{}, c.redact(fmt.Errorf("building a HEAD request for %s: %w", rawURL, err))
	}
	req.Header.Set("User-Agent", c.userAgent)
	run := c.newRun(ctx, c.public)
	resp, err := run.client.Do(req)
	if resp == nil {
		return HeadResult{}, c.redact(run.transportError(err))
	}
	defer resp.Body.Close()
	return HeadResult{
		StatusCode:    resp.StatusCode,
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
		ETag:          resp.Header.Get("ETag"),
		LastModified:  resp.Header.Get("Last-Modified"),
		Attempts:      run.attempts,
		RetriesCut:    c.redact(retriesCut(resp, err)),
	}, nil
}

// retriesCut is the error that stopped the retries of an answer worth retrying; an answer that
// is never retried (403, say) was not cut short, whatever ended the context meanwhile.
func retriesCut(resp *http.Response, err error) error {
	if err == nil || !retryableStatus(resp.StatusCode) {
		return nil
	}
	return err
}

// HostedState is what a check of a hosted file found.
type HostedState int

const (
	// HostedUnknown means the check failed: no answer, or one that says nothing about the file.
	HostedUnknown HostedState = iota
	// HostedPresent means the file is served (2xx).
	HostedPresent
	// HostedGone means the file was deleted (404 or 410).
	HostedGone
)

// HostedCheck is the outcome of CheckHosted.
type HostedCheck struct {
	State HostedState
	// ContentType and ContentLength come from the headers of a present file ("" and -1 when absent).
	ContentType   string
	ContentLength int64
	// Reason says what went wrong when State is HostedUnknown, and what was seen otherwise.
	Reason string
}

// CheckHosted checks a hosted file with Head.
func (c *Client) CheckHosted(ctx context.Context, hostedURL string) HostedCheck {
	head, err := c.Head(ctx, hostedURL)
	switch {
	case err != nil:
		return HostedCheck{State: HostedUnknown, ContentLength: -1, Reason: err.Error()}
	case head.StatusCode >= 200 && head.StatusCode < 300:
		return HostedCheck{State: HostedPresent, ContentType: head.ContentType, ContentLength: head.ContentLength,
			Reason: fmt.Sprintf("HTTP %d", head.StatusCode)}
	case head.StatusCode == http.StatusNotFound || head.StatusCode == http.StatusGone:
		return HostedCheck{State: HostedGone, ContentLength: -1, Reason: fmt.Sprintf("HTTP %d", head.StatusCode)}
	default:
		return HostedCheck{State: HostedUnknown, ContentLength: -1,
			Reason: "the hosted file answered " + head.Describe()}
	}
}
