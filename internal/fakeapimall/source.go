package fakeapimall

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/publicip"
)

const maxRedirects = 10

// fetchedSource is what a source answered once redirects were followed.
type fetchedSource struct {
	header http.Header
	body   []byte
}

// privateTargetError is returned from the dialer's Control hook, so the address judged is the
// one actually connected to: DNS answers (and DNS rebinding) cannot slip past a check made earlier.
type privateTargetError struct {
	addr   netip.Addr
	reason string
}

func (e *privateTargetError) Error() string {
	return fmt.Sprintf("address %s is not public (%s)", e.addr, e.reason)
}

// normalizeURL makes fixture lookups insensitive to scheme and host case, default ports and
// fragments. hostKey is the host as fixtures group it (lower case, port kept if not default).
func normalizeURL(raw string) (norm, hostKey string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if !u.IsAbs() || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an absolute URL with a host", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	hostKey = host
	if strings.Contains(host, ":") {
		hostKey = "[" + host + "]"
	}
	if port != "" {
		hostKey += ":" + port
	}
	u.Host = hostKey
	u.Fragment, u.RawFragment = "", ""
	u.User = nil
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), hostKey, nil
}

// SetFixture adds or replaces the fixture of a source URL; tests use it to change a source's
// body and validators between steps. It panics on a URL that is not absolute, a test bug.
func (s *Server) SetFixture(sourceURL string, f Fixture) {
	if err := s.setFixture(sourceURL, f); err != nil {
		panic("fakeapimall.SetFixture: " + err.Error())
	}
}

func (s *Server) setFixture(sourceURL string, f Fixture) error {
	norm, host, err := normalizeURL(sourceURL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	// Checked here, not when answering: net/http panics on a status outside 100-999, which would
	// show up as a dropped connection far from the fixture that caused it.
	for _, c := range []struct {
		name string
		code int
	}{{"status", f.Status}, {"head_status", f.HeadStatus}} {
		if c.code != 0 && (c.code < 100 || c.code > 599) {
			return fmt.Errorf("%s %d is not an HTTP status (100-599, or 0 for the default)", c.name, c.code)
		}
	}
	f.Header = f.Header.Clone()
	f.Body = append([]byte(nil), f.Body...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fixtures[norm]; !ok {
		s.fixtureHosts[host]++
	}
	s.fixtures[norm] = f
	return nil
}

// DeleteFixture removes a source URL's fixture; its host stays a fixture host while other
// fixtures remain on it, and then answers 404 for this URL.
func (s *Server) DeleteFixture(sourceURL string) bool {
	norm, host, err := normalizeURL(sourceURL)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fixtures[norm]; !ok {
		return false
	}
	delete(s.fixtures, norm)
	if s.fixtureHosts[host]--; s.fixtureHosts[host] <= 0 {
		delete(s.fixtureHosts, host)
	}
	return true
}

// FixtureURLs lists the normalized URLs of all fixtures.
func (s *Server) FixtureURLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.fixtures))
	for u := range s.fixtures {
		out = append(out, u)
	}
	return out
}

// SourceRequests counts requests for sourceURL that reached the forward proxy (HEAD or GET), so
// a test can prove that no request went to the source.
func (s *Server) SourceRequests(sourceURL string) int {
	return s.countFor(&s.sourceRequests, sourceURL)
}

// SourceFetches counts fetches of sourceURL the gateway itself served from the fixture table
// while uploading (redirect hops included).
func (s *Server) SourceFetches(sourceURL string) int {
	return s.countFor(&s.sourceFetches, sourceURL)
}

// countFor reads sourceURL's entry in one of the per-source counters. It takes the field's
// address because ResetStats replaces the maps: the field itself is read under the lock.
func (s *Server) countFor(counts *map[string]int, sourceURL string) int {
	norm, _, err := normalizeURL(sourceURL)
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return (*counts)[norm]
}

// ETagOf is the strong ETag the fake computes for a fixture body without one.
func ETagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// lookupFixture reports the fixture of a normalized URL and whether its host is served from the
// table (then a missing fixture is a 404, as from a real origin), and counts the request in
// countAs. Like countFor it takes the counter field's address, not the map: ResetStats replaces
// the maps, so reading the field outside the lock races with it and can count into a discarded map.
func (s *Server) lookupFixture(norm, host string, countAs *map[string]int) (f Fixture, found, fixtureHost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, found = s.fixtures[norm]
	fixtureHost = s.fixtureHosts[host] > 0
	if fixtureHost {
		(*countAs)[norm]++
	}
	return f, found, fixtureHost
}

func (s *Server) newSourceClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: s.dialControl}
	return &http.Client{
		Transport: &http.Transport{
			// Never a proxy: the address check must apply to the real destination.
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		// Redirects are followed by fetchSource, hop by hop, so every hop passes the same checks
		// and may lead into the fixture table.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *Server) dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	return s.checkAddr(ap)
}

func (s *Server) checkAddr(ap netip.AddrPort) error {
	if publicip.IsPublic(ap.Addr()) || (s.opts.allowDial != nil && s.opts.allowDial(ap)) {
		return nil
	}
	return &privateTargetError{addr: ap.Addr().Unmap(), reason: publicip.Reason(ap.Addr())}
}

// checkLiteralHost refuses a host written as a non-public address before any connection, in
// every spelling a resolver accepts ("2130706433", "0x7f.1", "[::ffff:127.0.0.1]").
func (s *Server) checkLiteralHost(u *url.URL) *apiError {
	addr, ok := publicip.ParseHostLiteral(u.Hostname())
	if !ok {
		return nil // a name: judged at dial time on the addresses DNS returned
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[strings.ToLower(u.Scheme)]
	}
	var private *privateTargetError
	if err := s.checkAddr(netip.AddrPortFrom(addr, uint16(port))); errors.As(err, &private) {
		return privateTargetAPIError(u.Hostname(), private)
	}
	return nil
}

func privateTargetAPIError(host string, e *privateTargetError) *apiError {
	return badRequest(
		fmt.Sprintf("Source url points to a non-public address: %s is %s, and private network targets are rejected", e.addr, e.reason),
		map[string]any{"host": host, "address": e.addr.String(), "reason": e.reason})
}

func fetchFailed(details map[string]any) *apiError {
	return badRequest("Failed to fetch source url", details)
}

// fetchSource fetches a source, following up to maxRedirects redirects, within SourceTimeout
// and MaxSourceBytes. Hosts in the fixture table are answered from it and never dialled.
func (s *Server) fetchSource(ctx context.Context, raw string) (*fetchedSource, *apiError) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.SourceTimeout)
	defer cancel()
	cur, err := url.Parse(raw)
	if err != nil {
		return nil, badRequest("url is not a valid URL: "+err.Error(), nil)
	}
	limit := s.opts.MaxSourceBytes
	for hop := 0; ; hop++ {
		if hop > maxRedirects {
			return nil, fetchFailed(map[string]any{"error": fmt.Sprintf("more than %d redirects", maxRedirects)})
		}
		if hop > 0 {
			if e := checkScheme(cur); e != nil {
				return nil, badRequest(fmt.Sprintf("Source redirected to %q: only http and https URLs are allowed", cur.Redacted()), map[string]any{"location": cur.Redacted()})
			}
		}
		norm, host, err := normalizeURL(cur.String())
		if err != nil {
			return nil, fetchFailed(map[string]any{"error": err.Error()})
		}
		var (
			status int
			header http.Header
			body   []byte
		)
		f, found, fixtureHost := s.lookupFixture(norm, host, &s.sourceFetches)
		if fixtureHost {
			if f.Delay > 0 {
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil, fetchFailed(map[string]any{"error": "timeout"})
				}
			}
			status, header = http.StatusNotFound, http.Header{}
			if found {
				status, header, body = cmp0(f.Status, http.StatusOK), f.Header.Clone(), f.Body
				if header == nil {
					header = http.Header{}
				}
			}
			if int64(len(body)) > limit {
				return nil, tooLarge(limit)
			}
		} else {
			if e := s.checkLiteralHost(cur); e != nil {
				return nil, e
			}
			var e *apiError
			status, header, body, e = s.fetchReal(ctx, cur, limit)
			if e != nil {
				return nil, e
			}
		}
		if loc := header.Get("Location"); loc != "" && isRedirect(status) {
			next, err := cur.Parse(loc)
			if err != nil {
				return nil, fetchFailed(map[string]any{"error": "bad redirect location: " + err.Error()})
			}
			cur = next
			continue
		}
		if status < 200 || status > 299 {
			return nil, fetchFailed(map[string]any{"status": status})
		}
		return &fetchedSource{header: header, body: body}, nil
	}
}

func (s *Server) fetchReal(ctx context.Context, u *url.URL, limit int64) (int, http.Header, []byte, *apiError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, nil, fetchFailed(map[string]any{"error": err.Error()})
	}
	req.Header.Set("User-Agent", "apimall-fake/1 (source fetch)")
	resp, err := s.client.Do(req)
	if err != nil {
		var pe *privateTargetError
		switch {
		case errors.As(err, &pe):
			return 0, nil, nil, privateTargetAPIError(u.Hostname(), pe)
		case ctx.Err() != nil || isTimeout(err):
			return 0, nil, nil, fetchFailed(map[string]any{"error": "timeout"})
		}
		return 0, nil, nil, fetchFailed(map[string]any{"error": err.Error()})
	}
	defer resp.Body.Close()
	if isRedirect(resp.StatusCode) || resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return resp.StatusCode, resp.Header, nil, nil
	}
	if resp.ContentLength > limit {
		return 0, nil, nil, tooLarge(limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return 0, nil, nil, fetchFailed(map[string]any{"error": "timeout"})
		}
		return 0, nil, nil, fetchFailed(map[string]any{"error": err.Error()})
	}
	if int64(len(body)) > limit {
		return 0, nil, nil, tooLarge(limit)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func tooLarge(limit int64) *apiError {
	return badRequest(fmt.Sprintf("Source file is larger than the %d byte limit", limit), map[string]any{"limit": limit})
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout())
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
