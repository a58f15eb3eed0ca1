package fakeapimall

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// envelope is a decoded answer, success or error.
type envelope struct {
	Success bool `json:"success"`
	Data    struct {
		URL         string `json:"url"`
		Key         string `json:"key"`
		ContentType string `json:"content_type"`
		FileSize    int64  `json:"file_size"`
	} `json:"data"`
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// noRedirects shows a test the gateway's own answer, and never follows a Location off loopback.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newDemoServer(t *testing.T) *Server {
	t.Helper()
	return NewTestServer(t, Options{APIKey: "test-key", Fixtures: DemoFixtures()})
}

// upload posts body with the server's key and the JSON content type; extra headers override.
func upload(t *testing.T, s *Server, body string, extra ...string) (*http.Response, []byte, envelope) {
	t.Helper()
	req := newUploadRequest(t, s, body, "")
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			req.Header.Del(extra[i])
		} else {
			req.Header.Set(extra[i], extra[i+1])
		}
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", UploadPath, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &env) // fault tests send malformed JSON on purpose
	}
	return resp, raw, env
}

func mustUpload(t *testing.T, s *Server, body string, extra ...string) envelope {
	t.Helper()
	resp, raw, env := upload(t, s, body, extra...)
	if resp.StatusCode != http.StatusOK || !env.Success {
		t.Fatalf("upload %s: %d %s", body, resp.StatusCode, raw)
	}
	return env
}

func newUploadRequest(t *testing.T, s *Server, body, idempotencyKey string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+UploadPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return req
}
