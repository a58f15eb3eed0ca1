package apimall

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

const (
	testKey       = "sk-test-0123456789abcdef"
	referenceOK   = `{"success":true,"data":{"url":"https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png","key":"uploads/2026/03/12/reference-image.png","content_type":"image/png","file_size":612441},"request_id":"req_01HQ9M7J7X9P7Y8T6W5V4U3S2R"}`
	referenceFail = `{"success":false,"error":{"code":"invalid_request","message":"Failed to fetch source url","details":{"status":404}},"request_id":"req_01HQ9M7J7X9P7Y8T6W5V4U3S2R"}`
)

// answer is one scripted response of a test server.
type answer struct {
	status     int
	body       string
	retryAfter string
	header     http.Header
	drop       bool          // close the connection without an answer
	broken     bool          // close the connection in the middle of the status line, which net/http never retries itself
	hang       time.Duration // before answering at all, wait this long
	stall      time.Duration // after sending the headers and body, hold the response open this long
}

// scriptedServer answers with script in order (repeating the last answer) and records requests.
type scriptedServer struct {
	*httptest.Server
	mu       sync.Mutex
	script   []answer
	requests []recorded
}

type recorded struct {
	header http.Header
	body   []byte
	at     time.Time
	path   string
}

func newScriptedServer(t *testing.T, script ...answer) *scriptedServer {
	t.Helper()
	return newScriptedServerWith(t, nil, script...)
}

// newScriptedServerWith lets configure change the http.Server before it starts.
func newScriptedServerWith(t *testing.T, configure func(*http.Server), script ...answer) *scriptedServer {
	t.Helper()
	s := &scriptedServer{script: script}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, recorded{header: r.Header.Clone(), body: body, at: time.Now(), path: r.URL.Path})
		a := s.script[min(n, len(s.script)-1)]
		s.mu.Unlock()
		if a.hang > 0 {
			select {
			case <-time.After(a.hang):
			case <-r.Context().Done():
				return
			}
		}
		if a.drop || a.broken {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if a.broken {
					_, _ = io.WriteString(conn, "HTTP/1.1 5")
				}
				_ = conn.Close()
			}
			return
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		if a.stall > 0 {
			_ = http.NewResponseController(w).Flush()
			select {
			case <-time.After(a.stall):
			case <-r.Context().Done():
			}
		}
	}))
	if configure != nil {
		configure(s.Config)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *scriptedServer) got() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func testClient(t *testing.T, baseURL string, maxRetries int) *Client {
	t.Helper()
	c, err := New(Config{
		BaseURL: baseURL, APIKey: testKey, MaxRetries: maxRetries, UserAgent: "terraform-provider-apimall/test Terraform/1.11.4",
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var catRequest = UploadRequest{URL: "https://example.com/assets/reference-image.png"}

func TestUploadFromURL_Success(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 200, body: referenceOK})
	c := testClient(t, srv.URL+"/prefix/", 0)

	got, err := c.UploadFromURL(context.Background(), UploadRequest{URL: catRequest.URL, Filename: "reference-image.png"})
	if err != nil {
		t.Fatal(err)
	}
	want := UploadResult{
		URL: "https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png", Key: "uploads/2026/03/12/reference-image.png",
		ContentType: "image/png", FileSize: 612441, RequestID: "req_01HQ9M7J7X9P7Y8T6W5V4U3S2R", Attempts: 1,
	}
	if got != want {
		t.Errorf("result = %+v, want %+v", got, want)
	}
	reqs := srv.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/prefix/api/v1/files/from-url" {
		t.Errorf("path = %q, want the prefix kept and one slash", r.path)
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer " + testKey, "Content-Type": "application/json", "Accept": "application/json",
		"User-Agent": "terraform-provider-apimall/test Terraform/1.11.4",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if len(r.header.Get("Idempotency-Key")) < 16 {
		t.Errorf("Idempotency-Key = %q, want a random key", r.header.Get("Idempotency-Key"))
	}
	if string(r.body) != `{"url":"https://example.com/assets/reference-image.png","filename":"reference-image.png"}` {
		t.Errorf("body = %s, want no empty optional fields", r.body)
	}
}

func TestUploadFromURL_APIErrors(t *testing.T) {
	cases := map[string]struct {
		answer     answer
		wantError  string
		wantAdvice string
		wantCode   string
	}{
		"400 with details": {
			answer{status: 400, body: referenceFail},
			"API Mall answered 400 invalid_request: Failed to fetch source url (details: status=404). Request ID: req_01HQ9M7J7X9P7Y8T6W5V4U3S2R",
			"", "invalid_request",
		},
		"401": {
			answer{status: 401, body: `{"success":false,"error":{"code":"unauthorized","message":"Invalid API key"},"request_id":"req_1"}`},
			"API Mall answered 401 unauthorized: Invalid API key. Request ID: req_1",
			"Check the API key: api_key in the provider block, or the APIMALL_API_KEY environment variable.", "unauthorized",
		},
		"403": {
			answer{status: 403, body: `{"success":false,"error":{"code":"forbidden","message":"API access not approved"},"request_id":"req_2"}`},
			"API Mall answered 403 forbidden: API access not approved. Request ID: req_2",
			"API access is not approved for this account yet, or base_url does not point at the API Mall gateway host.", "forbidden",
		},
		"429": {
			answer{status: 429, body: `{"success":false,"error":{"code":"rate_limited","message":"Rate limit exceeded"},"request_id":"req_3"}`},
			"API Mall answered 429 rate_limited: Rate limit exceeded. Request ID: req_3",
			"API Mall's rate or concurrency limit was still hit after 1 attempt: lower terraform -parallelism, or set max_concurrent_uploads in the provider block.",
			"rate_limited",
		},
		"500": {
			answer{status: 500, body: `{"success":false,"error":{"code":"internal_error","message":"Internal server error","details":{"b":"x","a":[1,2]}},"request_id":"req_4"}`},
			`API Mall answered 500 internal_error: Internal server error (details: a=[1,2], b=x). Request ID: req_4`,
			"The service failed after 1 attempt; try again later, or raise max_retries.", "internal_error",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, tc.answer)
			_, err := testClient(t, srv.URL, 0).UploadFromURL(context.Background(), catRequest)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if err.Error() != tc.wantError || apiErr.Advice() != tc.wantAdvice || apiErr.Code != tc.wantCode ||
				apiErr.StatusCode != tc.answer.status || apiErr.Attempts != 1 {
				t.Errorf("got %q / %q / %+v\nwant %q / %q", err, apiErr.Advice(), apiErr, tc.wantError, tc.wantAdvice)
			}
		})
	}
}

func TestUploadFromURL_BodiesThatAreNotTheEnvelope(t *testing.T) {
	html := "<html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("x", 2000) + "</body></html>"
	cases := map[string]struct {
		answer      answer
		wantSnippet string
	}{
		"html 502":                  {answer{status: 502, body: html}, html[:512]},
		"empty 500":                 {answer{status: 500, body: ""}, ""},
		"truncated 200":             {answer{status: 200, body: referenceOK[:60]}, referenceOK[:60]},
		"wrong types 200":           {answer{status: 200, body: `{"success":true,"data":{"url":"u","key":"k","content_type":"image/png","file_size":"big"}}`}, `{"success":true,"data":{"url":"u","key":"k","content_type":"image/png","file_size":"big"}}`},
		"success without data":      {answer{status: 200, body: `{"success":true}`}, `{"success":true}`},
		"failure without error":     {answer{status: 400, body: `{"success":false}`}, `{"success":false}`},
		"json array":                {answer{status: 200, body: `[1,2,3]`}, `[1,2,3]`},
		"success without file_size": {answer{status: 200, body: `{"success":true,"data":{"url":"u","key":"k"}}`}, `{"success":true,"data":{"url":"u","key":"k"}}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, tc.answer)
			_, err := testClient(t, srv.URL, 0).UploadFromURL(context.Background(), catRequest)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !apiErr.NotEnvelope || apiErr.BodySnippet != tc.wantSnippet {
				t.Fatalf("err = %v (%+v), want a not-envelope error quoting %q", err, apiErr, tc.wantSnippet)
			}
			if len(apiErr.BodySnippet) > maxSnippetBytes {
				t.Errorf("snippet is %d bytes, more than %d", len(apiErr.BodySnippet), maxSnippetBytes)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("API Mall answered %d", tc.answer.status)) {
				t.Errorf("error %q does not name the status", err)
			}
		})
	}
}

func TestUploadFromURL_EndlessBodyIsCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := testClient(t, srv.URL, 0).UploadFromURL(context.Background(), catRequest)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.BodyNote != "cut at 1 MiB" || !strings.Contains(err.Error(), "(cut at 1 MiB)") ||
		len(apiErr.BodySnippet) != maxSnippetBytes || len(err.Error()) > 1024 {
		t.Fatalf("err = %.200v (note %q, %d-byte snippet), want the body cut at 1 MiB and 512 bytes quoted", err, apiErr.BodyNote, len(apiErr.BodySnippet))
	}
}

func TestUploadFromURL_RetryAfterSecondsIsHonoured(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 429, retryAfter: "1"}, answer{status: 200, body: referenceOK})
	res, err := testClient(t, srv.URL, 2).UploadFromURL(context.Background(), catRequest)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.got()
	if waited := reqs[1].at.Sub(reqs[0].at); waited < time.Second || waited > 3*time.Second {
		t.Errorf("retried after %s, want about the 1s Retry-After", waited)
	}
	if res.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", res.Attempts)
	}
}

func TestUploadFromURL_RetryAfterHTTPDateIsHonoured(t *testing.T) {
	at := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
	srv := newScriptedServer(t, answer{status: 503, retryAfter: at}, answer{status: 200, body: referenceOK})
	if _, err := testClient(t, srv.URL, 2).UploadFromURL(context.Background(), catRequest); err != nil {
		t.Fatal(err)
	}
	reqs := srv.got()
	// An HTTP date has whole seconds: the wait is between 1s and 2s.
	if waited := reqs[1].at.Sub(reqs[0].at); waited < 900*time.Millisecond || waited > 3*time.Second {
		t.Errorf("retried after %s, want until %s", waited, at)
	}
}

func TestUploadFromURL_RetryAfterIsCapped(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 429, retryAfter: "3600"}, answer{status: 200, body: referenceOK})
	c := testClient(t, srv.URL, 1)
	c.retryAfterCap = 300 * time.Millisecond
	start := time.Now()
	if _, err := c.UploadFromURL(context.Background(), catRequest); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %s, want the 1h Retry-After capped to 300ms", took)
	}
}

// The random spread added to Retry-After is the client's own: it must never cost a retry that
// the server's wait leaves time for. Four uploads, so that a spread which ignored the deadline
// (up to 500ms here) would fail at least one of them almost surely.
func TestUploadFromURL_RetryAfterThatFitsTheDeadlineIsRetried(t *testing.T) {
	refused := answer{status: 429, retryAfter: "1", body: `{"success":false,"error":{"code":"rate_limited","message":"Rate limit exceeded"},"request_id":"req_1"}`}
	srv := newScriptedServer(t, refused, refused, refused, refused, answer{status: 200, body: referenceOK})
	c := testClient(t, srv.URL, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 1300*time.Millisecond)
			defer cancel()
			_, err := c.UploadFromURL(ctx, catRequest)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("upload failed although Retry-After 1 fits a 1.3s deadline: %v", err)
		}
	}
}

// An attempt that gets no answer must not lose the request_id of the answer before it.
func TestUploadFromURL_LastAnswerSurvivesAttemptsWithoutOne(t *testing.T) {
	srv := newScriptedServer(t,
		answer{status: 500, body: `{"success":false,"error":{"code":"internal_error","message":"Internal error"},"request_id":"req_7"}`},
		answer{drop: true})
	_, err := testClient(t, srv.URL, 2).UploadFromURL(context.Background(), catRequest)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.RequestID != "req_7" {
		t.Fatalf("err = %v, want the 500 and its request_id reachable with errors.As", err)
	}
	for _, want := range []string{"Gave up after 3 attempts; attempts 2 to 3 got no answer, the last: ", "EOF. Last answer (attempt 1): API Mall answered 500", "Request ID: req_7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The advice the provider adds speaks of every attempt made, not of the one that answered.
	if apiErr.Attempts != 3 || !strings.Contains(apiErr.Advice(), "after 3 attempts") {
		t.Errorf("attempts %d, advice %q: want 3", apiErr.Attempts, apiErr.Advice())
	}
}

// Cancelled while waiting after an attempt that got no answer: the error says both, and keeps
// the answer before it.
func TestUploadFromURL_CancelAfterAnAttemptWithoutAnswer(t *testing.T) {
	srv := newScriptedServer(t,
		answer{status: 500, retryAfter: "0", body: `{"success":false,"error":{"code":"internal_error","message":"Internal error"},"request_id":"req_8"}`},
		answer{drop: true})
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxRetries: 4, BackoffMin: 10 * time.Second, BackoffMax: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(srv.got()) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // attempt 2 has failed; the 5-10s backoff is running
		cancel()
	}()
	_, err = c.UploadFromURL(ctx, catRequest)
	want := "Cancelled while waiting to retry after 2 attempts; attempt 2 got no answer: "
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "Last answer (attempt 1): API Mall answered 500") {
		t.Errorf("err = %v, want it to start %q and keep the 500", err, want)
	}
}

// The deadline ends attempt 3 after a 500 and an attempt without answer: the error says all three.
func TestUploadFromURL_DeadlineDuringAnAttemptKeepsTheEarlierOnes(t *testing.T) {
	srv := newScriptedServer(t,
		answer{status: 500, retryAfter: "0", body: `{"success":false,"error":{"code":"internal_error","message":"Internal error"},"request_id":"req_10"}`},
		answer{broken: true},
		answer{status: 200, body: referenceOK, hang: 10 * time.Second})
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxRetries: 4, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = c.UploadFromURL(ctx, catRequest)
	want := "The operation's deadline passed during attempt 3; attempt 2 got no answer: "
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(fmt.Sprint(err), want) || !strings.Contains(fmt.Sprint(err), "Last answer (attempt 1): API Mall answered 500") {
		t.Errorf("err = %v, want it to start %q and keep the 500", err, want)
	}
}

// An answer that is never retried stays the answer when the context ends as it is read: no
// "waiting to retry" where no retry was due.
func TestUploadFromURL_FinalAnswerCutByTheDeadline(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 400, body: `{"success":false,`, stall: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := testClient(t, srv.URL, 4).UploadFromURL(ctx, catRequest)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || strings.Contains(err.Error(), "retry") || len(srv.got()) != 1 {
		t.Errorf("err = %v after %d requests, want the 400 itself, not retried", err, len(srv.got()))
	}
}

// A HEAD answered once and then never again does not claim it got no answer at all.
func TestCheckHosted_AnswerBeforeAttemptsWithout(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 503, retryAfter: "0"}, answer{drop: true})
	check := testClient(t, srv.URL, 2).CheckHosted(context.Background(), srv.URL+"/uploads/2026/11/25/cat.png")
	if want := "no answer after 3 attempts (attempt 1 answered HTTP 503, the later ones nothing)"; check.State != HostedUnknown || !strings.HasPrefix(check.Reason, want) {
		t.Errorf("check = %+v, want unknown with a reason starting %q", check, want)
	}
}

func TestRetriesCut(t *testing.T) {
	stop := context.DeadlineExceeded
	for _, tc := range []struct {
		status int
		err    error
		want   error
	}{
		{503, stop, stop},
		{429, stop, stop},
		{403, stop, nil}, // never retried: nothing was cut short
		{200, nil, nil},
		{503, nil, nil},
	} {
		if got := retriesCut(&http.Response{StatusCode: tc.status}, tc.err); !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("retriesCut(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.want)
		}
	}
}

// When the deadline stops the retries of an attempt that got no answer, the error still says
// what went wrong with it.
func TestUploadFromURL_DeadlineKeepsTheTransportError(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: testKey, MaxRetries: 4, BackoffMin: 2 * time.Second, BackoffMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = c.UploadFromURL(ctx, catRequest)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to unwrap to context.DeadlineExceeded", err)
	}
	for _, want := range []string{"due in 1s at the earliest", "so it was not retried", "the last attempt failed", "connection refused"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// A Retry-After past the deadline, or one that would leave almost no time for the attempt after
// it, fails at once and says what the server asked for.
func TestUploadFromURL_RetryAfterPastDeadlineFailsAtOnce(t *testing.T) {
	cases := map[string]struct {
		retryAfter string
		asked      time.Duration
		deadline   time.Duration
		want       []string
		capped     bool
	}{
		"past the deadline, capped": {"3600", time.Hour, 5 * time.Second,
			[]string{"asked to retry after 1h0m0s (Retry-After) (capped at 1m0s)", "deadline is", "Request ID: req_5"}, true},
		"no time left for the attempt": {"2", 2 * time.Second, 2100 * time.Millisecond,
			[]string{"asked to retry after 2s (Retry-After), but the operation's deadline is", "too close for another attempt", "Request ID: req_5"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, answer{status: 429, retryAfter: tc.retryAfter, body: `{"success":false,"error":{"code":"rate_limited","message":"Rate limit exceeded"},"request_id":"req_5"}`})
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			start := time.Now()
			_, err := testClient(t, srv.URL, 4).UploadFromURL(ctx, catRequest)
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s, want an answer at once", took)
			}
			var apiErr *APIError
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != tc.asked {
				t.Fatalf("err = %v (%+v), want a deadline error carrying the 429 and its Retry-After", err, apiErr)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got := strings.Contains(err.Error(), "capped"); got != tc.capped {
				t.Errorf("error %q says capped: %v, want %v", err, got, tc.capped)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestUploadFromURL_RetriesExhausted(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newScriptedServer(t, answer{status: status, body: `{"success":false,"error":{"code":"busy","message":"try later"}}`})
			_, err := testClient(t, srv.URL, 3).UploadFromURL(context.Background(), catRequest)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Attempts != 4 || len(srv.got()) != 4 {
				t.Fatalf("err = %v, %d requests; want 4 attempts", err, len(srv.got()))
			}
			if !strings.Contains(apiErr.Advice(), "4 attempts") {
				t.Errorf("advice %q does not count the attempts", apiErr.Advice())
			}
		})
	}
}

func TestUploadFromURL_NeverRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 501} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newScriptedServer(t, answer{status: status, body: referenceFail})
			_, err := testClient(t, srv.URL, 4).UploadFromURL(context.Background(), catRequest)
			if err == nil || len(srv.got()) != 1 {
				t.Fatalf("err = %v after %d requests, want one request", err, len(srv.got()))
			}
		})
	}
}

func TestUploadFromURL_SameBodyAndIdempotencyKeyOnEveryAttempt(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 503}, answer{status: 502, body: "<html>"}, answer{status: 200, body: referenceOK})
	c := testClient(t, srv.URL, 4)
	req := UploadRequest{URL: catRequest.URL, Filename: "a.png", ContentType: "image/png"}
	if _, err := c.UploadFromURL(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	reqs := srv.got()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs[1:] {
		if !bytes.Equal(r.body, reqs[0].body) || r.header.Get("Idempotency-Key") != reqs[0].header.Get("Idempotency-Key") {
			t.Errorf("attempt %d sent %s with key %q; attempt 1 sent %s with key %q", i+2,
				r.body, r.header.Get("Idempotency-Key"), reqs[0].body, reqs[0].header.Get("Idempotency-Key"))
		}
	}
	if _, err := c.UploadFromURL(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if next := srv.got()[3].header.Get("Idempotency-Key"); next == reqs[0].header.Get("Idempotency-Key") {
		t.Errorf("two uploads shared the Idempotency-Key %q", next)
	}
}

func TestUploadFromURL_RetriesADroppedConnection(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		}
		_, _ = io.WriteString(w, referenceOK)
	}))
	defer srv.Close()
	res, err := testClient(t, srv.URL, 2).UploadFromURL(context.Background(), catRequest)
	if err != nil || res.Key == "" {
		t.Fatalf("err = %v, want success after a dropped connection", err)
	}
	if calls.Load() < 2 {
		t.Errorf("%d requests, want a retry", calls.Load())
	}
}

func TestUploadFromURL_CancelDuringBackoffReturnsAtOnce(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 503, retryAfter: "30"})
	c := testClient(t, srv.URL, 4)
	baseline := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.UploadFromURL(ctx, catRequest)
		done <- err
	}()
	for len(srv.got()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // now in the 30s backoff
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		if took := time.Since(cancelled); took > 100*time.Millisecond {
			t.Errorf("returned %s after the cancel, want within 100ms", took)
		}
		var apiErr *APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 ||
			!strings.HasPrefix(err.Error(), "Cancelled while waiting to retry after 1 attempt. Last answer (attempt 1): API Mall answered 503") {
			t.Errorf("err = %v, want context.Canceled with the last answer", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("still waiting 2s after the cancel")
	}
	c.api.CloseIdleConnections()
	srv.CloseClientConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		t.Errorf("%d goroutines left, %d before the upload", n, baseline)
	}
}

func TestUploadFromURL_ConcurrencyLimitIsShared(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		_, _ = io.WriteString(w, referenceOK)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxConcurrentUploads: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.UploadFromURL(context.Background(), catRequest); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("the server saw %d uploads at once, want exactly the limit of 3", p)
	}
}

func TestUploadFromURL_RedirectIsAnErrorNamingTheLocation(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := newScriptedServer(t, answer{status: 307, header: http.Header{"Location": {other.URL + "/api/v1/files/from-url"}}})
	_, err := testClient(t, srv.URL, 2).UploadFromURL(context.Background(), catRequest)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Location != other.URL+"/api/v1/files/from-url" || !strings.Contains(err.Error(), other.URL) {
		t.Fatalf("err = %v, want a redirect error naming %s", err, other.URL)
	}
	if elsewhere.Load() != 0 || len(srv.got()) != 1 {
		t.Errorf("the redirect was followed (%d) or retried (%d requests)", elsewhere.Load(), len(srv.got()))
	}
}

func TestNew_RefusesBaseURLsThatWouldLeakTheKey(t *testing.T) {
	cases := map[string]string{ // base URL -> "" when accepted, else a part of the error
		"https://gateway.apimall.ai":         "",
		"https://gateway.apimall.ai/prefix/": "",
		"http://127.0.0.1:8080":              "",
		"http://localhost:8080/":             "",
		"http://[::1]:8080":                  "",
		"http://127.0.0.2":                   "",
		"http://gateway.apimall.ai":          "plain http:// to a host that is not loopback",
		"http://10.0.0.1":                    "plain http:// to a host that is not loopback",
		// glibc reads these as 127.0.0.1, but Go's resolver asks DNS for them.
		"http://127.1:8080":                     "plain http:// to a host that is not loopback",
		"http://0x7f.1:8080":                    "plain http:// to a host that is not loopback",
		"http://2130706433:8080":                "plain http:// to a host that is not loopback",
		"http://127.0.0.1.:8080":                "plain http:// to a host that is not loopback",
		"ftp://gateway.apimall.ai":              `has the scheme "ftp"`,
		"gateway.apimall.ai":                    "is not an absolute URL",
		"https://user:pw@gateway.apimall.ai":    "must not carry user info",
		"https://gateway.apimall.ai/?key=value": "must not have a query or fragment",
		"https://:443/":                         "is not an absolute URL",
		"HTTP://LOCALHOST:8080":                 "",
	}
	for base, want := range cases {
		_, err := New(Config{BaseURL: base, APIKey: testKey})
		switch {
		case want == "" && err != nil:
			t.Errorf("New(%q) = %v, want accepted", base, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("New(%q) = %v, want an error saying %q", base, err, want)
		}
	}
}

func TestCheckHosted(t *testing.T) {
	cases := map[string]struct {
		answer answer
		want   HostedCheck
	}{
		"present": {answer{status: 200, header: http.Header{"Content-Type": {"image/png"}, "Content-Length": {"612441"}}},
			HostedCheck{State: HostedPresent, ContentType: "image/png", ContentLength: 612441, Reason: "HTTP 200"}},
		"gone 404": {answer{status: 404}, HostedCheck{State: HostedGone, ContentLength: -1, Reason: "HTTP 404"}},
		"gone 410": {answer{status: 410}, HostedCheck{State: HostedGone, ContentLength: -1, Reason: "HTTP 410"}},
		"500":      {answer{status: 500}, HostedCheck{State: HostedUnknown, ContentLength: -1, Reason: "the hosted file answered HTTP 500 after 2 attempts"}},
		"403":      {answer{status: 403}, HostedCheck{State: HostedUnknown, ContentLength: -1, Reason: "the hosted file answered HTTP 403 after 1 attempt"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, tc.answer)
			// The hosted file is on the API's own host: the key must stay home all the same.
			c := testClient(t, srv.URL, 1)
			if got := c.CheckHosted(context.Background(), srv.URL+"/uploads/a.png"); got != tc.want {
				t.Errorf("CheckHosted = %+v, want %+v", got, tc.want)
			}
			for _, r := range srv.got() {
				if r.header.Get("Authorization") != "" {
					t.Errorf("a HEAD carried Authorization %q", r.header.Get("Authorization"))
				}
			}
		})
	}
	c := testClient(t, "https://gateway.apimall.ai", 0)
	if got := c.CheckHosted(context.Background(), "http://127.0.0.1:1/uploads/a.png"); got.State != HostedUnknown || !strings.Contains(got.Reason, "no answer after 1 attempt") {
		t.Errorf("CheckHosted of a closed port = %+v, want unknown with the reason", got)
	}
}

// TestHead_RedirectToAnotherHostCarriesNoAuthorization goes through a forward proxy so that the
// two hosts have different names, as a CDN redirect would.
func TestHead_RedirectToAnotherHostCarriesNoAuthorization(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Host] = r.Header.Clone()
		mu.Unlock()
		if r.URL.Host == "cdn.test" {
			http.Redirect(w, r, "http://files.other.test/b.png", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)

	head, err := testClient(t, "https://gateway.apimall.ai", 0).Head(context.Background(), "http://cdn.test/a.png")
	if err != nil || head.StatusCode != 200 || head.ContentType != "image/png" {
		t.Fatalf("Head = %+v, %v; want the redirect followed", head, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("the proxy saw %v, want cdn.test then files.other.test", seen)
	}
	for host, h := range seen {
		if h.Get("Authorization") != "" || h.Get("User-Agent") == "" {
			t.Errorf("%s got Authorization %q and User-Agent %q", host, h.Get("Authorization"), h.Get("User-Agent"))
		}
	}
}

func TestKeyNeverInLogsOrErrors(t *testing.T) {
	cases := map[string]func(t *testing.T) string{ // returns the base URL to use
		"401": func(t *testing.T) string {
			return newScriptedServer(t, answer{status: 401, body: `{"success":false,"error":{"code":"unauthorized","message":"Invalid API key ` + testKey + `"}}`}).URL
		},
		"retries exhausted": func(t *testing.T) string {
			return newScriptedServer(t, answer{status: 500, body: "upstream said " + testKey}).URL
		},
		"no answer": func(t *testing.T) string { return "http://127.0.0.1:1" },
		"key across the end of the quoted body": func(t *testing.T) string {
			return newScriptedServer(t, answer{status: 502, body: strings.Repeat("x", maxSnippetBytes-12) + testKey}).URL
		},
	}
	for name, base := range cases {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx := tflogtest.RootLogger(context.Background(), &logs)
			// A key pasted from a file keeps its newline; the client must neither send nor show it.
			c, err := New(Config{BaseURL: base(t), APIKey: testKey + "\n", MaxRetries: 2, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.UploadFromURL(ctx, catRequest)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), testKey[:12]) {
				t.Errorf("the error shows the key, or its first half: %v", err)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) && strings.Contains(apiErr.Error()+apiErr.Message+apiErr.BodySnippet, testKey) {
				t.Errorf("the *APIError reached with errors.As shows the key: %v", apiErr)
			}
			if !strings.Contains(logs.String(), `"@module":"provider.apimall_client"`) {
				t.Fatalf("no apimall_client log lines captured; the test would prove nothing:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), testKey) {
				t.Errorf("the logs show the key:\n%s", logs.String())
			}
			entries, err := tflogtest.MultilineJSONDecode(&logs)
			if err != nil {
				t.Fatal(err)
			}
			attempts := 0
			for _, e := range entries {
				if e["@message"] == "received response" || e["@message"] == "request failed without an answer" {
					attempts++
					if _, ok := e["attempt"]; !ok {
						t.Errorf("attempt log without its number: %v", e)
					}
				}
			}
			if attempts == 0 {
				t.Error("no attempt was logged")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		in   string
		want time.Duration
		ok   bool
	}{
		"seconds":   {"3", 3 * time.Second, true},
		"zero":      {"0", 0, true},
		"date":      {"Wed, 25 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		"past date": {"Wed, 25 Nov 2026 09:00:00 GMT", 0, true},
		"negative":  {"-1", 0, false},
		"garbage":   {"soon", 0, false},
		"empty":     {"", 0, false},
		"huge":      {"99999999999", 24 * time.Hour, true},
		"padded":    {" 2 ", 2 * time.Second, true},
	}
	for name, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: parseRetryAfter(%q) = %s, %v; want %s, %v", name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffHasJitterAndBounds(t *testing.T) {
	c := &Client{backoffMin: 100 * time.Millisecond, backoffMax: time.Second, retryAfterCap: time.Minute}
	seen := map[time.Duration]bool{}
	for range 50 {
		w := c.waitBefore(3, nil) // 100ms << 2 = 400ms, jittered into [200ms, 400ms]
		wait := w.wait
		if w.least != 200*time.Millisecond {
			t.Fatalf("least wait %s, want the lower end of the window, 200ms", w.least)
		}
		if wait < 200*time.Millisecond || wait > 400*time.Millisecond {
			t.Fatalf("wait %s outside [200ms, 400ms]", wait)
		}
		seen[wait] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct waits in 50: no jitter", len(seen))
	}
	if wait := c.waitBefore(40, nil).wait; wait > time.Second {
		t.Errorf("wait %s beyond BackoffMax", wait)
	}

	// Clients refused together are told the same Retry-After; they must not come back together.
	resp := &http.Response{Header: http.Header{"Retry-After": {"1"}}}
	seen = map[time.Duration]bool{}
	for range 50 {
		w := c.waitBefore(1, resp)
		wait, asked := w.wait, w.asked
		if asked != time.Second || w.least != time.Second || wait < time.Second || wait > 1500*time.Millisecond {
			t.Fatalf("Retry-After 1: wait %s (asked %s), want within [1s, 1.5s]", wait, asked)
		}
		seen[wait] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct waits after Retry-After in 50: retries would come back together", len(seen))
	}
	for range 50 {
		if wait := c.waitBefore(6, resp).wait; wait < time.Second || wait > 4*time.Second {
			t.Fatalf("Retry-After 1 after 6 refusals: wait %s, want within [1s, 4s]", wait)
		}
	}
	resp.Header.Set("Retry-After", "3600")
	if w := c.waitBefore(1, resp); w.wait != time.Minute || w.least != time.Minute || w.asked != time.Hour {
		t.Errorf("Retry-After 3600: %+v, want the 1m cap exactly and 1h asked", w)
	}
}

// FuzzDecodeUploadResponse feeds arbitrary answers to the decoder: it must never panic, never
// accept anything but a complete success envelope with HTTP 200, and never quote more than 512
// bytes. Seeds are the reference's own examples and their near misses.
func FuzzDecodeUploadResponse(f *testing.F) {
	seeds := []string{
		referenceOK, referenceFail, "", "<html>", `{"success":true,"data":null}`, `{"success":true,"data":{"file_size":1e400}}`,
		`{"success":false,"error":{"code":"unauthorized","message":"API key required"},"request_id":"req_x"}`,
		`{"success":true,"data":{"url":"u","key":"k","content_type":"image/png","file_size":-1}}`,
		`{"success":false,"error":{"code":"x","message":"y","details":{"a":{"b":[1,"c",null]}}}}`,
		`{"success":"yes"}`, `null`, referenceOK[:len(referenceOK)/2],
	}
	for _, seed := range seeds {
		f.Add(200, "", seed)
		f.Add(400, "1", seed)
		f.Add(429, "Wed, 21 Oct 2015 07:28:00 GMT", seed)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, body string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}}
		raw, cut, err := readBody(strings.NewReader(body))
		result, apiErr := decodeUpload(resp, raw, cut, err, 1)
		if apiErr == nil {
			if status != 200 || result.URL == "" || result.Key == "" {
				t.Fatalf("accepted status %d body %q as %+v", status, body, result)
			}
			return
		}
		if msg := apiErr.Error(); msg == "" || len(apiErr.BodySnippet) > maxSnippetBytes || apiErr.RetryAfter < 0 {
			t.Fatalf("bad error for %q: %q", body, msg)
		}
		scrubAPIError(apiErr, func(s string) string { return strings.ReplaceAll(s, "k", "***") })
		_ = apiErr.Error()
		_ = apiErr.Advice()
	})
}

func TestUploadFromURL_SlotIsNotHeldDuringBackoff(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 429, retryAfter: "2"}, answer{status: 200, body: referenceOK})
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxRetries: 2, MaxConcurrentUploads: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := c.UploadFromURL(context.Background(), catRequest)
		first <- err
	}()
	for len(srv.got()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if _, err := c.UploadFromURL(context.Background(), catRequest); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the second upload waited %s behind one sleeping off a 429, want it to go at once", took)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestUploadFromURL_PossibleDuplicatesAreCountedInTheLogs(t *testing.T) {
	cases := map[string]struct {
		script []answer
		want   any // possible_duplicates logged, nil for no warning
	}{
		"retried 500 then success":   {[]answer{{status: 500}, {status: 200, body: referenceOK}}, float64(1)},
		"two retried 5xx then fails": {[]answer{{status: 502}, {status: 504}, {status: 400, body: referenceFail}}, float64(2)},
		"retried 429 then success":   {[]answer{{status: 429}, {status: 200, body: referenceOK}}, nil},
		"last 500 not retried":       {[]answer{{status: 500}}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, tc.script...)
			var logs bytes.Buffer
			ctx := tflogtest.RootLogger(context.Background(), &logs)
			maxRetries := len(tc.script) - 1
			_, _ = testClient(t, srv.URL, maxRetries).UploadFromURL(ctx, catRequest)
			entries, err := tflogtest.MultilineJSONDecode(&logs)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			for _, e := range entries {
				if n, ok := e["possible_duplicates"]; ok {
					got = n
				}
			}
			if got != tc.want {
				t.Errorf("possible_duplicates logged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUploadFromURL_AttemptLogsCarryTheEnvelopesRequestID(t *testing.T) {
	srv := newScriptedServer(t,
		answer{status: 503, body: `{"success":false,"error":{"code":"unavailable","message":"busy"},"request_id":"req_first"}`},
		answer{status: 200, body: referenceOK})
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	if _, err := testClient(t, srv.URL, 1).UploadFromURL(ctx, catRequest); err != nil {
		t.Fatal(err)
	}
	entries, err := tflogtest.MultilineJSONDecode(&logs)
	if err != nil {
		t.Fatal(err)
	}
	var ids []any
	for _, e := range entries {
		if e["@message"] == "received response" {
			ids = append(ids, e["request_id"])
			for _, field := range []string{"method", "url", "status", "attempt", "duration_ms"} {
				if _, ok := e[field]; !ok {
					t.Errorf("attempt log without %s: %v", field, e)
				}
			}
		}
	}
	if fmt.Sprint(ids) != "[req_first req_01HQ9M7J7X9P7Y8T6W5V4U3S2R]" {
		t.Errorf("request ids logged = %v", ids)
	}
}

func TestUploadFromURL_HeadersAreLoggedAsListsWithoutTheKey(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 200, body: referenceOK})
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	if _, err := testClient(t, srv.URL, 0).UploadFromURL(ctx, catRequest); err != nil {
		t.Fatal(err)
	}
	entries, err := tflogtest.MultilineJSONDecode(&logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e["@message"] != "sending request" {
			continue
		}
		headers, _ := e["headers"].(map[string]any)
		if fmt.Sprint(headers["Authorization"]) != "[***]" || fmt.Sprint(headers["Accept"]) != "[application/json]" {
			t.Errorf("headers logged = %v, want lists with Authorization masked", headers)
		}
		return
	}
	t.Fatalf("no \"sending request\" line:\n%s", logs.String())
}

func TestUploadFromURL_AFailureKeepsOtherUploadsConnections(t *testing.T) {
	var conns atomic.Int32
	srv := newScriptedServerWith(t, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				conns.Add(1)
			}
		}
	}, answer{status: 500}, answer{status: 200, body: referenceOK})
	c := testClient(t, srv.URL, 0)
	if _, err := c.UploadFromURL(context.Background(), catRequest); err == nil { // retries exhausted
		t.Fatal("want the 500")
	}
	if _, err := c.UploadFromURL(context.Background(), catRequest); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for two uploads in a row; a failed upload closed the pooled one", n)
	}
}

func TestCheckPublicRedirect_DropsAuthorization(t *testing.T) {
	req := httptest.NewRequest(http.MethodHead, "https://other.test/a.png", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if err := checkPublicRedirect(req, []*http.Request{httptest.NewRequest(http.MethodHead, "https://cdn.test/a.png", nil)}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization %q kept on a redirect", got)
	}
	if err := checkPublicRedirect(req, make([]*http.Request, maxRedirects)); err == nil {
		t.Error("an 11th redirect was followed")
	}
}

func TestNew_RefusesOutOfRangeLimits(t *testing.T) {
	for _, cfg := range []Config{{MaxRetries: -1}, {MaxRetries: 11}, {MaxConcurrentUploads: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{MaxRetries: 10}); err != nil {
		t.Errorf("New with 10 retries: %v", err)
	}
}

func TestSnippet_CutsAtACharacterBoundary(t *testing.T) {
	body := []byte(strings.Repeat("a", maxSnippetBytes-1) + "é and more")
	got := snippet(body)
	if len(got) > maxSnippetBytes || !utf8.ValidString(got) || got != strings.Repeat("a", maxSnippetBytes-1) {
		t.Errorf("snippet = %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func TestUploadFromURL_WaitingForASlotEndsWithTheContext(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-release
		_, _ = io.WriteString(w, referenceOK)
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxConcurrentUploads: 1})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = c.UploadFromURL(context.Background(), catRequest) }() // holds the only slot
	for requests.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.UploadFromURL(ctx, catRequest)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("err = %v after %s, want the deadline at about 100ms", err, took)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("the server saw %d requests; the one without a slot went out", n)
	}
}

// TestTransport_ReadsTheProxyOnEachRequest changes the proxy between two requests of one client:
// http.ProxyFromEnvironment would keep using the first for the life of the process.
func TestTransport_ReadsTheProxyOnEachRequest(t *testing.T) {
	var viaA, viaB atomic.Int32
	proxyA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { viaA.Add(1) }))
	defer proxyA.Close()
	proxyB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { viaB.Add(1) }))
	defer proxyB.Close()
	c := testClient(t, "https://gateway.apimall.ai", 0)
	for _, proxy := range []string{proxyA.URL, proxyB.URL} {
		t.Setenv("HTTP_PROXY", proxy)
		t.Setenv("http_proxy", proxy)
		if head, err := c.Head(context.Background(), "http://cdn.test/a.png"); err != nil || head.StatusCode != 200 {
			t.Fatalf("Head through %s = %+v, %v", proxy, head, err)
		}
	}
	if viaA.Load() != 1 || viaB.Load() != 1 {
		t.Errorf("proxy A saw %d requests and B %d, want one each", viaA.Load(), viaB.Load())
	}
}

func TestTransport_Settings(t *testing.T) {
	tr := newTransport(time.Minute)
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Error("TLS below 1.2 allowed")
	}
	if tr.TLSHandshakeTimeout == 0 || tr.ResponseHeaderTimeout != time.Minute || tr.DialContext == nil || tr.Proxy == nil {
		t.Errorf("a stage without a timeout, or no proxy function: %+v", tr)
	}
	if tr == http.DefaultTransport {
		t.Error("http.DefaultTransport modified instead of cloned")
	}
}

func TestUploadFromURL_DefaultUserAgent(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 200, body: referenceOK})
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadFromURL(context.Background(), catRequest); err != nil {
		t.Fatal(err)
	}
	if ua := srv.got()[0].header.Get("User-Agent"); ua != "terraform-provider-apimall" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestLogs_AttemptWithoutAnswerNamesTheRequest(t *testing.T) {
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	_, _ = testClient(t, "http://127.0.0.1:1", 0).UploadFromURL(ctx, catRequest)
	entries, err := tflogtest.MultilineJSONDecode(&logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e["@message"] == "request failed without an answer" {
			if e["method"] != "POST" || e["url"] != "http://127.0.0.1:1/api/v1/files/from-url" || e["attempt"] != float64(1) {
				t.Errorf("log line %v does not name the method, URL and attempt", e)
			}
			return
		}
	}
	t.Fatalf("no line for the failed attempt in %s", logs.String())
}

func TestLogs_ClientLevelFromEnvironment(t *testing.T) {
	for level, wantDebug := range map[string]bool{"": true, "WARN": false} {
		t.Run("level "+level, func(t *testing.T) {
			t.Setenv(envLogLevel, level)
			var logs bytes.Buffer
			ctx := tflogtest.RootLogger(context.Background(), &logs)
			srv := newScriptedServer(t, answer{status: 200, body: referenceOK})
			if _, err := testClient(t, srv.URL, 0).UploadFromURL(ctx, catRequest); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), `"sending request"`); got != wantDebug {
				t.Errorf("%s=%q: debug lines logged: %v, want %v", envLogLevel, level, got, wantDebug)
			}
		})
	}
}

func TestCheckHosted_SaysWhenRetriesWereCutShort(t *testing.T) {
	srv := newScriptedServer(t, answer{status: 503, retryAfter: "10"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	check := testClient(t, srv.URL, 4).CheckHosted(ctx, srv.URL+"/uploads/2026/11/25/cat.png")
	want := "the hosted file answered HTTP 503 after 1 attempt (not retried further: the server asked to retry after 10s (Retry-After)"
	if check.State != HostedUnknown || !strings.HasPrefix(check.Reason, want) {
		t.Errorf("check = %+v, want unknown with a reason starting %q", check, want)
	}
}
