package fakeapimall

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

func proxyClient(t *testing.T, s *Server) *http.Client {
	t.Helper()
	u, err := url.Parse(s.ProxyURL())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(u)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func do(t *testing.T, c *http.Client, method, u string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestProxy_ServesFixtures(t *testing.T) {
	png := DemoFixtures()[DemoImageURL].Body
	const src = "http://assets.example.com/logo.png"
	s := NewTestServer(t, Options{Fixtures: map[string]Fixture{
		src:                                    {Header: http.Header{"Content-Type": {"image/png"}, "Last-Modified": {"Wed, 12 Mar 2026 09:30:00 GMT"}}, Body: png},
		"http://assets.example.com/own.png":    {Header: http.Header{"Etag": {`W/"v1"`}}, Body: png},
		"http://assets.example.com/bare.png":   {Body: png, NoValidators: true},
		"http://assets.example.com/broken.png": {Status: 500, Body: []byte("oops")},
	}})
	c := proxyClient(t, s)

	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp, body := do(t, c, method, src)
		if resp.StatusCode != 200 || resp.Header.Get("Etag") != ETagOf(png) ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(png)) ||
			resp.Header.Get("Last-Modified") != "Wed, 12 Mar 2026 09:30:00 GMT" || resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == http.MethodGet && !bytes.Equal(body, png) {
			t.Errorf("GET body differs")
		}
	}
	if resp, _ := do(t, c, http.MethodHead, "http://assets.example.com/own.png"); resp.Header.Get("Etag") != `W/"v1"` {
		t.Errorf("fixture ETag not kept: %q", resp.Header.Get("Etag"))
	}
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp, body := do(t, c, method, "http://assets.example.com/bare.png")
		if resp.Header.Get("Etag") != "" || resp.Header.Get("Last-Modified") != "" || resp.Header.Get("Content-Length") != "" || resp.ContentLength != -1 {
			t.Errorf("%s NoValidators fixture sent validators: %v (length %d)", method, resp.Header, resp.ContentLength)
		}
		if method == http.MethodGet && !bytes.Equal(body, png) {
			t.Error("NoValidators GET body differs")
		}
	}
	if resp, _ := do(t, c, http.MethodHead, "http://assets.example.com/broken.png"); resp.StatusCode != 500 {
		t.Errorf("broken fixture: %d", resp.StatusCode)
	}
	if resp, _ := do(t, c, http.MethodGet, "http://assets.example.com/missing.png"); resp.StatusCode != 404 {
		t.Errorf("missing path on a fixture host: %d, want 404", resp.StatusCode)
	}
	if resp, _ := do(t, c, http.MethodGet, "http://not-a-fixture.example.org/a.png"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("non-fixture host: %d, want 502", resp.StatusCode)
	}
	if n := s.SourceRequests(src); n != 2 {
		t.Errorf("SourceRequests = %d, want 2", n)
	}
	if n := s.SourceRequests("http://ASSETS.example.com:80/logo.png#x"); n != 2 {
		t.Errorf("SourceRequests with another spelling = %d, want 2", n)
	}
	if len(s.ProxyRequests()) != 8 || len(s.Requests()) != 0 {
		t.Errorf("proxy recorded %d, gateway %d", len(s.ProxyRequests()), len(s.Requests()))
	}
}

// TestProxy_FixtureChange is what detect_source_changes relies on: a test changes the body and
// validators, the proxy and the gateway both see the new version.
func TestProxy_FixtureChange(t *testing.T) {
	const src = "http://assets.example.com/logo.png"
	v1 := DemoFixtures()[DemoImageURL].Body
	s := NewTestServer(t, Options{Fixtures: map[string]Fixture{src: {Body: v1, Header: http.Header{"Content-Type": {"image/png"}}}}})
	c := proxyClient(t, s)
	resp1, _ := do(t, c, http.MethodHead, src)

	v2 := append(append([]byte(nil), v1...), 0, 0, 0, 0) // trailing bytes after IEND, still a PNG
	s.SetFixture(src, Fixture{Body: v2, Header: http.Header{"Content-Type": {"image/png"}}})
	resp2, _ := do(t, c, http.MethodHead, src)
	if resp1.Header.Get("Etag") == resp2.Header.Get("Etag") || resp2.Header.Get("Content-Length") != strconv.Itoa(len(v2)) {
		t.Errorf("validators did not change: %v -> %v", resp1.Header, resp2.Header)
	}
	env := mustUpload(t, s, `{"url":"`+src+`"}`)
	if env.Data.FileSize != int64(len(v2)) {
		t.Errorf("gateway stored %d bytes, want the new %d", env.Data.FileSize, len(v2))
	}
	if s.SourceRequests(src) != 2 || s.SourceFetches(src) != 1 {
		t.Errorf("SourceRequests %d SourceFetches %d, want 2 and 1", s.SourceRequests(src), s.SourceFetches(src))
	}

	s.SetFixture(src, Fixture{Body: v2, Delay: time.Second})
	slow := proxyClient(t, s)
	slow.Timeout = 100 * time.Millisecond
	if _, err := slow.Head(src); err == nil {
		t.Error("a delayed fixture answered before the client timeout")
	}
	if !s.DeleteFixture(src) {
		t.Fatal("DeleteFixture")
	}
	if resp, _ := do(t, c, http.MethodHead, src); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("after deleting the host's last fixture: %d, want 502", resp.StatusCode)
	}
}

func TestProxy_RefusesOtherRequests(t *testing.T) {
	s := newDemoServer(t)
	// Origin-form request straight to the proxy.
	resp, err := http.Get(s.ProxyURL() + "/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form: %d", resp.StatusCode)
	}
	// https through the proxy needs CONNECT, which it refuses.
	c := proxyClient(t, s)
	if _, err := c.Get(DemoImageURL); err == nil {
		t.Error("CONNECT tunnel was opened")
	}
	// POST to a fixture.
	req, _ := http.NewRequest(http.MethodPost, "http://assets.example.com/cat.png", nil)
	s.SetFixture("http://assets.example.com/cat.png", DemoFixtures()[DemoImageURL])
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// TestProxy_HeadStatus models an origin that refuses HEAD but serves GET, so that a client's
// source check can fail while the gateway's upload, which only GETs, still works.
func TestProxy_HeadStatus(t *testing.T) {
	png := DemoFixtures()[DemoImageURL].Body
	header := http.Header{"Content-Type": {"image/png"}}
	s := NewTestServer(t, Options{Fixtures: map[string]Fixture{
		"http://assets.example.com/no-head.png":   {Header: header, Body: png, HeadStatus: http.StatusMethodNotAllowed},
		"http://assets.example.com/head-403.png":  {Header: header, Body: png, HeadStatus: http.StatusForbidden},
		"http://assets.example.com/plain.png":     {Header: header, Body: png},
		"http://assets.example.com/gone-head.png": {Status: http.StatusGone, HeadStatus: http.StatusMethodNotAllowed},
	}})
	// A fixture put through the admin API, as the command's users would.
	mustAdmin(t, s, "PUT", "fixtures", `{"url":"http://assets.example.com/admin.png","header":{"Content-Type":"image/png"},"body":"\u0089PNG","head_status":405}`)
	c := proxyClient(t, s)
	tests := []struct {
		url                string
		wantHead, wantGet  int
		wantGetBody        []byte
		wantUploadSucceeds bool
	}{
		{"http://assets.example.com/no-head.png", 405, 200, png, true},
		{"http://assets.example.com/head-403.png", 403, 200, png, true},
		{"http://assets.example.com/plain.png", 200, 200, png, true},
		{"http://assets.example.com/gone-head.png", 405, 410, nil, false},
		{"http://assets.example.com/admin.png", 405, 200, []byte("\u0089PNG"), true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			resp, body := do(t, c, http.MethodHead, tt.url)
			if resp.StatusCode != tt.wantHead || len(body) != 0 {
				t.Errorf("HEAD: %d with %d body bytes, want %d and none", resp.StatusCode, len(body), tt.wantHead)
			}
			if tt.wantHead == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodGet {
				t.Errorf("HEAD 405 with Allow %q, want GET", resp.Header.Get("Allow"))
			}
			if tt.wantHead != http.StatusOK && resp.Header.Get("Etag") != "" {
				t.Errorf("refused HEAD sent the fixture's validators: %v", resp.Header)
			}
			resp, body = do(t, c, http.MethodGet, tt.url)
			if resp.StatusCode != tt.wantGet || (tt.wantGetBody != nil && !bytes.Equal(body, tt.wantGetBody)) {
				t.Errorf("GET: %d %q", resp.StatusCode, body)
			}
			up, raw, _ := upload(t, s, `{"url":"`+tt.url+`"}`)
			if got := up.StatusCode == http.StatusOK; got != tt.wantUploadSucceeds {
				t.Errorf("upload: %d %s", up.StatusCode, raw)
			}
			if n := s.SourceRequests(tt.url); n != 2 {
				t.Errorf("SourceRequests = %d, want 2 (HEAD and GET)", n)
			}
		})
	}
	if status, b := admin(t, s, "PUT", "fixtures", `{"url":"http://assets.example.com/x.png","head_status":"405"}`); status != http.StatusBadRequest {
		t.Errorf("head_status as a string: %d %s", status, b)
	}
}
