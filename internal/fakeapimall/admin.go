package fakeapimall

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// faultSpec is a Fault in the admin API's JSON.
type faultSpec struct {
	Status      int               `json:"status"`
	RetryAfter  string            `json:"retry_after"`
	Header      map[string]string `json:"header"`
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	Drop        bool              `json:"drop"`
	Stall       string            `json:"stall"`
	AfterStore  bool              `json:"after_store"`
}

func (f faultSpec) fault() (Fault, error) {
	out := Fault{Status: f.Status, RetryAfter: f.RetryAfter, ContentType: f.ContentType, Drop: f.Drop, AfterStore: f.AfterStore}
	if f.Body != "" {
		out.Body = []byte(f.Body)
	}
	for k, v := range f.Header {
		if out.Header == nil {
			out.Header = http.Header{}
		}
		out.Header.Set(k, v)
	}
	if f.Stall != "" {
		d, err := time.ParseDuration(f.Stall)
		if err != nil {
			return out, fmt.Errorf("stall: %w", err)
		}
		out.Stall = d
	}
	return out, nil
}

type fixtureSpec struct {
	URL          string            `json:"url"`
	Status       int               `json:"status"`
	Header       map[string]string `json:"header"`
	Body         string            `json:"body"`
	BodyBase64   string            `json:"body_base64"`
	NoValidators bool              `json:"no_validators"`
	Delay        string            `json:"delay"`
	HeadStatus   int               `json:"head_status"`
}

type objectInfo struct {
	Key         string    `json:"key"`
	URL         string    `json:"url"`
	ContentType string    `json:"content_type"`
	FileSize    int64     `json:"file_size"`
	SourceURL   string    `json:"source_url"`
	RequestID   string    `json:"request_id"`
	Created     time.Time `json:"created"`
}

type requestInfo struct {
	Method    string      `json:"method"`
	Path      string      `json:"path"`
	Header    http.Header `json:"header"`
	Time      time.Time   `json:"time"`
	Status    int         `json:"status"`
	RequestID string      `json:"request_id,omitempty"`
}

// AdminRoutes documents the admin API (relative to AdminPrefix); the command prints it.
const AdminRoutes = `GET    stats                 counters (uploads, stored, duplicates, 429s, faults, peak in flight)
POST   reset-stats           zero counters and forget recorded requests
GET    requests              recorded gateway requests (Authorization removed); ?proxy=1 for the proxy's
POST   fail-next             {"count":N,"target":"upload|hosted","status":503,"retry_after":"2","header":{"Location":".."},"body":"<html>..","content_type":"text/html","drop":false,"stall":"1s","after_store":false}
POST   fault-rate            {"rate":0.2,"faults":[{"status":429,"retry_after":"1"},{"drop":true},...]}
POST   latency               {"latency":"200ms"}
POST   rate-limit            {"rps":10,"burst":10}     (rps 0 = off)
POST   concurrency-limit     {"limit":4}                (0 = off)
POST   clear-faults          remove queued faults, fault rate, latency and limits
GET    objects               stored objects (no bodies)
DELETE objects/<key>         delete a stored object (its hosted URL then answers 404)
GET    fixtures              fixture URLs
PUT    fixtures              {"url":"http://assets.example.com/a.png","status":200,"header":{"ETag":"\"v2\""},"body_base64":"..","no_validators":false,"delay":"0s","head_status":405}
DELETE fixtures?url=<url>    remove a fixture`

// serveAdmin is the admin API, for the command and the bench harness. It needs no key: the fake
// listens on loopback only and is a test tool.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := strings.TrimPrefix(r.URL.Path, AdminPrefix)
	switch {
	case route == "stats" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.Stats())
	case route == "reset-stats" && r.Method == http.MethodPost:
		s.ResetStats()
		adminOK(w)
	case route == "requests" && r.Method == http.MethodGet:
		recs := s.Requests()
		if r.URL.Query().Get("proxy") != "" {
			recs = s.ProxyRequests()
		}
		out := make([]requestInfo, len(recs))
		for i, rr := range recs {
			out[i] = requestInfo{rr.Method, rr.Path, rr.Header, rr.Time, rr.Status, rr.RequestID}
		}
		adminJSON(w, http.StatusOK, out)
	case route == "fail-next" && r.Method == http.MethodPost:
		var in struct {
			Count  int    `json:"count"`
			Target string `json:"target"`
			faultSpec
		}
		if !adminDecode(w, r, &in) {
			return
		}
		f, err := in.fault()
		if err != nil {
			adminError(w, err.Error())
			return
		}
		switch in.Target {
		case "", "upload":
			s.FailNext(max(in.Count, 1), f)
		case "hosted":
			s.FailHostedNext(max(in.Count, 1), f)
		default:
			adminError(w, `target must be "upload" or "hosted"`)
			return
		}
		adminOK(w)
	case route == "fault-rate" && r.Method == http.MethodPost:
		var in struct {
			Rate   float64     `json:"rate"`
			Faults []faultSpec `json:"faults"`
		}
		if !adminDecode(w, r, &in) {
			return
		}
		faults := make([]Fault, len(in.Faults))
		for i, spec := range in.Faults {
			f, err := spec.fault()
			if err != nil {
				adminError(w, err.Error())
				return
			}
			faults[i] = f
		}
		s.SetFaultRate(in.Rate, faults)
		adminOK(w)
	case route == "latency" && r.Method == http.MethodPost:
		var in struct {
			Latency string `json:"latency"`
		}
		if !adminDecode(w, r, &in) {
			return
		}
		d, err := time.ParseDuration(in.Latency)
		if err != nil {
			adminError(w, "latency: "+err.Error())
			return
		}
		s.SetLatency(d)
		adminOK(w)
	case route == "rate-limit" && r.Method == http.MethodPost:
		var in struct {
			RPS   float64 `json:"rps"`
			Burst int     `json:"burst"`
		}
		if !adminDecode(w, r, &in) {
			return
		}
		s.SetRateLimit(in.RPS, in.Burst)
		adminOK(w)
	case route == "concurrency-limit" && r.Method == http.MethodPost:
		var in struct {
			Limit int `json:"limit"`
		}
		if !adminDecode(w, r, &in) {
			return
		}
		s.SetConcurrencyLimit(in.Limit)
		adminOK(w)
	case route == "clear-faults" && r.Method == http.MethodPost:
		s.ClearFaults()
		adminOK(w)
	case route == "objects" && r.Method == http.MethodGet:
		objs := s.Objects()
		out := make([]objectInfo, len(objs))
		for i, o := range objs {
			out[i] = objectInfo{o.Key, s.baseURL + "/" + o.Key, o.ContentType, o.Size, o.SourceURL, o.RequestID, o.Created}
		}
		adminJSON(w, http.StatusOK, out)
	case strings.HasPrefix(route, "objects/") && r.Method == http.MethodDelete:
		if !s.DeleteObject(strings.TrimPrefix(route, "objects/")) {
			adminJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "no such object"})
			return
		}
		adminOK(w)
	case route == "fixtures" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.FixtureURLs())
	case route == "fixtures" && r.Method == http.MethodPut:
		var in fixtureSpec
		if !adminDecode(w, r, &in) {
			return
		}
		f := Fixture{Status: in.Status, HeadStatus: in.HeadStatus, Body: []byte(in.Body), NoValidators: in.NoValidators, Header: http.Header{}}
		if in.BodyBase64 != "" {
			b, err := base64.StdEncoding.DecodeString(in.BodyBase64)
			if err != nil {
				adminError(w, "body_base64: "+err.Error())
				return
			}
			f.Body = b
		}
		for k, v := range in.Header {
			f.Header.Set(k, v)
		}
		if in.Delay != "" {
			d, err := time.ParseDuration(in.Delay)
			if err != nil {
				adminError(w, "delay: "+err.Error())
				return
			}
			f.Delay = d
		}
		if err := s.setFixture(in.URL, f); err != nil {
			adminError(w, err.Error())
			return
		}
		adminOK(w)
	case route == "fixtures" && r.Method == http.MethodDelete:
		if !s.DeleteFixture(r.URL.Query().Get("url")) {
			adminJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "no such fixture"})
			return
		}
		adminOK(w)
	default:
		adminJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown admin route " + r.Method + " " + r.URL.Path, "routes": AdminRoutes})
	}
}

func adminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, "request body: "+err.Error())
		return false
	}
	return true
}

func adminOK(w http.ResponseWriter) { adminJSON(w, http.StatusOK, map[string]any{"ok": true}) }

func adminError(w http.ResponseWriter, msg string) {
	adminJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": msg})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(encodeJSON(v))
}
