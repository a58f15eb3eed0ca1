package apimall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// maxBodyBytes bounds what is read of any response: an answer is a small JSON document.
	maxBodyBytes = 1 << 20
	// maxSnippetBytes bounds how much of a body that is not the envelope an error quotes.
	maxSnippetBytes = 512
)

// APIError is every answer of the API that is not a success, and carries what it said.
type APIError struct {
	// StatusCode is the HTTP status of the last answer.
	StatusCode int
	// Code, Message and Details are the envelope's error.code, error.message and error.details.
	Code    string
	Message string
	Details map[string]any
	// RequestID is the envelope's request_id (or the X-Request-Id header), for support.
	RequestID string
	// Attempts is how many requests were made, retries included.
	Attempts int
	// Location is where a 3xx answer pointed; API calls do not follow redirects.
	Location string
	// BodySnippet quotes at most 512 bytes of a body that was not the JSON envelope.
	BodySnippet string
	// BodyNote says why the body is incomplete ("cut at 1 MiB", a read error), "" when it is not.
	BodyNote string
	// NotEnvelope is set when the body was not the JSON envelope (an HTML error page, empty,
	// truncated, or of the wrong shape).
	NotEnvelope bool
	// RetryAfter is what the last answer's Retry-After header asked for, uncapped; 0 when absent.
	RetryAfter time.Duration
}

// Error reads like "API Mall answered 400 invalid_request: Failed to fetch source url
// (details: status=404). Request ID: req_...".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "API Mall answered %d", e.StatusCode)
	switch {
	case e.Location != "":
		fmt.Fprintf(&b, " redirecting to %s; API calls do not follow redirects", e.Location)
	case e.NotEnvelope && e.BodySnippet == "" && e.BodyNote == "":
		b.WriteString(" with an empty body instead of its JSON envelope")
	case e.NotEnvelope:
		fmt.Fprintf(&b, " with a body that is not its JSON envelope: %q", e.BodySnippet)
		if e.BodyNote != "" {
			fmt.Fprintf(&b, " (%s)", e.BodyNote)
		}
	default:
		code := e.Code
		if code == "" {
			code = "error"
		}
		fmt.Fprintf(&b, " %s: %s", code, e.Message)
		if len(e.Details) > 0 {
			fmt.Fprintf(&b, " (details: %s)", formatDetails(e.Details))
		}
	}
	b.WriteString(".")
	if e.RequestID != "" {
		fmt.Fprintf(&b, " Request ID: %s", e.RequestID)
	}
	return b.String()
}

// Advice is one line on what to do about the error, by status; "" when there is nothing to add.
func (e *APIError) Advice() string {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return "Check the API key: api_key in the provider block, or the APIMALL_API_KEY environment variable."
	case e.StatusCode == http.StatusForbidden:
		return "API access is not approved for this account yet, or base_url does not point at the API Mall gateway host."
	case e.StatusCode == http.StatusTooManyRequests:
		return fmt.Sprintf("API Mall's rate or concurrency limit was still hit after %s: lower terraform -parallelism, "+
			"or set max_concurrent_uploads in the provider block.", attempts(e.Attempts))
	case e.StatusCode >= 500:
		return fmt.Sprintf("The service failed after %s; try again later, or raise max_retries.", attempts(e.Attempts))
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return "Check base_url: it should be the API Mall gateway itself, not an address that redirects to it."
	}
	return ""
}

// attempts says "1 attempt" or "n attempts" for the messages users read.
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func formatDetails(details map[string]any) string {
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := details[k]
		if s, ok := v.(string); ok {
			parts[i] = k + "=" + s
			continue
		}
		encoded, err := json.Marshal(v)
		if err != nil {
			encoded = []byte(fmt.Sprint(v))
		}
		parts[i] = k + "=" + string(encoded)
	}
	return strings.Join(parts, ", ")
}

// stoppedError is a request that got an answer worth retrying but ended without a final one
// (its next wait would pass the deadline, the caller cancelled, or the attempts after that
// answer got none), with that answer. It unwraps to both, so errors.As finds the *APIError and
// errors.Is finds the context's error.
type stoppedError struct {
	last       *APIError // its Attempts counts every attempt made
	answeredAt int       // the attempt that got last
	attempts   int
	cut        bool  // the latest attempt was cut short by the context
	noAnswer   error // the transport error of the latest attempt after last that got no answer
	cause      error
}

func (e *stoppedError) Error() string {
	var why string
	switch {
	case errors.As(e.cause, new(*waitPastDeadlineError)):
		why = upperFirst(e.cause.Error())
	case errors.Is(e.cause, context.Canceled):
		why = "Cancelled " + e.when() + e.unanswered()
	case errors.Is(e.cause, context.DeadlineExceeded):
		why = "The operation's deadline passed " + e.when() + e.unanswered()
	default:
		why = fmt.Sprintf("Gave up after %s", attempts(e.attempts)) + e.unanswered()
	}
	return fmt.Sprintf("%s. Last answer (attempt %d): %s", why, e.answeredAt, e.last.Error())
}

// when says whether the context ended an attempt or a wait between two.
func (e *stoppedError) when() string {
	if e.cut {
		return fmt.Sprintf("during attempt %d", e.attempts)
	}
	return "while waiting to retry after " + attempts(e.attempts)
}

// unanswered names the attempts between the last answer and the end that got none (an attempt
// cut short is not one of them), and why the latest of them failed.
func (e *stoppedError) unanswered() string {
	first, last := e.answeredAt+1, e.attempts
	if e.cut {
		last--
	}
	switch {
	case e.noAnswer == nil || last < first:
		return ""
	case first == last:
		return fmt.Sprintf("; attempt %d got no answer: %s", first, e.noAnswer)
	default:
		return fmt.Sprintf("; attempts %d to %d got no answer, the last: %s", first, last, e.noAnswer)
	}
}

func (e *stoppedError) Unwrap() []error { return []error{e.last, e.cause} }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// envelope is the shape of every API answer, success or error.
type envelope struct {
	Success *bool `json:"success"`
	Data    *struct {
		URL         string `json:"url"`
		Key         string `json:"key"`
		ContentType string `json:"content_type"`
		FileSize    *int64 `json:"file_size"`
	} `json:"data"`
	Error *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// readBody reads a response body through the 1 MiB limit: an answer is a small JSON document,
// and a broken proxy must not make the provider hold an endless one in memory. cut reports a
// body longer than the limit; body then holds the first maxBodyBytes.
func readBody(r io.Reader) (body []byte, cut bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
	if len(body) > maxBodyBytes {
		return body[:maxBodyBytes], true, nil
	}
	return body, false, err
}

// decodeUpload turns an answer into a result, or an *APIError for anything but a complete
// success envelope with HTTP 200.
func decodeUpload(resp *http.Response, body []byte, cut bool, readErr error, attempts int) (UploadResult, *APIError) {
	apiErr := &APIError{StatusCode: resp.StatusCode, Attempts: attempts, RequestID: resp.Header.Get("X-Request-Id")}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		apiErr.RetryAfter = d
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		apiErr.Location = resp.Header.Get("Location")
		if apiErr.Location == "" {
			apiErr.Location = "(no Location header)"
		}
		return UploadResult{}, apiErr
	}
	switch {
	case cut:
		apiErr.NotEnvelope, apiErr.BodySnippet, apiErr.BodyNote = true, snippet(body), "cut at 1 MiB"
		return UploadResult{}, apiErr
	case readErr != nil:
		apiErr.NotEnvelope, apiErr.BodySnippet = true, snippet(body)
		apiErr.BodyNote = fmt.Sprintf("reading the body failed after %d bytes: %v", len(body), readErr)
		return UploadResult{}, apiErr
	}
	result, env, ok := decodeEnvelope(body)
	if env != nil && env.RequestID != "" {
		apiErr.RequestID = env.RequestID
	}
	switch {
	case ok && resp.StatusCode == http.StatusOK:
		if result.RequestID == "" {
			result.RequestID = apiErr.RequestID
		}
		return result, nil
	case env != nil && env.Error != nil && env.Error.Message != "":
		apiErr.Code, apiErr.Message, apiErr.Details = env.Error.Code, env.Error.Message, env.Error.Details
	case env != nil && ok:
		apiErr.Code, apiErr.Message = "unexpected_status", "a success envelope came with an HTTP status other than 200"
	default:
		apiErr.NotEnvelope, apiErr.BodySnippet = true, snippet(body)
	}
	return UploadResult{}, apiErr
}

// decodeEnvelope parses body; ok reports a complete success envelope.
func decodeEnvelope(body []byte) (UploadResult, *envelope, bool) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return UploadResult{}, nil, false
	}
	if env.Success == nil || !*env.Success || env.Data == nil || env.Data.URL == "" || env.Data.Key == "" || env.Data.FileSize == nil {
		return UploadResult{}, &env, false
	}
	return UploadResult{
		URL: env.Data.URL, Key: env.Data.Key, ContentType: env.Data.ContentType,
		FileSize: *env.Data.FileSize, RequestID: env.RequestID,
	}, &env, true
}

// snippet quotes at most maxSnippetBytes of body, cut at a character boundary.
func snippet(body []byte) string {
	if len(body) <= maxSnippetBytes {
		return string(body)
	}
	n := maxSnippetBytes
	for n > maxSnippetBytes-utf8.UTFMax && !utf8.RuneStart(body[n]) {
		n--
	}
	return string(body[:n])
}

// scrubAPIError removes s from every text an *APIError carries, so that the key stays out of
// its message even when read through errors.As rather than the wrapped error's Error().
func scrubAPIError(e *APIError, scrub func(string) string) {
	e.Code, e.Message, e.RequestID = scrub(e.Code), scrub(e.Message), scrub(e.RequestID)
	e.Location, e.BodySnippet, e.BodyNote = scrub(e.Location), scrub(e.BodySnippet), scrub(e.BodyNote)
	if e.Details != nil {
		e.Details = scrubValue(e.Details, scrub).(map[string]any)
	}
}

// scrubValue scrubs the strings inside a decoded JSON value.
func scrubValue(v any, scrub func(string) string) any {
	switch v := v.(type) {
	case string:
		return scrub(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = scrubValue(x, scrub)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[scrub(k)] = scrubValue(x, scrub)
		}
		return out
	}
	return v
}
