package apimall

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"
)

const (
	// apiResponseHeaderTimeout is long: API Mall answers an upload once it has fetched the
	// source, which for a large video takes minutes. The create timeout bounds it too.
	apiResponseHeaderTimeout  = 5 * time.Minute
	headResponseHeaderTimeout = 30 * time.Second
	maxRedirects              = 10
)

// newTransport clones http.DefaultTransport (keeping its pooling and HTTP/2 settings) with
// timeouts at every stage, TLS 1.2 at least, and the proxy read from the environment on each
// request: http.ProxyFromEnvironment reads it once per process, which a long-lived provider
// process (or a test that sets HTTP_PROXY) would not see change.
func newTransport(responseHeaderTimeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = func(req *http.Request) (*url.URL, error) {
		return httpproxy.FromEnvironment().ProxyFunc()(req.URL)
	}
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = responseHeaderTimeout
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	// Terraform runs up to -parallelism requests to one host at once; keep their connections.
	t.MaxIdleConnsPerHost = 64
	return t
}

// checkPublicRedirect lets HEAD requests to CDN and source hosts follow redirects, and makes
// sure no Authorization header rides along, whatever the host.
func checkPublicRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	req.Header.Del("Authorization")
	return nil
}
