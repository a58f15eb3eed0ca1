// Package apimall is the HTTP client of API Mall's files API: uploads with retries, checks of
// hosted files and sources, errors that say what happened, and an API key kept out of logs.
package apimall

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/apimall/terraform-provider-apimall/internal/publicip"
)

// DefaultBaseURL is API Mall's gateway.
const DefaultBaseURL = "https://gateway.apimall.ai"

// MaxMaxRetries is the most retries Config.MaxRetries may ask for.
const MaxMaxRetries = 10

const uploadPath = "/api/v1/files/from-url"

const defaultUserAgent = "terraform-provider-apimall"

// Retry defaults, overridable in Config for tests.
const (
	defaultBackoffMin    = 1 * time.Second
	defaultBackoffMax    = 30 * time.Second
	defaultRetryAfterCap = 60 * time.Second
)

// Config is what a Client needs. Zero values of the optional fields mean the defaults.
type Config struct {
	// BaseURL is the gateway URL; "" means DefaultBaseURL. See ValidateBaseURL.
	BaseURL string
	// APIKey is sent as a bearer token to the gateway, and nowhere else.
	APIKey string
	// MaxRetries is how many times a retryable failure is retried (0..10).
	MaxRetries int
	// MaxConcurrentUploads bounds the uploads in flight across all callers; 0 means no bound.
	MaxConcurrentUploads int
	// UserAgent is sent with every request; "" means "terraform-provider-apimall", since an
	// empty header would make Go send none at all.
	UserAgent string

	// BackoffMin and BackoffMax bound the exponential backoff between attempts.
	BackoffMin, BackoffMax time.Duration
	// RetryAfterCap is the longest a Retry-After answer makes the client wait.
	RetryAfterCap time.Duration
}

// Client talks to API Mall. It is safe for concurrent use; all its callers share the bound
// on concurrent uploads.
type Client struct {
	endpoint      string
	apiKey        string
	userAgent     string
	maxRetries    int
	backoffMin    time.Duration
	backoffMax    time.Duration
	retryAfterCap time.Duration
	uploadSlots   chan struct{}
	api           *http.Client // never follows redirects: a redirected POST would carry the key elsewhere
	public        *http.Client // HEAD requests to CDN and source hosts, never with the key
}

// New returns a Client for cfg, or an error when cfg.BaseURL breaks ValidateBaseURL.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := ValidateBaseURL(base); err != nil {
		return nil, err
	}
	// The provider validates both at plan time; these guard other callers.
	if cfg.MaxRetries < 0 || cfg.MaxRetries > MaxMaxRetries {
		return nil, fmt.Errorf("max_retries is %d; expected 0 to %d", cfg.MaxRetries, MaxMaxRetries)
	}
	if cfg.MaxConcurrentUploads < 0 {
		return nil, fmt.Errorf("max_concurrent_uploads is %d; expected 0 (no limit) or more", cfg.MaxConcurrentUploads)
	}
	c := &Client{
		endpoint:      strings.TrimSuffix(base, "/") + uploadPath,
		apiKey:        strings.TrimSpace(cfg.APIKey),
		userAgent:     cmp.Or(cfg.UserAgent, defaultUserAgent),
		maxRetries:    cfg.MaxRetries,
		backoffMin:    orDefault(cfg.BackoffMin, defaultBackoffMin),
		backoffMax:    orDefault(cfg.BackoffMax, defaultBackoffMax),
		retryAfterCap: orDefault(cfg.RetryAfterCap, defaultRetryAfterCap),
		api: &http.Client{
			Transport:     newTransport(apiResponseHeaderTimeout),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		public: &http.Client{Transport: newTransport(headResponseHeaderTimeout), CheckRedirect: checkPublicRedirect},
	}
	if cfg.MaxConcurrentUploads > 0 {
		c.uploadSlots = make(chan struct{}, cfg.MaxConcurrentUploads)
	}
	return c, nil
}

func orDefault(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}

// ValidateBaseURL checks a gateway URL: absolute, https (or http to a loopback host only, so a
// bearer token never crosses a network in clear text), no user-info, query or fragment. A path
// prefix is allowed.
func ValidateBaseURL(raw string) error {
	const expected = "expected an absolute https:// URL such as " + DefaultBaseURL + ", or http:// to a loopback host (localhost, 127.0.0.0/8, [::1])"
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("base URL %q is not a URL; %s", raw, expected)
	case !u.IsAbs() || u.Hostname() == "":
		return fmt.Errorf("base URL %q is not an absolute URL; %s", raw, expected)
	case u.User != nil:
		return fmt.Errorf("base URL must not carry user info (user:password@); %s", expected)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("base URL %q must not have a query or fragment; %s", raw, expected)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && publicip.IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("base URL %q uses plain http:// to a host that is not loopback, which would send the API key in clear text; %s", raw, expected)
	default:
		return fmt.Errorf("base URL %q has the scheme %q; %s", raw, u.Scheme, expected)
	}
}

// UploadRequest is one file to copy into API Mall storage. Empty optional fields are omitted.
type UploadRequest struct {
	URL         string `json:"url"`
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type,omitempty"`
}

// UploadResult is what API Mall stored.
type UploadResult struct {
	URL         string
	Key         string
	ContentType string
	FileSize    int64
	RequestID   string
	// Attempts is how many requests the upload took, retries included.
	Attempts int
}

// UploadFromURL asks API Mall to copy req.URL into storage (POST /api/v1/files/from-url),
// retrying as the package documents. Every attempt carries the same body and Idempotency-Key,
// so a gateway that honours the key never stores a retried upload twice.
func (c *Client) UploadFromURL(ctx context.Context, req UploadRequest) (UploadResult, error) {
	ctx = c.logContext(ctx)
	body, err := json.Marshal(req)
	if err != nil {
		return UploadResult{}, fmt.Errorf("encoding the upload request: %w", err)
	}
	idempotencyKey, err := newIdempotencyKey()
	if err != nil {
		return UploadResult{}, err
	}
	httpReq, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return UploadResult{}, c.redact(fmt.Errorf("building the upload request: %w", err))
	}
	httpReq.Header.Set("Authorization", "Bearer "+c.apiKey)
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", c.userAgent)
	httpReq.Header.Set("Idempotency-Key", idempotencyKey)

	run := c.newRun(ctx, c.api)
	run.upload = true
	run.slots = c.uploadSlots
	defer run.releaseSlot()
	resp, err := run.client.Do(httpReq)
	if resp != nil {
		_ = resp.Body.Close() // already read and decoded by the run
	}
	run.logDuplicateRisk(idempotencyKey)
	switch {
	case run.last != nil && (resp == nil || err != nil):
		// An answer worth retrying came, but no final one: say why, with that answer for its
		// request_id.
		return UploadResult{}, c.redact(run.stopped(err))
	case resp == nil:
		return UploadResult{}, c.redact(run.transportError(err))
	case run.last != nil:
		return UploadResult{}, run.last
	}
	result := run.result
	result.Attempts = run.attempts
	return result, nil
}

func newIdempotencyKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an Idempotency-Key: %w", err)
	}
	return hex.EncodeToString(b), nil
}
