package apimall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// run is the state of one logical request across its attempts. go-retryablehttp drives the
// loop; run supplies the policy it lacks: a capped Retry-After, failing at once when a wait
// would pass the deadline, keeping the last answer, and logging to tflog with the context.
type run struct {
	ctx          context.Context
	client       *retryablehttp.Client
	cfg          *Client
	attempts     int
	attemptStart time.Time
	// attemptMethod and attemptURL name the request in the log line of an attempt that got no
	// answer, which has no response to read them from.
	attemptMethod, attemptURL string
	// noAnswer is the transport error of the latest attempt that got no answer at all, unless
	// an answer came after it; an attempt cut short by the context does not count.
	noAnswer error
	// cut is set when the latest attempt ended because the context did (Ctrl-C or the
	// deadline during the attempt, rather than during a wait between attempts).
	cut bool
	// answeredStatus and answeredAt are the status and attempt of the latest answer, for
	// requests (HEAD) that keep no *APIError.
	answeredStatus, answeredAt int
	nextWait                   time.Duration
	// upload is set for API calls: each answer is read and decoded as it arrives, so that the
	// attempt's log line has the envelope's request_id, and so that the last answer survives a
	// wait cut short by the caller (go-retryablehttp drains the body before it waits).
	upload bool
	result UploadResult
	// last is the latest answer that was not a success. An attempt that gets no answer at all
	// keeps it, so that its request_id still reaches the error the user reads.
	last *APIError
	// ambiguous counts attempts that may have reached the server without an answer saying so
	// (5xx, a connection dropped after it was made) and were retried: each may be a duplicate
	// upload on a gateway that ignores Idempotency-Key.
	ambiguous int
	// slots bounds the attempts in flight across the client (max_concurrent_uploads); nil for
	// no bound. A slot is held for one attempt, not across backoff waits, so that an upload
	// sleeping off a 429 does not keep another from going.
	slots   chan struct{}
	holding bool
}

// acquireSlot waits for a slot before an attempt. If the context ends first, the attempt
// goes out with that context and fails at once, so there is nothing to report here.
func (r *run) acquireSlot() {
	if r.slots == nil {
		return
	}
	select {
	case r.slots <- struct{}{}:
		r.holding = true
	case <-r.ctx.Done():
	}
}

func (r *run) releaseSlot() {
	if r.holding {
		<-r.slots
		r.holding = false
	}
}

func (c *Client) newRun(ctx context.Context, httpClient *http.Client) *run {
	r := &run{ctx: ctx, cfg: c}
	r.client = &retryablehttp.Client{
		// go-retryablehttp closes the client's idle connections whenever a request fails or is
		// cancelled; on a client shared by every upload that would tear down the pooled
		// connections of all the others. Each run gets a view of the shared transport that
		// keeps them.
		HTTPClient:     &http.Client{Transport: keepIdleConns{httpClient.Transport}, CheckRedirect: httpClient.CheckRedirect},
		Logger:         tflogLogger{ctx: ctx, scrub: c.scrubString},
		RetryWaitMin:   c.backoffMin,
		RetryWaitMax:   c.backoffMax,
		RetryMax:       c.maxRetries,
		RequestLogHook: r.beforeAttempt,
		CheckRetry:     r.checkRetry,
		Backoff:        r.backoff,
		// The default ErrorHandler drains and drops the last response; the caller needs it to
		// report the API's own error. It also wraps errors in "giving up after" with the URL.
		ErrorHandler: func(resp *http.Response, err error, attempts int) (*http.Response, error) {
			r.attempts = attempts
			return resp, err
		},
	}
	return r
}

// keepIdleConns hides the transport's CloseIdleConnections from http.Client; see newRun.
type keepIdleConns struct{ http.RoundTripper }

func (r *run) beforeAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	r.acquireSlot()
	r.attempts = i + 1
	r.attemptStart = time.Now()
	r.attemptMethod, r.attemptURL = req.Method, r.cfg.scrubString(req.URL.String())
	tflog.SubsystemDebug(r.ctx, subsystem, "sending request", map[string]any{
		"method": r.attemptMethod, "url": r.attemptURL, "attempt": r.attempts,
		"headers": r.cfg.scrubHeader(req.Header),
	})
}

// inspect reads the answer of an upload attempt (see run.upload) and returns its request id.
func (r *run) inspect(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	r.result, r.last = UploadResult{}, nil
	if !r.upload {
		return resp.Header.Get("X-Request-Id")
	}
	body, cut, err := readBody(resp.Body)
	_ = resp.Body.Close()
	// Scrubbed before decoding, not after: an error quotes at most 512 bytes of the body, and a
	// key that straddles that cut would survive in part a scrub of the quote.
	if r.cfg.apiKey != "" {
		body = bytes.ReplaceAll(body, []byte(r.cfg.apiKey), []byte(redacted))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.result, r.last = decodeUpload(resp, body, cut, err, r.attempts)
	if r.last != nil {
		scrubAPIError(r.last, r.cfg.scrubString)
		return r.last.RequestID
	}
	return r.result.RequestID
}

// retryableStatus lists the answers worth another attempt; 400, 401, 403, 404 and 501 say the
// same thing every time.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (r *run) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	r.releaseSlot() // the server has answered (or failed to): this attempt is no longer in flight
	r.cut = ctx.Err() != nil
	switch {
	case resp != nil:
		r.noAnswer, r.answeredStatus, r.answeredAt = nil, resp.StatusCode, r.attempts
	case !r.cut:
		r.noAnswer = err
	}
	r.logAttempt(resp, err, r.inspect(resp))
	if r.cut {
		if resp != nil && !retryableStatus(resp.StatusCode) {
			return false, nil // a final answer, whatever ended the context meanwhile
		}
		return false, ctx.Err()
	}
	if err != nil {
		// The library's policy knows which transport errors are permanent (bad scheme,
		// certificate errors, redirect loops) and propagates them.
		retry, policyErr := retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
		if !retry {
			return false, policyErr
		}
	} else if !retryableStatus(resp.StatusCode) {
		return false, nil
	}
	if r.attempts > r.cfg.maxRetries {
		return true, nil // no retry is left; the loop ends without waiting
	}
	w := r.cfg.waitBefore(r.attempts, resp)
	r.nextWait = w.wait
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		// A retry that would start with almost no time left cannot finish: say at once what
		// the server asked for rather than fail the same way after the wait.
		if left-w.least < min(time.Second, w.least/4) {
			return false, &waitPastDeadlineError{waitBeforeRetry: w, cap: r.cfg.retryAfterCap, left: left.Round(time.Millisecond), cause: err}
		}
		// The random part of the wait is ours, not the server's: it never costs the retry,
		// and leaves the attempt at least half of the time that is left after the least wait.
		r.nextWait = min(w.wait, w.least+(left-w.least)/2)
	}
	if mayHaveReachedServer(resp, err) {
		r.ambiguous++
	}
	return true, nil
}

// mayHaveReachedServer reports an attempt that the server may have acted on although it did not
// say so: a 5xx (the gateway may fail after storing), or a connection lost after it was made. A
// failed dial never sent anything; a 429 says the request was refused.
func mayHaveReachedServer(resp *http.Response, err error) bool {
	if err != nil {
		var opErr *net.OpError
		return !errors.As(err, &opErr) || opErr.Op != "dial"
	}
	return resp.StatusCode >= 500
}

func (r *run) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return r.nextWait
}

func (r *run) logAttempt(resp *http.Response, err error, requestID string) {
	fields := map[string]any{
		"method": r.attemptMethod, "url": r.attemptURL,
		"attempt": r.attempts, "duration_ms": time.Since(r.attemptStart).Milliseconds(),
	}
	if resp != nil {
		// A redirect followed by the HEAD check ends at another URL than the one requested.
		fields["method"] = resp.Request.Method
		fields["url"] = r.cfg.scrubString(resp.Request.URL.String())
		fields["status"] = resp.StatusCode
		fields["request_id"] = requestID
		tflog.SubsystemDebug(r.ctx, subsystem, "received response", fields)
		return
	}
	if err != nil {
		fields["error"] = r.cfg.scrubString(err.Error())
	}
	tflog.SubsystemWarn(r.ctx, subsystem, "request failed without an answer", fields)
}

// logDuplicateRisk counts, in the logs, the retried attempts that may have stored a copy the
// user will never see: a gateway that honours Idempotency-Key stores none of them, one that
// ignores it may hold one copy per retried 5xx or dropped connection.
func (r *run) logDuplicateRisk(idempotencyKey string) {
	if r.ambiguous == 0 {
		return
	}
	outcome := "failed"
	if r.last == nil && r.result.Key != "" {
		outcome = "succeeded"
	}
	tflog.SubsystemWarn(r.ctx, subsystem, fmt.Sprintf("upload %s after retrying %s that may have reached API Mall (5xx or a dropped "+
		"connection); a gateway that ignores Idempotency-Key may hold that many extra copies", outcome, attempts(r.ambiguous)),
		map[string]any{"possible_duplicates": r.ambiguous, "attempts": r.attempts, "idempotency_key": idempotencyKey})
}

// stopped explains a request that got an answer worth retrying but ended without a final one:
// cancelled, out of time, or the attempts after that answer got none.
func (r *run) stopped(err error) *stoppedError {
	last := *r.last
	last.Attempts = r.attempts // the advice speaks of all the attempts made
	return &stoppedError{last: &last, answeredAt: r.last.Attempts, attempts: r.attempts, cut: r.cut, noAnswer: r.noAnswer, cause: err}
}

// transportError explains a request that got no HTTP answer at all.
func (r *run) transportError(err error) error {
	if err == nil {
		err = errors.New("no response")
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("request timed out after %s%s: %w", attempts(r.attempts), r.answeredBefore(), err)
	}
	return fmt.Errorf("no answer after %s%s: %w", attempts(r.attempts), r.answeredBefore(), err)
}

// answeredBefore mentions an answer that came before the attempts that got none, so that "no
// answer after 3 attempts" does not hide a 503 at the first.
func (r *run) answeredBefore() string {
	if r.answeredStatus == 0 {
		return ""
	}
	return fmt.Sprintf(" (attempt %d answered HTTP %d, the later ones nothing)", r.answeredAt, r.answeredStatus)
}

// waitBeforeRetry is how long to wait before a retry, and the least of it that must be waited.
type waitBeforeRetry struct {
	// wait is the planned wait: the least wait plus a random spread.
	wait time.Duration
	// least is what the server asked for (Retry-After, capped), else the lower end of the
	// backoff window.
	least time.Duration
	// asked is the uncapped Retry-After; 0 when the answer had none.
	asked time.Duration
}

// waitBefore says how long to wait before the retry that follows attempt n: what Retry-After
// asks for, capped, else exponential backoff with jitter.
func (c *Client) waitBefore(n int, resp *http.Response) waitBeforeRetry {
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			// Retry-After is a minimum. Uploads refused together are told the same second, and
			// retrying all at once against a token bucket lets one through and refuses the rest
			// again. A random extra wait spreads them out, and its window widens with each
			// refusal (half the asked wait per attempt), so that the uploads refused most often
			// stop competing with the rest instead of running out of retries.
			least := min(d, c.retryAfterCap)
			return waitBeforeRetry{wait: min(least+rand.N(least/2*time.Duration(n)+1), c.retryAfterCap), least: least, asked: d}
		}
	}
	d := c.backoffMin << min(n-1, 30)
	if d <= 0 || d > c.backoffMax {
		d = c.backoffMax
	}
	// Equal jitter: at least half the backoff, so that clients that failed together spread out.
	return waitBeforeRetry{wait: d/2 + rand.N(d/2+1), least: d / 2}
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date (RFC 9110 section 10.2.3).
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		return time.Duration(min(seconds, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// waitPastDeadlineError is a retry given up because its wait would outlast the operation.
type waitPastDeadlineError struct {
	waitBeforeRetry
	cap, left time.Duration
	// cause is the transport error of the attempt that was not retried; nil when it got an
	// answer, which the caller reports itself.
	cause error
}

func (e *waitPastDeadlineError) Error() string {
	asked := fmt.Sprintf("the next retry was due in %s at the earliest", e.least.Round(time.Millisecond))
	if e.asked > 0 {
		asked = fmt.Sprintf("the server asked to retry after %s (Retry-After)", e.asked)
		if e.asked > e.cap {
			asked += fmt.Sprintf(" (capped at %s)", e.cap)
		}
	}
	msg := fmt.Sprintf("%s, but the operation's deadline is %s away, too close for another attempt, so it was not retried", asked, e.left)
	if e.cause != nil {
		msg += fmt.Sprintf("; the last attempt failed: %s", e.cause)
	}
	return msg
}

func (e *waitPastDeadlineError) Unwrap() []error {
	if e.cause == nil {
		return []error{context.DeadlineExceeded}
	}
	return []error{context.DeadlineExceeded, e.cause}
}
