package fakeapimall

import (
	"net/http"
	"strconv"
	"time"
)

// serveProxy is an HTTP forward proxy that answers absolute-form requests for fixture hosts from
// the table, so a provider under test (with HTTP_PROXY set to ProxyURL) can HEAD and GET
// http:// fixture URLs. It never reaches the network: other hosts get 502.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		header := r.Header.Clone()
		header.Del("Authorization")
		header.Del("Proxy-Authorization")
		s.mu.Lock()
		s.proxyRequests = append(s.proxyRequests, RecordedRequest{
			Method: r.Method, Path: r.URL.String(), Header: header, Time: start, Status: rec.status,
		})
		s.mu.Unlock()
	}()
	if r.Method == http.MethodConnect {
		http.Error(rec, "the fake proxy does not tunnel (CONNECT); use http:// fixture URLs", http.StatusBadGateway)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(rec, "this is a forward proxy: send an absolute-form request URI (http://host/path)", http.StatusBadRequest)
		return
	}
	norm, host, err := normalizeURL(r.URL.String())
	if err != nil {
		http.Error(rec, err.Error(), http.StatusBadRequest)
		return
	}
	f, found, fixtureHost := s.lookupFixture(norm, host, &s.sourceRequests)
	if !fixtureHost {
		http.Error(rec, "host "+host+" is not in the fixture table; the fake proxy never reaches the network", http.StatusBadGateway)
		return
	}
	if !found {
		http.Error(rec, "404 page not found", http.StatusNotFound)
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rec.Header().Set("Allow", "GET, HEAD")
		http.Error(rec, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodHead && f.HeadStatus != 0 {
		if f.HeadStatus == http.StatusMethodNotAllowed {
			rec.Header().Set("Allow", http.MethodGet) // a 405 must say what is allowed (RFC 9110)
		}
		rec.WriteHeader(f.HeadStatus)
		return
	}
	writeFixture(rec, r, f)
}

// writeFixture sends exactly the fixture's headers, plus a computed Content-Length and strong
// ETag unless the fixture has its own or asks for none.
func writeFixture(w http.ResponseWriter, r *http.Request, f Fixture) {
	h := w.Header()
	for k, v := range f.Header {
		h[k] = append([]string(nil), v...)
	}
	if !f.NoValidators {
		if h.Get("Etag") == "" {
			h.Set("Etag", ETagOf(f.Body))
		}
		if h.Get("Content-Length") == "" {
			h.Set("Content-Length", strconv.Itoa(len(f.Body)))
		}
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // stops net/http from sniffing one the fixture does not declare
	}
	w.WriteHeader(cmp0(f.Status, http.StatusOK))
	if r.Method == http.MethodHead {
		return
	}
	if f.NoValidators {
		// Flushing before the body makes net/http send it chunked, with no Content-Length.
		_ = http.NewResponseController(w).Flush()
	}
	_, _ = w.Write(f.Body)
}
