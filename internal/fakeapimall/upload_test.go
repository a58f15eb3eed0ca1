package fakeapimall

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var requestIDPattern = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)

func TestUpload_ReferenceShape(t *testing.T) {
	s := newDemoServer(t)
	resp, raw, env := upload(t, s, `{"url":"https://assets.example.com/cat.png","filename":"reference-image.png"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	if want := "uploads/" + time.Now().UTC().Format("2006/01/02") + "/reference-image.png"; env.Data.Key != want {
		t.Errorf("key %q, want %q", env.Data.Key, want)
	}
	size := len(DemoFixtures()[DemoImageURL].Body)
	// Byte for byte the layout of the reference example: field order, two-space indent.
	want := fmt.Sprintf("{\n  \"success\": true,\n  \"data\": {\n    \"url\": \"%s/%s\",\n    \"key\": \"%s\",\n    \"content_type\": \"image/png\",\n    \"file_size\": %d\n  },\n  \"request_id\": \"%s\"\n}\n",
		s.URL(), env.Data.Key, env.Data.Key, size, env.RequestID)
	if string(raw) != want {
		t.Errorf("body:\n%s\nwant:\n%s", raw, want)
	}
	if !requestIDPattern.MatchString(env.RequestID) {
		t.Errorf("request id %q is not req_ + 26 ULID characters", env.RequestID)
	}
	if got := resp.Header.Get("X-Request-Id"); got != env.RequestID {
		t.Errorf("X-Request-Id %q, body request_id %q", got, env.RequestID)
	}
	obj, ok := s.Object(env.Data.Key)
	if !ok || obj.Size != int64(size) || obj.ContentType != "image/png" || obj.SourceURL != DemoImageURL {
		t.Errorf("stored object %+v, ok %v", obj, ok)
	}
}

func TestUpload_ErrorShape(t *testing.T) {
	s := newDemoServer(t)
	resp, raw, env := upload(t, s, `{"url":"https://assets.example.com/nope.png"}`)
	want := fmt.Sprintf("{\n  \"success\": false,\n  \"error\": {\n    \"code\": \"invalid_request\",\n    \"message\": \"Failed to fetch source url\",\n    \"details\": {\n      \"status\": 404\n    }\n  },\n  \"request_id\": \"%s\"\n}\n", env.RequestID)
	if resp.StatusCode != http.StatusBadRequest || string(raw) != want {
		t.Errorf("got %d:\n%s\nwant 400:\n%s", resp.StatusCode, raw, want)
	}
	if resp.Header.Get("X-Request-Id") != env.RequestID || !requestIDPattern.MatchString(env.RequestID) {
		t.Errorf("request id header %q body %q", resp.Header.Get("X-Request-Id"), env.RequestID)
	}
}

func TestUpload_Auth(t *testing.T) {
	s := newDemoServer(t)
	body := `{"url":"https://assets.example.com/cat.png"}`
	tests := []struct {
		name, header, wantMessage string
		wantStatus                int
	}{
		{"missing", "", "API key required", 401},
		{"wrong key", "Bearer nope", "Invalid API key", 401},
		{"wrong scheme", "Basic test-key", "Invalid API key", 401},
		{"bare key", "test-key", "Invalid API key", 401},
		{"lower-case bearer", "bearer test-key", "", 200},
		{"right", "Bearer test-key", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw, env := upload(t, s, body, "Authorization", tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, raw)
			}
			if tt.wantStatus == 401 && (env.Error.Code != "unauthorized" || !strings.Contains(env.Error.Message, tt.wantMessage) || env.Success) {
				t.Errorf("error %+v, want unauthorized %q", env.Error, tt.wantMessage)
			}
		})
	}
}

func TestUpload_Validation(t *testing.T) {
	s := newDemoServer(t)
	tests := []struct {
		name, body, contentType, wantMessage string
	}{
		{"empty body", ``, "application/json", "Request body is empty"},
		{"not JSON", `{"url":`, "application/json", "not valid JSON"},
		{"array", `["https://assets.example.com/cat.png"]`, "application/json", "must be a JSON object"},
		{"trailing data", `{"url":"https://assets.example.com/cat.png"} {}`, "application/json", "data after the JSON object"},
		{"form content type", `{"url":"https://assets.example.com/cat.png"}`, "application/x-www-form-urlencoded", "Content-Type must be application/json"},
		{"unknown field", `{"url":"https://assets.example.com/cat.png","fileName":"a.png"}`, "application/json", `Unknown field "fileName"`},
		{"url missing", `{"filename":"a.png"}`, "application/json", "url is required"},
		{"url null", `{"url":null}`, "application/json", "url is required"},
		{"url empty", `{"url":"  "}`, "application/json", "url is required"},
		{"url number", `{"url":42}`, "application/json", "url must be a string"},
		{"url relative", `{"url":"/cat.png"}`, "application/json", "absolute http:// or https:// URL"},
		{"url no host", `{"url":"https:///cat.png"}`, "application/json", "url must include a host"},
		{"url credentials", `{"url":"https://u:p@assets.example.com/cat.png"}`, "application/json", "must not contain credentials"},
		{"url too long", `{"url":"https://assets.example.com/` + strings.Repeat("a", 2100) + `"}`, "application/json", "longer than 2048"},
		{"url invalid", `{"url":"https://assets.example.com/%zz"}`, "application/json", "not a valid URL"},
		{"scheme ftp", `{"url":"ftp://assets.example.com/cat.png"}`, "application/json", `scheme "ftp" is not allowed`},
		{"scheme file", `{"url":"file:///etc/passwd"}`, "application/json", `scheme "file" is not allowed`},
		{"scheme data", `{"url":"data:image/png;base64,AAAA"}`, "application/json", `scheme "data" is not allowed`},
		{"filename empty", `{"url":"https://assets.example.com/cat.png","filename":""}`, "application/json", "filename must not be empty"},
		{"filename path", `{"url":"https://assets.example.com/cat.png","filename":"a/b.png"}`, "application/json", "not a path"},
		{"filename backslash", `{"url":"https://assets.example.com/cat.png","filename":"a\\b.png"}`, "application/json", "not a path"},
		{"filename dotdot", `{"url":"https://assets.example.com/cat.png","filename":".."}`, "application/json", "is not a file name"},
		{"filename control", `{"url":"https://assets.example.com/cat.png","filename":"a\nb.png"}`, "application/json", "control characters"},
		{"filename long", `{"url":"https://assets.example.com/cat.png","filename":"` + strings.Repeat("a", 256) + `"}`, "application/json", "longer than 255"},
		{"filename number", `{"url":"https://assets.example.com/cat.png","filename":7}`, "application/json", "filename must be a string"},
		{"content_type empty", `{"url":"https://assets.example.com/cat.png","content_type":""}`, "application/json", "content_type must not be empty"},
		{"content_type invalid", `{"url":"https://assets.example.com/cat.png","content_type":"png"}`, "application/json", "not a valid MIME type"},
		{"content_type wildcard", `{"url":"https://assets.example.com/cat.png","content_type":"image/*"}`, "application/json", "not a wildcard"},
		{"content_type text", `{"url":"https://assets.example.com/cat.png","content_type":"text/plain"}`, "application/json", `"text/plain" is not accepted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw, env := upload(t, s, tt.body, "Content-Type", tt.contentType)
			if resp.StatusCode != http.StatusBadRequest || env.Error.Code != "invalid_request" {
				t.Fatalf("got %d %s, want 400 invalid_request", resp.StatusCode, raw)
			}
			if !strings.Contains(env.Error.Message, tt.wantMessage) {
				t.Errorf("message %q does not say %q", env.Error.Message, tt.wantMessage)
			}
		})
	}
	if n := s.StoredUploads(); n != 0 {
		t.Errorf("%d objects stored by invalid requests", n)
	}
}

func TestUpload_MethodNotAllowed(t *testing.T) {
	s := newDemoServer(t)
	resp, err := http.Get(s.URL() + UploadPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET upload path: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestUpload_ContentType(t *testing.T) {
	png := DemoFixtures()[DemoImageURL].Body
	html := []byte("<!DOCTYPE html><html><body>hi</body></html>")
	fixtures := map[string]Fixture{
		"https://src.example.com/header.bin":   {Header: http.Header{"Content-Type": {"image/webp"}}, Body: png},
		"https://src.example.com/params":       {Header: http.Header{"Content-Type": {"audio/mpeg; bitrate=128"}}, Body: []byte("ID3....")},
		"https://src.example.com/sniff":        {Body: png},
		"https://src.example.com/octet":        {Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: png},
		"https://src.example.com/page.png":     {Header: http.Header{"Content-Type": {"text/html"}}, Body: html},
		"https://src.example.com/sniffed-html": {Body: html},
		"https://src.example.com/json":         {Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`)},
		"https://src.example.com/empty":        {Header: http.Header{"Content-Type": {"image/png"}}},
		"https://src.example.com/big":          {Header: http.Header{"Content-Type": {"image/png"}}, Body: make([]byte, 2048)},
	}
	s := NewTestServer(t, Options{Fixtures: fixtures, MaxSourceBytes: 1024})
	tests := []struct {
		name, body, wantType, wantError string
	}{
		{"source header wins over sniffing", `{"url":"https://src.example.com/header.bin"}`, "image/webp", ""},
		{"header parameters dropped", `{"url":"https://src.example.com/params"}`, "audio/mpeg", ""},
		{"sniffed without header", `{"url":"https://src.example.com/sniff"}`, "image/png", ""},
		{"octet-stream is sniffed", `{"url":"https://src.example.com/octet"}`, "image/png", ""},
		{"override wins over header", `{"url":"https://src.example.com/page.png","content_type":"image/png"}`, "image/png", ""},
		{"override kept as given", `{"url":"https://src.example.com/sniff","content_type":"video/mp4; codecs=avc1"}`, "video/mp4; codecs=avc1", ""},
		{"html header refused", `{"url":"https://src.example.com/page.png"}`, "", `Unsupported content type "text/html"`},
		{"html sniffed refused", `{"url":"https://src.example.com/sniffed-html"}`, "", `Unsupported content type "text/html"`},
		{"json refused", `{"url":"https://src.example.com/json"}`, "", `Unsupported content type "application/json"`},
		{"empty refused", `{"url":"https://src.example.com/empty"}`, "", "Source file is empty"},
		{"size cap", `{"url":"https://src.example.com/big"}`, "", "larger than the 1024 byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw, env := upload(t, s, tt.body)
			if tt.wantError != "" {
				if resp.StatusCode != 400 || !strings.Contains(env.Error.Message, tt.wantError) {
					t.Errorf("got %d %s, want 400 %q", resp.StatusCode, raw, tt.wantError)
				}
				return
			}
			if resp.StatusCode != 200 || env.Data.ContentType != tt.wantType {
				t.Errorf("got %d %s, want content_type %q", resp.StatusCode, raw, tt.wantType)
			}
		})
	}
}

func TestUpload_DemoFixtures(t *testing.T) {
	s := newDemoServer(t)
	for url, want := range map[string]string{DemoImageURL: "image/png", DemoVideoURL: "video/mp4", DemoAudioURL: "audio/wav"} {
		env := mustUpload(t, s, `{"url":"`+url+`"}`)
		if env.Data.ContentType != want || env.Data.FileSize != int64(len(DemoFixtures()[url].Body)) {
			t.Errorf("%s: %+v", url, env.Data)
		}
	}
	_, _, env := upload(t, s, `{"url":"`+DemoHTMLURL+`"}`)
	if !strings.Contains(env.Error.Message, "Unsupported content type") {
		t.Errorf("HTML demo page accepted: %+v", env)
	}
	// Without their declared types the bytes still sniff as what they claim to be.
	for url, want := range map[string]string{DemoImageURL: "image/png", DemoVideoURL: "video/mp4", DemoAudioURL: "audio/wave"} {
		if got := http.DetectContentType(DemoFixtures()[url].Body); got != want {
			t.Errorf("%s sniffs as %q, want %q", url, got, want)
		}
	}
}

// keyName is a key without its uploads/YYYY/MM/DD/ prefix, which it checks, so that a test is
// not thrown by midnight passing between two uploads.
func keyName(t *testing.T, key string) string {
	t.Helper()
	m := regexp.MustCompile(`^uploads/(\d{4}/\d{2}/\d{2})/([^/]+)$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("key %q is not uploads/YYYY/MM/DD/<name>", key)
	}
	if _, err := time.Parse("2006/01/02", m[1]); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	return m[2]
}

func TestUpload_KeysUniqueAndNamed(t *testing.T) {
	s := newDemoServer(t)
	s.SetFixture("https://assets.example.com/photos/My%20Cat%20(1).png", DemoFixtures()[DemoImageURL])
	s.SetFixture("https://assets.example.com/", DemoFixtures()[DemoImageURL])
	s.SetFixture("https://assets.example.com/cat.png?v=2", DemoFixtures()[DemoImageURL])
	s.SetFixture("https://assets.example.com/a.b.tar.gz", Fixture{Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte("x")})
	// In order, on one server: a name taken earlier gets the next free number before its extension.
	tests := []struct{ body, wantName string }{
		{`{"url":"https://assets.example.com/cat.png"}`, "cat.png"},
		{`{"url":"https://assets.example.com/cat.png","filename":"logo final.png"}`, "logo-final.png"},
		{`{"url":"https://assets.example.com/cat.png","filename":".hidden.png"}`, "hidden.png"},
		{`{"url":"https://assets.example.com/photos/My%20Cat%20(1).png"}`, "My-Cat-1-.png"},
		{`{"url":"https://assets.example.com/"}`, "file"},
		{`{"url":"https://assets.example.com/"}`, "file-2"},
		{`{"url":"https://assets.example.com/cat.png?v=2#frag"}`, "cat-2.png"},
		{`{"url":"https://assets.example.com/cat.png","filename":"cat-4.png"}`, "cat-4.png"},
		{`{"url":"https://assets.example.com/cat.png"}`, "cat-3.png"},
		{`{"url":"https://assets.example.com/cat.png"}`, "cat-5.png"}, // cat-4.png was taken by name
		{`{"url":"https://assets.example.com/cat.png","filename":"logo final.png"}`, "logo-final-2.png"},
		{`{"url":"https://assets.example.com/a.b.tar.gz"}`, "a.b.tar.gz"},
		{`{"url":"https://assets.example.com/a.b.tar.gz"}`, "a.b.tar-2.gz"},
	}
	for _, tt := range tests {
		env := mustUpload(t, s, tt.body)
		if got := keyName(t, env.Data.Key); got != tt.wantName {
			t.Errorf("%s: key %q, want name %q", tt.body, env.Data.Key, tt.wantName)
		}
		if env.Data.URL != s.URL()+"/"+env.Data.Key {
			t.Errorf("url %q is not the hosted URL of key %q", env.Data.URL, env.Data.Key)
		}
	}
	a := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	b := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if a.Data.Key == b.Data.Key || a.Data.URL == b.Data.URL || a.RequestID == b.RequestID {
		t.Errorf("same upload twice got the same key or request id: %+v %+v", a, b)
	}
	if got := s.DuplicateUploads(); got != 7 {
		// Repeats of an earlier url, filename and content_type: cat.png four times, and "/",
		// "logo final.png" and a.b.tar.gz once each. Numbered keys do not make them different.
		t.Errorf("DuplicateUploads = %d, want 7", got)
	}
}

// TestUpload_KeyOfDeletedObjectNotReused: a key names one upload for the life of the server, so
// a hosted URL that went 404 never starts serving another file.
func TestUpload_KeyOfDeletedObjectNotReused(t *testing.T) {
	s := newDemoServer(t)
	first := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if !s.DeleteObject(first.Data.Key) {
		t.Fatal("DeleteObject")
	}
	second := mustUpload(t, s, `{"url":"https://assets.example.com/cat.png"}`)
	if keyName(t, first.Data.Key) != "cat.png" || keyName(t, second.Data.Key) != "cat-2.png" {
		t.Errorf("keys %q then %q, want cat.png then cat-2.png", first.Data.Key, second.Data.Key)
	}
	if _, ok := s.Object(first.Data.Key); ok {
		t.Errorf("deleted key %q serves an object again", first.Data.Key)
	}
}

// TestUpload_KeysConcurrentSameName is meant for -race: the free name is chosen under the lock,
// so parallel uploads of one name get cat.png, cat-2.png ... cat-N.png, each once.
func TestUpload_KeysConcurrentSameName(t *testing.T) {
	s := newDemoServer(t)
	const n = 20
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := noRedirects.Do(newUploadRequest(t, s, `{"url":"https://assets.example.com/cat.png"}`, ""))
			if err != nil {
				t.Errorf("upload %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			var env envelope
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("upload %d: %d %v", i, resp.StatusCode, err)
				return
			}
			names[i] = path.Base(env.Data.Key)
		})
	}
	wg.Wait()
	want := []string{"cat.png"}
	for i := 2; i <= n; i++ {
		want = append(want, fmt.Sprintf("cat-%d.png", i))
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("keys %v, want %v", names, want)
	}
	if len(s.Objects()) != n {
		t.Errorf("%d objects stored, want %d", len(s.Objects()), n)
	}
}

func TestSanitizeName(t *testing.T) {
	tests := map[string]string{
		"cat.png":                         "cat.png",
		"a b  c.png":                      "a-b-c.png",
		"..":                              "file",
		"":                                "file",
		"éclair.png":                      "clair.png",
		"--x":                             "x",
		strings.Repeat("a", 300) + ".png": strings.Repeat("a", 124) + ".png",
	}
	for in, want := range tests {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUpload_RequestBodyCap: the handler stops reading at 1 MiB, so a client cannot make the
// gateway buffer an unbounded body; up to the cap, padding is just JSON whitespace.
func TestUpload_RequestBodyCap(t *testing.T) {
	s := newDemoServer(t)
	const valid = `{"url":"https://assets.example.com/cat.png"}`
	tests := []struct {
		name       string
		size       int
		wantStatus int
	}{
		{"at the cap", 1 << 20, http.StatusOK},
		{"one byte over", 1<<20 + 1, http.StatusBadRequest},
		{"far over", 8 << 20, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := valid + strings.Repeat(" ", tt.size-len(valid))
			resp, raw, env := upload(t, s, body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tt.wantStatus, raw)
			}
			if tt.wantStatus == http.StatusBadRequest &&
				(env.Error.Code != "invalid_request" || env.Error.Message != "Request body is larger than 1048576 bytes" || !requestIDPattern.MatchString(env.RequestID)) {
				t.Errorf("error %+v, request id %q", env.Error, env.RequestID)
			}
		})
	}
	if n := s.StoredUploads(); n != 1 {
		t.Errorf("stored %d objects, want 1 (the body at the cap)", n)
	}
}
