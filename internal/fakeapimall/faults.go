package fakeapimall

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Fault replaces one answer of the gateway, to exercise a client's retries and error reporting.
type Fault struct {
	// Status is the status to answer; 0 with no Drop means "answer normally" (after any Stall).
	Status int
	// RetryAfter is sent as the Retry-After header when not empty ("2", or an HTTP date).
	RetryAfter string
	// Header holds extra response headers, e.g. Location for a 3xx.
	Header http.Header
	// Body replaces the JSON error envelope, e.g. an HTML page from a load balancer.
	Body []byte
	// ContentType goes with Body; empty means sniffed from Body.
	ContentType string
	// Drop closes the connection without any answer.
	Drop bool
	// Stall holds the answer back this long first (the client may time out meanwhile).
	Stall time.Duration
	// AfterStore applies the fault after the upload was processed and stored, as when a proxy
	// in front of the real service loses the answer; a retry without the same Idempotency-Key
	// then stores a duplicate, which is what the soak counts. Uploads only.
	AfterStore bool
}

// faultState is guarded by Server.mu.
type faultState struct {
	uploadQueue []Fault
	hostedQueue []Fault
	rate        float64
	rateFaults  []Fault
	latency     time.Duration
	bucket      *tokenBucket
	concLimit   int
	admitted    int
}

// FailNext makes the next n uploads (POST /api/v1/files/from-url) answer with f. Calls queue up.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults.uploadQueue = append(s.faults.uploadQueue, f)
	}
}

// FailHostedNext makes the next n GET/HEAD of hosted objects answer with f.
func (s *Server) FailHostedNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults.hostedQueue = append(s.faults.hostedQueue, f)
	}
}

// SetFaultRate makes a random fraction p (0..1) of uploads answer with one of faults, chosen at
// random, for the soak. p = 0 or no faults turns it off. Queued FailNext faults go first.
func (s *Server) SetFaultRate(p float64, faults []Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.rate = min(max(p, 0), 1)
	s.faults.rateFaults = append([]Fault(nil), faults...)
}

// SetLatency adds d to every admitted upload, inside the concurrency limit, like slow processing.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = max(d, 0)
}

// SetRateLimit turns on a token bucket of rps tokens per second holding up to burst tokens
// (burst < 1 means 1); an upload finding it empty answers 429 with Retry-After. rps <= 0 turns
// it off.
func (s *Server) SetRateLimit(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rps <= 0 {
		s.faults.bucket = nil
		return
	}
	b := float64(max(burst, 1))
	s.faults.bucket = &tokenBucket{rate: rps, burst: b, tokens: b, last: time.Now()}
}

// SetConcurrencyLimit makes uploads beyond n in progress answer 429 "too many concurrent jobs"
// with Retry-After: 1. n <= 0 turns it off.
func (s *Server) SetConcurrencyLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.concLimit = max(n, 0)
}

// ClearFaults removes queued faults, the fault rate, latency and both limits.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	admitted := s.faults.admitted
	s.faults = faultState{admitted: admitted}
}

// tokenBucket is written out here rather than taken from golang.org/x/time/rate: it is a dozen
// lines, and the fake needs the exact wait to put in Retry-After, under the Server's own lock.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take spends one token, or says how long until one is available.
func (b *tokenBucket) take(now time.Time) (bool, time.Duration) {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// retryAfterSeconds rounds up, never below 1: Retry-After is whole seconds, and 0 would invite
// an immediate retry that fails again.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// nextUploadFault pops a queued fault, else maybe draws one at the configured rate.
func (s *Server) nextUploadFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults.uploadQueue) > 0 {
		f := s.faults.uploadQueue[0]
		s.faults.uploadQueue = s.faults.uploadQueue[1:]
		s.stats.FaultsInjected++
		return f, true
	}
	if s.faults.rate > 0 && len(s.faults.rateFaults) > 0 && rand.Float64() < s.faults.rate {
		s.stats.FaultsInjected++
		return s.faults.rateFaults[rand.IntN(len(s.faults.rateFaults))], true
	}
	return Fault{}, false
}

func (s *Server) nextHostedFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults.hostedQueue) == 0 {
		return Fault{}, false
	}
	f := s.faults.hostedQueue[0]
	s.faults.hostedQueue = s.faults.hostedQueue[1:]
	s.stats.FaultsInjected++
	return f, true
}

// applyFault answers with f and reports true, or reports false when the request should go on
// normally (a pure stall).
func applyFault(w *recorder, r *http.Request, requestID string, f Fault) bool {
	if f.Stall > 0 {
		t := time.NewTimer(f.Stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client gave up; nobody reads an answer
		}
	}
	if f.Drop {
		w.drop()
		return true
	}
	if f.Status == 0 {
		return false
	}
	for k, v := range f.Header {
		w.Header()[k] = append([]string(nil), v...)
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body == nil {
		writeError(w, f.Status, requestID, defaultErrorCode(f.Status), http.StatusText(f.Status), nil)
		return true
	}
	ct := f.ContentType
	if ct == "" {
		ct = http.DetectContentType(f.Body)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.Header().Set("X-Request-Id", requestID)
	w.WriteHeader(f.Status)
	_, _ = w.Write(f.Body)
	return true
}
