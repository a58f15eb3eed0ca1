package fakeapimall

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFailNext(t *testing.T) {
	s := newDemoServer(t)
	body := `{"url":"https://assets.example.com/cat.png"}`
	tests := []struct {
		name            string
		fault           Fault
		wantStatus      int
		wantRetryAfter  string
		wantContentType string
		wantBody        string
	}{
		{"429 with Retry-After", Fault{Status: 429, RetryAfter: "2"}, 429, "2", "application/json", `"code": "rate_limited"`},
		{"500 envelope", Fault{Status: 500}, 500, "", "application/json", `"code": "internal_error"`},
		{"502 HTML", Fault{Status: 502, Body: []byte("<html><body>502 Bad Gateway</body></html>")}, 502, "", "text/html; charset=utf-8", "502 Bad Gateway"},
		{"503 malformed JSON", Fault{Status: 503, Body: []byte(`{"success": fal`), ContentType: "application/json"}, 503, "", "application/json", `{"success": fal`},
		{"307 with Location", Fault{Status: 307, Header: http.Header{"Location": {"https://elsewhere.example.com/"}}}, 307, "", "application/json", `"code": "error"`},
		{"403 forbidden", Fault{Status: 403}, 403, "", "application/json", `"code": "forbidden"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.FailNext(1, tt.fault)
			resp, raw, _ := upload(t, s, body)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.wantRetryAfter ||
				resp.Header.Get("Content-Type") != tt.wantContentType || !strings.Contains(string(raw), tt.wantBody) {
				t.Errorf("got %d Retry-After=%q Content-Type=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), raw)
			}
			if !requestIDPattern.MatchString(resp.Header.Get("X-Request-Id")) {
				t.Errorf("no request id on a fault answer")
			}
			if tt.fault.Header != nil && resp.Header.Get("Location") != "https://elsewhere.example.com/" {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
			mustUpload(t, s, body) // only the next one fails
		})
	}
	s.FailNext(3, Fault{Status: 500})
	for i := range 3 {
		if resp, _, _ := upload(t, s, body); resp.StatusCode != 500 {
			t.Errorf("fault %d: status %d", i, resp.StatusCode)
		}
	}
	mustUpload(t, s, body)
	if got := s.Stats().FaultsInjected; got != 9 {
		t.Errorf("FaultsInjected = %d, want 9", got)
	}
}

func TestFailNext_Drop(t *testing.T) {
	s := newDemoServer(t)
	s.FailNext(1, Fault{Drop: true})
	_, err := http.DefaultClient.Do(newUploadRequest(t, s, `{"url":"https://assets.example.com/cat.png"}`, ""))
	if err == nil {
		t.Fatal("a dropped connection gave an answer")
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Status != 0 {
		t.Errorf("recorded %+v, want one request with status 0", reqs)
	}
	if s.StoredUploads() != 0 {
		t.Error("a dropped request stored an object")
	}
}

func TestFailNext_Stall(t *testing.T) {
	s := newDemoServer(t)
	// A stall alone delays a normal answer.
	s.FailNext(1, Fault{Stall: 150 * time.Millisecond})
	start := time.Now()
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, want a 150ms stall", d)
	}
	// A client that gives up during a stall gets nothing and nothing is stored.
	s.FailNext(1, Fault{Stall: 5 * time.Second, Status: 500})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := client.Do(newUploadRequest(t, s, `{"url":"https://assets.example.com/cat.png"}`, "")); err == nil {
		t.Fatal("stalled request answered before the client timeout")
	}
	if s.StoredUploads() != 1 {
		t.Errorf("stored %d, want 1", s.StoredUploads())
	}
}

func TestSetLatency(t *testing.T) {
	s := newDemoServer(t)
	s.SetLatency(100 * time.Millisecond)
	start := time.Now()
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("answered after %v, want at least 100ms", d)
	}
	s.SetLatency(time.Minute)
	s.SetLatency(0)
	start = time.Now()
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("latency not turned off: %v", d)
	}
}

func TestSetFaultRate(t *testing.T) {
	s := newDemoServer(t)
	s.SetFaultRate(1, []Fault{{Status: 500}, {Status: 429, RetryAfter: "1"}})
	for range 10 {
		resp, _, _ := upload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
		if resp.StatusCode != 500 && resp.StatusCode != 429 {
			t.Fatalf("status %d at fault rate 1", resp.StatusCode)
		}
	}
	s.SetFaultRate(0.3, []Fault{{Status: 500}})
	failed := 0
	for range 200 {
		if resp, _, _ := upload(t, s, `{"url":"https://assets.example.com/cat.png"}`); resp.StatusCode == 500 {
			failed++
		}
	}
	if failed < 30 || failed > 100 {
		t.Errorf("%d of 200 failed at rate 0.3", failed)
	}
	s.SetFaultRate(0, nil)
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
}

func TestSetRateLimit(t *testing.T) {
	s := newDemoServer(t)
	// One token per 10 s: slow enough that no refill happens during the test, however loaded
	// the machine; refilling is covered by TestTokenBucketRetryAfter with an explicit clock.
	s.SetRateLimit(0.1, 3)
	body := `{"url":"https://assets.example.com/cat.png"}`
	for range 3 {
		mustUpload(t, s, body) // the burst
	}
	resp, raw, env := upload(t, s, body)
	if resp.StatusCode != 429 || env.Error.Code != "rate_limited" {
		t.Fatalf("got %d %s, want 429 rate_limited", resp.StatusCode, raw)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 9 || ra > 10 {
		t.Errorf("Retry-After %q, want about 10 seconds", resp.Header.Get("Retry-After"))
	}
	if st := s.Stats(); st.RateLimited != 1 || st.StoredUploads != 3 {
		t.Errorf("stats %+v", st)
	}
	s.SetRateLimit(0, 0)
	for range 5 {
		mustUpload(t, s, body)
	}
}

func TestTokenBucketRetryAfter(t *testing.T) {
	now := time.Now()
	b := &tokenBucket{rate: 0.25, burst: 1, tokens: 1, last: now}
	if ok, _ := b.take(now); !ok {
		t.Fatal("first token refused")
	}
	ok, wait := b.take(now.Add(time.Second))
	if ok || retryAfterSeconds(wait) != "3" {
		t.Errorf("ok=%v wait=%v (Retry-After %s), want refused with Retry-After 3", ok, wait, retryAfterSeconds(wait))
	}
	if ok, _ := b.take(now.Add(4 * time.Second)); !ok {
		t.Error("no token after the refill time")
	}
	if ok, wait := b.take(now.Add(4*time.Second + 100*time.Millisecond)); ok || retryAfterSeconds(wait) != "4" {
		t.Errorf("ok=%v wait=%v, want refused with Retry-After 4", ok, wait)
	}
}

func TestSetConcurrencyLimit(t *testing.T) {
	s := newDemoServer(t)
	s.SetConcurrencyLimit(2)
	s.SetLatency(time.Second) // long enough for all six to arrive while two are held
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Go(func() {
			resp, _, env := upload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
			statuses[i] = resp.StatusCode
			if resp.StatusCode == 429 && (env.Error.Code != "too_many_concurrent_jobs" || resp.Header.Get("Retry-After") != "1") {
				t.Errorf("429 %+v Retry-After=%q", env.Error, resp.Header.Get("Retry-After"))
			}
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, st := range statuses {
		switch st {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	if ok != 2 || limited != 4 {
		t.Errorf("statuses %v, want 2 OK and 4 429", statuses)
	}
	if st := s.Stats(); st.ConcurrencyLimited != 4 || st.MaxInFlightUploads < 2 {
		t.Errorf("stats %+v", st)
	}
	s.SetConcurrencyLimit(0)
	s.SetLatency(0)
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
}

func TestClearFaults(t *testing.T) {
	s := newDemoServer(t)
	s.FailNext(5, Fault{Status: 500})
	s.FailHostedNext(5, Fault{Status: 500})
	s.SetFaultRate(1, []Fault{{Status: 500}})
	s.SetRateLimit(0.001, 1)
	s.SetConcurrencyLimit(1)
	s.SetLatency(time.Hour)
	s.ClearFaults()
	mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	env := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	resp, err := http.Get(env.Data.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("hosted status %d after ClearFaults", resp.StatusCode)
	}
}
