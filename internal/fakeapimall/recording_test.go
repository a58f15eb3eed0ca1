package fakeapimall

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRequests_RecordedWithoutAuthorization(t *testing.T) {
	s := newDemoServer(t)
	before := time.Now()
	env := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`, "User-Agent", "terraform-provider-apimall/test", "Idempotency-Key", "k")
	upload(t, s, `{"url":"https://assets.example.com/cat.png"}`, "Authorization", "Bearer wrong")
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != UploadPath || r.Status != 200 || r.RequestID != env.RequestID ||
		r.Header.Get("User-Agent") != "terraform-provider-apimall/test" || r.Header.Get("Idempotency-Key") != "k" ||
		r.Time.Before(before) || !strings.Contains(string(r.Body), "cat.png") {
		t.Errorf("recorded %+v", r)
	}
	for _, r := range reqs {
		if _, ok := r.Header["Authorization"]; ok {
			t.Errorf("Authorization recorded: %v", r.Header)
		}
	}
	if reqs[1].Status != 401 {
		t.Errorf("second status %d", reqs[1].Status)
	}
	// Admin calls are not client traffic and are not recorded.
	mustAdmin(t, s, "GET", "stats", "")
	if len(s.Requests()) != 2 {
		t.Error("an admin call was recorded")
	}
	s.ResetStats()
	if len(s.Requests()) != 0 || s.UploadAttempts() != 0 || len(s.Objects()) != 1 {
		t.Error("ResetStats did not reset counters only")
	}
}

// TestConcurrentUploads is meant for -race: many parallel uploads, every key distinct.
func TestConcurrentUploads(t *testing.T) {
	s := newDemoServer(t)
	s.SetFaultRate(0.1, []Fault{{Status: 500}, {Status: 502, AfterStore: true}})
	s.SetRateLimit(10000, 1000)
	const n = 200
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			url := []string{DemoImageURL, DemoVideoURL, DemoAudioURL}[i%3]
			idem := ""
			if i%2 == 0 {
				idem = "key-" + itoa(i)
			}
			for attempt := 0; attempt < 20; attempt++ {
				resp, _, env := upload(t, s, `{"url":"`+url+`"}`, "Idempotency-Key", idem)
				if resp.StatusCode == 200 {
					keys[i] = env.Data.Key
					return
				}
			}
			t.Errorf("upload %d never succeeded", i)
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 20 {
				_ = s.Requests()
				_ = s.Objects()
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("key %q given twice", k)
		}
		seen[k] = true
		if _, ok := s.Object(k); !ok {
			t.Errorf("key %q not stored", k)
		}
	}
	st := s.Stats()
	if st.StoredUploads != len(s.Objects()) || st.InFlightUploads != 0 || st.UploadAttempts < n {
		t.Errorf("stats %+v, objects %d", st, len(s.Objects()))
	}
}

// TestResetStats_ConcurrentWithTraffic is meant for -race: the admin API resets the counters at
// any moment, while uploads and proxied requests are counting their sources.
func TestResetStats_ConcurrentWithTraffic(t *testing.T) {
	const src = "http://assets.example.com/logo.png"
	s := NewTestServer(t, Options{Fixtures: map[string]Fixture{src: DemoFixtures()[DemoImageURL]}})
	c := proxyClient(t, s)
	body := `{"url":"` + src + `"}`
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				resp, err := noRedirects.Do(newUploadRequest(t, s, body, ""))
				if err != nil {
					t.Errorf("upload: %v", err)
					return
				}
				resp.Body.Close()
			}
		})
		wg.Go(func() {
			for range 25 {
				resp, err := c.Head(src)
				if err != nil {
					t.Errorf("HEAD through the proxy: %v", err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			s.ResetStats()
			_ = s.SourceFetches(src)
			_ = s.SourceRequests(src)
		}
	})
	wg.Wait()

	// Once the resets stop, every count lands in the maps the accessors read.
	s.ResetStats()
	mustUpload(t, s, body)
	if resp, _ := do(t, c, http.MethodHead, src); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD through the proxy: %d", resp.StatusCode)
	}
	if f, r := s.SourceFetches(src), s.SourceRequests(src); f != 1 || r != 1 {
		t.Errorf("after a reset: SourceFetches %d SourceRequests %d, want 1 and 1", f, r)
	}
}
