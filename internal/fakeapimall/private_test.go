package fakeapimall

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUpload_PrivateTargetsRefused(t *testing.T) {
	s := newDemoServer(t)
	hosts := []string{
		// One address in every IPv4 block of the IANA special-purpose table.
		"0.0.0.1", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1",
		"172.31.255.254", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1",
		"198.19.255.1", "198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255",
		// IPv6: outside 2000::/3, and the special blocks inside it.
		"[::]", "[::1]", "[fc00::1]", "[fd00::1]", "[fe80::1]", "[ff02::1]", "[64:ff9b::a00:1]",
		"[100::1]", "[2001::1]", "[2001:db8::1]", "[2002:a00:1::1]",
		// IPv4-mapped IPv6, and the spellings a resolver accepts.
		"[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:a9fe:a9fe]", "2130706433", "0x7f000001",
		"0x7f.1", "0177.0.0.1", "127.1", "10.1", "3232235777", "0xa9.0xfe.0xa9.0xfe",
		// A name: refused when dialling the address it resolves to.
		"localhost",
	}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			resp, raw, env := upload(t, s, `{"url":"http://`+host+`:8080/a.png"}`)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(env.Error.Message, "non-public address") {
				t.Fatalf("got %d %s, want 400 non-public address", resp.StatusCode, raw)
			}
			if env.Error.Details["reason"] == "" || env.Error.Details["address"] == "" {
				t.Errorf("details %v lack reason and address", env.Error.Details)
			}
		})
	}
	if s.StoredUploads() != 0 {
		t.Errorf("stored %d objects from private targets", s.StoredUploads())
	}
}

// startOrigin starts a loopback origin that counts its requests.
func startOrigin(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func addrPortOf(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestUpload_RedirectToPrivateRefused fetches for real from a loopback origin the test allows
// (the only exception to the public-address rule, through the unexported allowDial hook) and
// proves that each redirect hop out of it is judged again: on the literal, and at dial time on
// the address a name resolved to.
func TestUpload_RedirectToPrivateRefused(t *testing.T) {
	png := DemoFixtures()[DemoImageURL].Body
	other, otherHits := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write(png) })
	otherPort := addrPortOf(t, other).Port()
	origin, _ := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "/to-literal":
			http.Redirect(w, r, "http://127.0.0.2:"+itoa(int(otherPort))+"/ok.png", http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, "http://localhost:"+itoa(int(otherPort))+"/ok.png", http.StatusMovedPermanently)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://example.com/a.png", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/ok.png", http.StatusSeeOther)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		}
	})
	allowed := addrPortOf(t, origin)
	s := NewTestServer(t, Options{allowDial: func(ap netip.AddrPort) bool { return ap == allowed }})

	tests := []struct {
		path, wantError string
		wantStatus      int
	}{
		{"/ok.png", "", 200},
		{"/to-self", "", 200},
		{"/to-literal", "127.0.0.2 is loopback", 400},
		{"/to-name", "is loopback", 400}, // 127.0.0.1 or ::1, whichever localhost gave first
		{"/to-metadata", "169.254.169.254 is link-local", 400},
		{"/to-ftp", "only http and https", 400},
		{"/loop", "Failed to fetch source url", 400},
		{"/gone", "Failed to fetch source url", 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, raw, env := upload(t, s, `{"url":"`+origin.URL+tt.path+`"}`)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, raw, tt.wantStatus)
			}
			if tt.wantError != "" && !strings.Contains(env.Error.Message, tt.wantError) {
				t.Errorf("message %q does not say %q", env.Error.Message, tt.wantError)
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the private origin was reached %d times", n)
	}
	if _, _, env := upload(t, s, `{"url":"`+origin.URL+`/gone"}`); env.Error.Details["status"] != float64(410) {
		t.Errorf("details %v, want status 410", env.Error.Details)
	}
}

func TestUpload_FixtureRedirects(t *testing.T) {
	png := DemoFixtures()[DemoImageURL].Body
	redirect := func(to string) Fixture {
		return Fixture{Status: http.StatusFound, Header: http.Header{"Location": {to}}}
	}
	s := NewTestServer(t, Options{Fixtures: map[string]Fixture{
		"https://cdn.example.com/a.png":       {Body: png},
		"https://assets.example.com/hop.png":  redirect("https://cdn.example.com/a.png"),
		"https://assets.example.com/rel.png":  redirect("/hop.png"),
		"https://assets.example.com/evil.png": redirect("http://10.0.0.1/a.png"),
		"https://assets.example.com/v6.png":   redirect("http://[::ffff:192.168.0.1]/a.png"),
		"https://assets.example.com/js.png":   redirect("javascript:alert(1)"),
		"https://assets.example.com/loop.png": redirect("https://assets.example.com/loop.png"),
		"https://assets.example.com/500.png":  {Status: 500, Body: []byte("oops")},
		"https://assets.example.com/slow.png": {Body: png, Delay: time.Second},
	}, SourceTimeout: 100 * time.Millisecond})
	tests := []struct {
		url, wantError string
		wantDetails    map[string]any
	}{
		{"https://assets.example.com/hop.png", "", nil},
		{"https://assets.example.com/rel.png", "", nil},
		{"https://assets.example.com/evil.png", "10.0.0.1 is private (RFC 1918)", map[string]any{"address": "10.0.0.1"}},
		{"https://assets.example.com/v6.png", "192.168.0.1 is private", map[string]any{"address": "192.168.0.1"}},
		{"https://assets.example.com/js.png", "only http and https", nil},
		{"https://assets.example.com/loop.png", "Failed to fetch source url", map[string]any{"error": "more than 10 redirects"}},
		{"https://assets.example.com/500.png", "Failed to fetch source url", map[string]any{"status": float64(500)}},
		{"https://assets.example.com/missing.png", "Failed to fetch source url", map[string]any{"status": float64(404)}},
		{"https://assets.example.com/slow.png", "Failed to fetch source url", map[string]any{"error": "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			resp, raw, env := upload(t, s, `{"url":"`+tt.url+`"}`)
			if tt.wantError == "" {
				if resp.StatusCode != 200 || env.Data.FileSize != int64(len(png)) {
					t.Fatalf("got %d %s", resp.StatusCode, raw)
				}
				return
			}
			if resp.StatusCode != 400 || !strings.Contains(env.Error.Message, tt.wantError) {
				t.Fatalf("got %d %s, want 400 %q", resp.StatusCode, raw, tt.wantError)
			}
			for k, v := range tt.wantDetails {
				if env.Error.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v", k, env.Error.Details[k], v)
				}
			}
		})
	}
	if n := s.SourceFetches("https://cdn.example.com/a.png"); n != 2 {
		t.Errorf("SourceFetches(cdn) = %d, want 2", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
