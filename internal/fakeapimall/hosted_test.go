package fakeapimall

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
)

func TestHosted_GetHeadDelete(t *testing.T) {
	s := newDemoServer(t)
	env := mustUpload(t, s, `{"url":"https://assets.example.com/chime.wav"}`)
	want := DemoFixtures()[DemoAudioURL].Body
	if env.Data.URL != s.URL()+"/"+env.Data.Key {
		t.Fatalf("hosted URL %q is not URL()+/+key", env.Data.URL)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, env.Data.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("%s: %d type %q length %q", method, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"))
		}
		if method == http.MethodGet && !bytes.Equal(got, want) {
			t.Errorf("GET body differs from the source (%d bytes, want %d)", len(got), len(want))
		}
	}
	if !s.DeleteObject(env.Data.Key) || s.DeleteObject(env.Data.Key) {
		t.Error("DeleteObject should report true once, then false")
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, env.Data.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after delete: %d, want 404", method, resp.StatusCode)
		}
	}
	if _, ok := s.Object(env.Data.Key); ok || len(s.Objects()) != 0 {
		t.Error("deleted object still listed")
	}
	if s.StoredUploads() != 1 {
		t.Error("deleting changed the stored-uploads counter")
	}
}

func TestHosted_Faults(t *testing.T) {
	s := newDemoServer(t)
	env := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	s.FailHostedNext(1, Fault{Status: 503, RetryAfter: "1"})
	resp, err := http.Head(env.Data.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("hosted fault: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.FailHostedNext(1, Fault{Drop: true})
	// A fresh connection: net/http silently retries an idempotent request on a reused one.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := fresh.Head(env.Data.URL); err == nil {
		t.Error("dropped hosted request answered")
	}
	resp, err = http.Head(env.Data.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after faults: %d", resp.StatusCode)
	}
	// Hosted faults never touch uploads.
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
}

func TestHosted_MethodsAndUnknownPaths(t *testing.T) {
	s := newDemoServer(t)
	env := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	req, _ := http.NewRequest(http.MethodDelete, env.Data.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE hosted: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.URL() + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}
