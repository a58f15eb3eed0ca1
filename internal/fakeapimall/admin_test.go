package fakeapimall

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func admin(t *testing.T, s *Server, method, route, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+AdminPrefix+route, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustAdmin(t *testing.T, s *Server, method, route, body string) []byte {
	t.Helper()
	status, b := admin(t, s, method, route, body)
	if status != 200 {
		t.Fatalf("%s %s: %d %s", method, route, status, b)
	}
	return b
}

func TestAdminAPI(t *testing.T) {
	s := newDemoServer(t)
	cat := `{"url":"https://assets.example.com/cat.png"}`

	mustAdmin(t, s, "POST", "fail-next", `{"count":2,"status":502,"body":"<html>502</html>","retry_after":"3"}`)
	for range 2 {
		if resp, raw, _ := upload(t, s, cat); resp.StatusCode != 502 || resp.Header.Get("Retry-After") != "3" || string(raw) != "<html>502</html>" {
			t.Errorf("fail-next: %d %s", resp.StatusCode, raw)
		}
	}
	mustAdmin(t, s, "POST", "fail-next", `{"target":"hosted","status":500}`)
	env := mustUpload(t, s, cat)
	if resp, _ := http.Head(env.Data.URL); resp.StatusCode != 500 {
		t.Errorf("hosted fail-next: %d", resp.StatusCode)
	}
	mustAdmin(t, s, "POST", "fail-next", `{"drop":true,"stall":"10ms"}`)
	if _, err := http.DefaultClient.Do(newUploadRequest(t, s, cat, "")); err == nil {
		t.Error("drop via admin API answered")
	}

	mustAdmin(t, s, "POST", "rate-limit", `{"rps":0.01,"burst":1}`)
	mustUpload(t, s, cat)
	if resp, _, _ := upload(t, s, cat); resp.StatusCode != 429 {
		t.Errorf("rate-limit: %d", resp.StatusCode)
	}
	mustAdmin(t, s, "POST", "rate-limit", `{"rps":0}`)
	mustAdmin(t, s, "POST", "concurrency-limit", `{"limit":3}`)
	mustAdmin(t, s, "POST", "latency", `{"latency":"1ms"}`)
	mustAdmin(t, s, "POST", "fault-rate", `{"rate":1,"faults":[{"status":418}]}`)
	if resp, _, _ := upload(t, s, cat); resp.StatusCode != 418 {
		t.Errorf("fault-rate: %d", resp.StatusCode)
	}
	mustAdmin(t, s, "POST", "clear-faults", "")
	env = mustUpload(t, s, cat)

	var objs []objectInfo
	json.Unmarshal(mustAdmin(t, s, "GET", "objects", ""), &objs)
	if len(objs) != 3 || objs[2].Key != env.Data.Key || objs[2].URL != env.Data.URL {
		t.Errorf("objects %+v", objs)
	}
	mustAdmin(t, s, "DELETE", "objects/"+env.Data.Key, "")
	if resp, _ := http.Get(env.Data.URL); resp.StatusCode != 404 {
		t.Errorf("deleted via admin: %d", resp.StatusCode)
	}
	if status, _ := admin(t, s, "DELETE", "objects/"+env.Data.Key, ""); status != 404 {
		t.Errorf("second delete: %d", status)
	}

	png := DemoFixtures()[DemoImageURL].Body
	mustAdmin(t, s, "PUT", "fixtures", `{"url":"https://new.example.com/n.png","header":{"Content-Type":"image/png","ETag":"\"v2\""},"body_base64":"`+base64.StdEncoding.EncodeToString(png)+`"}`)
	if env := mustUpload(t, s, `{"url":"https://new.example.com/n.png"}`); env.Data.FileSize != int64(len(png)) {
		t.Errorf("admin fixture: %+v", env.Data)
	}
	var urls []string
	json.Unmarshal(mustAdmin(t, s, "GET", "fixtures", ""), &urls)
	if len(urls) != 5 {
		t.Errorf("fixtures %v", urls)
	}
	mustAdmin(t, s, "DELETE", "fixtures?url=https://new.example.com/n.png", "")

	var st Stats
	json.Unmarshal(mustAdmin(t, s, "GET", "stats", ""), &st)
	if st.UploadAttempts != 9 || st.StoredUploads != 4 || st.RateLimited != 1 || st.FaultsInjected != 5 {
		t.Errorf("stats %+v", st)
	}
	var reqs []requestInfo
	json.Unmarshal(mustAdmin(t, s, "GET", "requests", ""), &reqs)
	if len(reqs) == 0 || reqs[0].Header.Get("Authorization") != "" {
		t.Errorf("requests %+v", reqs)
	}
	mustAdmin(t, s, "POST", "reset-stats", "")

	for _, bad := range []struct{ method, route, body string }{
		{"POST", "latency", `{"latency":"soon"}`},
		{"POST", "fail-next", `{"status":500,"stal":"1s"}`},
		{"POST", "fail-next", `{"target":"moon"}`},
		{"PUT", "fixtures", `{"url":"relative.png"}`},
		{"PUT", "fixtures", `{"url":"https://new.example.com/n.png","head_status":42}`},
		{"PUT", "fixtures", `{"url":"https://new.example.com/n.png","status":1000}`},
		{"GET", "nope", ""},
	} {
		if status, b := admin(t, s, bad.method, bad.route, bad.body); status == 200 {
			t.Errorf("%s %s %s accepted: %s", bad.method, bad.route, bad.body, b)
		}
	}
}
