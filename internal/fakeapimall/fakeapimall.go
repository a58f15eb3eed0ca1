// Package fakeapimall is an offline stand-in for the API Mall gateway, for tests, the demo and benchmarks.
package fakeapimall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/publicip"
)

// Defaults for the source fetch; small enough that a misbehaving source cannot hold a test for
// long or fill memory, large enough for realistic media.
const (
	DefaultSourceTimeout  = 30 * time.Second
	DefaultMaxSourceBytes = 64 << 20
	// AdminPrefix is where the admin HTTP API lives on the gateway's listener.
	AdminPrefix = "/_fake/"
	// UploadPath is the one API route the real gateway documents.
	UploadPath = "/api/v1/files/from-url"
)

// Fixture is a canned answer of a source URL. The fake serves a host that appears in the fixture
// table from the table alone, so tests use realistic public-looking URLs without any network.
type Fixture struct {
	// Status is the HTTP status the source answers; 0 means 200. A 3xx with a Location header
	// is followed like a real redirect.
	Status int
	// Header is sent as given. Content-Length and a strong ETag are computed from Body when
	// absent (unless NoValidators); Last-Modified is only ever sent when set here.
	Header http.Header
	// Body is the content the source serves.
	Body []byte
	// NoValidators suppresses the computed ETag and Content-Length, so a test can model a
	// source that answers no validator at all (the body then goes out chunked).
	NoValidators bool
	// Delay holds the answer back, so a test can make a source time out.
	Delay time.Duration
	// HeadStatus, when not 0, is the status a HEAD request gets, with no body and none of the
	// fixture's headers; GET is unchanged. It models origins that refuse HEAD (405) but serve
	// GET, so a client's HEAD check of the source can fail while uploads still work: the
	// gateway's own fetch only ever sends GET.
	HeadStatus int
}

// Options configures a fake gateway. The zero value is usable.
type Options struct {
	// APIKey is the Bearer token the gateway accepts; "" generates a random one.
	APIKey string
	// Fixtures maps source URLs ("https://assets.example.com/cat.png") to their answers.
	Fixtures map[string]Fixture
	// Addr is the gateway's listen address, loopback only; "" means 127.0.0.1:0.
	Addr string
	// ProxyAddr is the forward proxy's listen address, loopback only; "" means 127.0.0.1:0.
	ProxyAddr string
	// SourceTimeout bounds a whole source fetch, redirects included; 0 means DefaultSourceTimeout.
	SourceTimeout time.Duration
	// MaxSourceBytes caps a source's size; 0 means DefaultMaxSourceBytes.
	MaxSourceBytes int64

	// allowDial lets in-package tests reach a loopback httptest origin that the public-address
	// rule would otherwise refuse. It is deliberately unexported: nothing outside this package
	// can weaken the rule.
	allowDial func(netip.AddrPort) bool
}

// Server is a running fake gateway plus its forward proxy. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	apiKey   string
	client   *http.Client
	handler  http.Handler
	proxy    http.Handler
	httpSrv  *http.Server
	proxySrv *http.Server
	baseURL  string
	proxyURL string

	mu             sync.Mutex
	fixtures       map[string]Fixture // normalized URL -> fixture
	fixtureHosts   map[string]int     // host[:port] -> number of fixtures on it
	objects        map[string]*Object
	objectOrder    []string
	keys           map[string]struct{} // every key ever given, deleted objects' included
	nextSuffix     map[string]int      // plain key -> first number freeKey tries next
	idem           map[string]*idemEntry
	requests       []RecordedRequest
	proxyRequests  []RecordedRequest
	sourceRequests map[string]int // through the proxy
	sourceFetches  map[string]int // by the gateway itself, from the fixture table
	storedBySource map[string]int // canonical upload request -> objects stored
	faults         faultState
	stats          Stats
	closeOnce      sync.Once
}

// Stats are the gateway's counters, for tests and the soak.
type Stats struct {
	// UploadAttempts counts every POST /api/v1/files/from-url that arrived, faulted or not.
	UploadAttempts int `json:"upload_attempts"`
	// StoredUploads counts objects actually stored (deleted ones included).
	StoredUploads int `json:"stored_uploads"`
	// DuplicateUploads counts stored uploads whose url, filename and content_type equal those of
	// an earlier stored upload: the copies a retry without a reused Idempotency-Key leaves behind.
	DuplicateUploads int `json:"duplicate_uploads"`
	// IdempotentReplays counts answers replayed for a repeated Idempotency-Key.
	IdempotentReplays int `json:"idempotent_replays"`
	// IdempotencyConflicts counts 409 answers for a key reused with a different body.
	IdempotencyConflicts int `json:"idempotency_conflicts"`
	// RateLimited counts 429 answers from the token bucket.
	RateLimited int `json:"rate_limited"`
	// ConcurrencyLimited counts 429 answers from the concurrency limit.
	ConcurrencyLimited int `json:"concurrency_limited"`
	// FaultsInjected counts answers replaced by a fault (FailNext, FailHostedNext, SetFaultRate).
	FaultsInjected int `json:"faults_injected"`
	// MaxInFlightUploads is the peak number of upload requests being handled at once.
	MaxInFlightUploads int `json:"max_in_flight_uploads"`
	// InFlightUploads is the number being handled now.
	InFlightUploads int `json:"in_flight_uploads"`
}

// RecordedRequest is one request the gateway (or its proxy) saw.
type RecordedRequest struct {
	Method string
	// Path is the request path; for proxy requests, the absolute source URL.
	Path string
	// Header is the request's header with Authorization removed, so recordings never hold the key.
	Header http.Header
	Time   time.Time
	// Status is the status answered; 0 when the connection was dropped by a fault.
	Status int
	// RequestID is the gateway's request id, for API requests.
	RequestID string
	// Body is the request body of an upload (capped), so tests can assert what a client sent.
	Body []byte
}

// Start starts a fake gateway and its forward proxy on loopback.
func Start(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	proxyAddr := opts.ProxyAddr
	if proxyAddr == "" {
		proxyAddr = "127.0.0.1:0"
	}
	ln, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}
	pln, err := listenLoopback(proxyAddr)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.baseURL = "http://" + ln.Addr().String()
	s.proxyURL = "http://" + pln.Addr().String()
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.proxySrv = &http.Server{Handler: s.proxy, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns http.ErrServerClosed on Close; there is no one else to tell.
	go func() { _ = s.httpSrv.Serve(ln) }()
	go func() { _ = s.proxySrv.Serve(pln) }()
	return s, nil
}

// NewTestServer starts a fake gateway for a test and closes it when the test ends.
func NewTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("start fake API Mall gateway: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newServer builds the state and handlers; Start adds the listeners and the URLs.
func newServer(opts Options) (*Server, error) {
	if opts.SourceTimeout <= 0 {
		opts.SourceTimeout = DefaultSourceTimeout
	}
	if opts.MaxSourceBytes <= 0 {
		opts.MaxSourceBytes = DefaultMaxSourceBytes
	}
	s := &Server{
		opts:           opts,
		apiKey:         opts.APIKey,
		fixtures:       map[string]Fixture{},
		fixtureHosts:   map[string]int{},
		objects:        map[string]*Object{},
		keys:           map[string]struct{}{},
		nextSuffix:     map[string]int{},
		idem:           map[string]*idemEntry{},
		sourceRequests: map[string]int{},
		sourceFetches:  map[string]int{},
		storedBySource: map[string]int{},
	}
	if s.apiKey == "" {
		s.apiKey = generateAPIKey()
	}
	for u, f := range opts.Fixtures {
		if err := s.setFixture(u, f); err != nil {
			return nil, fmt.Errorf("fixture %s: %w", u, err)
		}
	}
	s.client = s.newSourceClient()
	s.handler = http.HandlerFunc(s.serveGateway)
	s.proxy = http.HandlerFunc(s.serveProxy)
	return s, nil
}

// listenLoopback refuses anything but a loopback address: the fake accepts any URL from anyone
// who can reach it, so it must never be reachable from another machine.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !publicip.IsLoopbackHost(host) {
		return nil, fmt.Errorf("listen address %q is not loopback: the fake gateway only listens on 127.0.0.1, ::1 or localhost", addr)
	}
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}

func generateAPIKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return "fake_" + hex.EncodeToString(b)
}

// URL is the gateway's base URL (http://127.0.0.1:port); hosted objects are at URL()+"/"+key.
func (s *Server) URL() string { return s.baseURL }

// APIKey is the Bearer token the gateway accepts.
func (s *Server) APIKey() string { return s.apiKey }

// ProxyURL is the forward proxy serving fixture hosts for http:// URLs; tests put it in HTTP_PROXY.
func (s *Server) ProxyURL() string { return s.proxyURL }

// Handler is the gateway's handler (API, hosted objects, admin API), for mounting elsewhere.
// Hosted URLs in its answers still point at URL(), where the objects are served too.
func (s *Server) Handler() http.Handler { return s.handler }

// ProxyHandler is the forward proxy's handler.
func (s *Server) ProxyHandler() http.Handler { return s.proxy }

// Close stops both listeners, ending in-flight requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, srv := range []*http.Server{s.httpSrv, s.proxySrv} {
			if srv != nil {
				_ = srv.Close()
			}
		}
		s.client.CloseIdleConnections()
	})
}

// Shutdown stops both listeners gracefully, letting in-flight requests finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range []*http.Server{s.httpSrv, s.proxySrv} {
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
		}
	}
	s.client.CloseIdleConnections()
	return errors.Join(errs...)
}

// serveGateway routes the gateway's listener.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, AdminPrefix):
		// Admin calls are not recorded: tests count what clients sent, not their own setup.
		s.serveAdmin(w, r)
	case r.URL.Path == UploadPath:
		s.record(w, r, s.serveUpload)
	case strings.HasPrefix(r.URL.Path, "/uploads/"):
		s.record(w, r, s.serveHosted)
	default:
		s.record(w, r, func(w *recorder, r *http.Request) {
			writeError(w, http.StatusNotFound, newRequestID(), "not_found", "No route for "+r.Method+" "+r.URL.Path, nil)
		})
	}
}

// Requests returns every request the gateway recorded, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// ProxyRequests returns every request the forward proxy recorded, oldest first.
func (s *Server) ProxyRequests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedRequest(nil), s.proxyRequests...)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ResetStats zeroes the counters and forgets recorded requests (stored objects stay), so a
// benchmark can measure one phase at a time.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	inFlight := s.stats.InFlightUploads
	s.stats = Stats{InFlightUploads: inFlight, MaxInFlightUploads: inFlight}
	s.requests = nil
	s.proxyRequests = nil
	s.sourceRequests = map[string]int{}
	s.sourceFetches = map[string]int{}
}

// UploadAttempts is the number of POST /api/v1/files/from-url seen.
func (s *Server) UploadAttempts() int { return s.Stats().UploadAttempts }

// StoredUploads is the number of objects actually stored.
func (s *Server) StoredUploads() int { return s.Stats().StoredUploads }

// MaxInFlightUploads is the peak number of concurrent upload requests seen.
func (s *Server) MaxInFlightUploads() int { return s.Stats().MaxInFlightUploads }

// DuplicateUploads is the number of stored uploads repeating an earlier one (see Stats).
func (s *Server) DuplicateUploads() int { return s.Stats().DuplicateUploads }

// recorder captures the status for the request log while still allowing Hijack (dropped
// connections) and Flush through http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status    int
	requestID string
	body      []byte
	// dropped is the hijacked connection of a dropped request, closed only once the request is
	// recorded, so that a client that sees the drop also finds it in Requests.
	dropped net.Conn
}

// WriteHeader remembers the first status, the one the client saw.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts an implicit 200, as net/http does.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush of the real writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// drop ends the request without an answer, as a crashed load balancer would; record closes the
// connection once the request is recorded.
func (w *recorder) drop() {
	conn, _, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2 or a test recorder): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	w.dropped = conn
}

func (s *Server) record(w http.ResponseWriter, r *http.Request, h func(*recorder, *http.Request)) {
	rec := &recorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		header := r.Header.Clone()
		header.Del("Authorization")
		status := rec.status
		if rec.dropped != nil {
			status = 0
		}
		s.mu.Lock()
		s.requests = append(s.requests, RecordedRequest{
			Method: r.Method, Path: r.URL.Path, Header: header, Time: start,
			Status: status, RequestID: rec.requestID, Body: rec.body,
		})
		s.mu.Unlock()
		if rec.dropped != nil {
			_ = rec.dropped.Close()
		}
	}()
	h(rec, r)
}
