package fakeapimall

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestUpload_IdempotencyReplay(t *testing.T) {
	s := newDemoServer(t)
	body := `{"url":"https://assets.example.com/cat.png","filename":"cat.png"}`
	resp1, raw1, env1 := upload(t, s, body, "Idempotency-Key", "k1")
	// The same request re-encoded differently is still the same request.
	resp2, raw2, _ := upload(t, s, `{ "filename": "cat.png", "url": "https://assets.example.com/cat.png" }`, "Idempotency-Key", "k1")
	if resp1.StatusCode != 200 || resp2.StatusCode != 200 {
		t.Fatalf("statuses %d %d", resp1.StatusCode, resp2.StatusCode)
	}
	if string(raw1) != string(raw2) {
		t.Errorf("replay differs:\n%s\n%s", raw1, raw2)
	}
	if resp2.Header.Get("Idempotent-Replayed") != "true" || resp2.Header.Get("X-Request-Id") != env1.RequestID {
		t.Errorf("replay headers %v", resp2.Header)
	}
	if s.StoredUploads() != 1 || len(s.Objects()) != 1 {
		t.Errorf("stored %d objects, want 1", s.StoredUploads())
	}
	st := s.Stats()
	if st.IdempotentReplays != 1 || st.DuplicateUploads != 0 || st.UploadAttempts != 2 {
		t.Errorf("stats %+v", st)
	}

	// Same key, different body: 409.
	resp3, raw3, env3 := upload(t, s, `{"url":"https://assets.example.com/clip.mp4"}`, "Idempotency-Key", "k1")
	if resp3.StatusCode != http.StatusConflict || env3.Error.Code != "idempotency_conflict" || env3.Success {
		t.Errorf("got %d %s, want 409 idempotency_conflict", resp3.StatusCode, raw3)
	}
	// Another key uploads again.
	env4 := mustUpload(t, s, body, "Idempotency-Key", "k2")
	if env4.Data.Key == env1.Data.Key || s.StoredUploads() != 2 {
		t.Errorf("a new key did not store a new object: %+v", env4.Data)
	}
}

func TestUpload_IdempotencyFailedFirstAttemptRunsAgain(t *testing.T) {
	s := newDemoServer(t)
	s.SetFixture("https://assets.example.com/late.png", Fixture{Status: 404})
	body := `{"url":"https://assets.example.com/late.png"}`
	if resp, _, _ := upload(t, s, body, "Idempotency-Key", "k"); resp.StatusCode != 400 {
		t.Fatalf("first attempt %d, want 400", resp.StatusCode)
	}
	s.SetFixture("https://assets.example.com/late.png", DemoFixtures()[DemoImageURL])
	mustUpload(t, s, body, "Idempotency-Key", "k")
	// A fault before processing leaves no record either.
	s.FailNext(1, Fault{Status: 503})
	if resp, _, _ := upload(t, s, `{"url":"https://assets.example.com/cat.png"}`, "Idempotency-Key", "k3"); resp.StatusCode != 503 {
		t.Fatalf("fault %d", resp.StatusCode)
	}
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`, "Idempotency-Key", "k3")
	if s.StoredUploads() != 2 {
		t.Errorf("stored %d, want 2", s.StoredUploads())
	}
}

func TestUpload_IdempotencyConcurrent(t *testing.T) {
	s := newDemoServer(t)
	s.SetLatency(50 * time.Millisecond)
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		wg.Go(func() {
			env := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`, "Idempotency-Key", "same")
			keys[i] = env.Data.Key
		})
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("concurrent requests with one key got different objects: %v", keys)
		}
	}
	if s.StoredUploads() != 1 {
		t.Errorf("stored %d, want 1", s.StoredUploads())
	}
}

func TestUpload_AfterStoreFaultCountsDuplicates(t *testing.T) {
	s := newDemoServer(t)
	body := `{"url":"https://assets.example.com/cat.png"}`

	// Without an Idempotency-Key, a lost answer and a retry leave two copies.
	s.FailNext(1, Fault{Status: 502, Body: []byte("<html>bad gateway</html>"), AfterStore: true})
	if resp, _, _ := upload(t, s, body); resp.StatusCode != 502 {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	mustUpload(t, s, body)
	if s.StoredUploads() != 2 || s.DuplicateUploads() != 1 {
		t.Errorf("stored %d duplicates %d, want 2 and 1", s.StoredUploads(), s.DuplicateUploads())
	}

	// With one, the retry gets the stored answer.
	s.FailNext(1, Fault{Drop: true, AfterStore: true})
	body2 := `{"url":"https://assets.example.com/clip.mp4"}`
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Do(newUploadRequest(t, s, body2, "idem")); err == nil {
		t.Fatal("dropped connection answered")
	}
	env := mustUpload(t, s, body2, "Idempotency-Key", "idem")
	if _, ok := s.Object(env.Data.Key); !ok || s.StoredUploads() != 3 || s.DuplicateUploads() != 1 {
		t.Errorf("stored %d duplicates %d, want 3 and 1", s.StoredUploads(), s.DuplicateUploads())
	}
}
