package fakeapimall

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

const (
	maxRequestBody = 1 << 20
	maxURLLength   = 2048
	maxFilename    = 255
	maxKeyName     = 128
)

// uploadRequest is a validated request body. Optional fields are "" when absent.
type uploadRequest struct {
	URL         string
	Filename    string
	ContentType string
}

// fingerprint identifies "the same request" for Idempotency-Key and duplicate counting. It
// compares the parsed fields, so a client that re-encodes the same body differently still matches.
func (u uploadRequest) fingerprint() string {
	return u.URL + "\x00" + u.Filename + "\x00" + u.ContentType
}

// idemEntry is the first request seen with an Idempotency-Key. done closes when it finished;
// status is 0 when it did not succeed, and then the next request with the key runs afresh.
type idemEntry struct {
	fp        string
	done      chan struct{}
	status    int
	body      []byte
	requestID string
}

// Object is a file the gateway stored.
type Object struct {
	Key         string
	ContentType string
	Size        int64
	// Body is shared with the gateway: read it, do not modify it.
	Body      []byte
	SourceURL string
	RequestID string
	Created   time.Time
}

func (s *Server) serveUpload(w *recorder, r *http.Request) {
	requestID := newRequestID()
	w.requestID = requestID

	s.mu.Lock()
	s.stats.UploadAttempts++
	s.stats.InFlightUploads++
	s.stats.MaxInFlightUploads = max(s.stats.MaxInFlightUploads, s.stats.InFlightUploads)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stats.InFlightUploads--
		s.mu.Unlock()
	}()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, requestID, "method_not_allowed", r.Method+" is not allowed here; use POST", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	w.body = body
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeAPIError(w, requestID, badRequest(fmt.Sprintf("Request body is larger than %d bytes", maxRequestBody), nil))
		}
		return // otherwise the client went away mid-body
	}

	// Faults come first: a load balancer in front of the service fails before auth is checked.
	fault, faulted := s.nextUploadFault()
	if faulted && !fault.AfterStore && applyFault(w, r, requestID, fault) {
		return
	}
	if e := s.checkAuth(r); e != nil {
		writeAPIError(w, requestID, e)
		return
	}
	release, retryAfter, e := s.admit()
	if e != nil {
		w.Header().Set("Retry-After", retryAfter)
		writeAPIError(w, requestID, e)
		return
	}
	defer release()
	if !s.sleepLatency(r.Context()) {
		return
	}

	req, e := parseUploadRequest(r.Header.Get("Content-Type"), body)
	if e != nil {
		writeAPIError(w, requestID, e)
		return
	}

	status, respBody, respID, replayed := s.uploadIdempotent(r.Context(), r.Header.Get("Idempotency-Key"), req, requestID)
	if status == 0 {
		return // client went away while waiting for the first request with its key
	}
	w.requestID = respID
	if faulted && fault.AfterStore && applyFault(w, r, requestID, fault) {
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSONBody(w, status, respID, respBody)
}

func (s *Server) checkAuth(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "API key required: send Authorization: Bearer <key>"}
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.apiKey)) != 1 {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "Invalid API key"}
	}
	return nil
}

// admit applies the rate and concurrency limits; release must be called once the upload is done.
func (s *Server) admit() (release func(), retryAfter string, e *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.faults.bucket; b != nil {
		if ok, wait := b.take(time.Now()); !ok {
			s.stats.RateLimited++
			return nil, retryAfterSeconds(wait), &apiError{status: http.StatusTooManyRequests, code: "rate_limited", message: "Rate limit exceeded"}
		}
	}
	if n := s.faults.concLimit; n > 0 && s.faults.admitted >= n {
		s.stats.ConcurrencyLimited++
		return nil, "1", &apiError{status: http.StatusTooManyRequests, code: "too_many_concurrent_jobs", message: "Too many concurrent jobs"}
	}
	s.faults.admitted++
	return func() {
		s.mu.Lock()
		s.faults.admitted--
		s.mu.Unlock()
	}, "", nil
}

// sleepLatency waits for the configured latency; false when the client went away meanwhile.
func (s *Server) sleepLatency(ctx context.Context) bool {
	s.mu.Lock()
	d := s.faults.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// uploadIdempotent runs the upload once per Idempotency-Key. A request repeating a key waits for
// the first one and replays its answer (status, body and request id) when it succeeded; a failed
// first attempt leaves no record, so the repeat runs afresh. status 0 means ctx ended first.
func (s *Server) uploadIdempotent(ctx context.Context, key string, req uploadRequest, requestID string) (status int, body []byte, respID string, replayed bool) {
	if key == "" {
		status, body = s.upload(ctx, req, requestID)
		return status, body, requestID, false
	}
	fp := req.fingerprint()
	var e *idemEntry
	for {
		s.mu.Lock()
		e = s.idem[key]
		if e == nil {
			e = &idemEntry{fp: fp, done: make(chan struct{})}
			s.idem[key] = e
			s.mu.Unlock()
			break
		}
		if e.fp != fp {
			s.stats.IdempotencyConflicts++
			s.mu.Unlock()
			return http.StatusConflict, errorBody(requestID, "idempotency_conflict",
				"Idempotency-Key was already used with a different request body", map[string]any{"idempotency_key": key}), requestID, false
		}
		s.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return 0, nil, requestID, false
		}
		s.mu.Lock()
		if e.status != 0 {
			s.stats.IdempotentReplays++
			s.mu.Unlock()
			return e.status, e.body, e.requestID, true
		}
		s.mu.Unlock()
	}

	defer func() {
		s.mu.Lock()
		if e.status == 0 {
			delete(s.idem, key)
		}
		s.mu.Unlock()
		close(e.done)
	}()
	status, body = s.upload(ctx, req, requestID)
	if status == http.StatusOK {
		s.mu.Lock()
		e.status, e.body, e.requestID = status, body, requestID
		s.mu.Unlock()
	}
	return status, body, requestID, false
}

// upload fetches, checks and stores one source and returns the answer to send.
func (s *Server) upload(ctx context.Context, req uploadRequest, requestID string) (int, []byte) {
	src, e := s.fetchSource(ctx, req.URL)
	if e != nil {
		return e.status, errorBody(requestID, e.code, e.message, e.details)
	}
	if len(src.body) == 0 {
		return http.StatusBadRequest, errorBody(requestID, "invalid_request", "Source file is empty", nil)
	}
	ct, e := decideContentType(req.ContentType, src.header.Get("Content-Type"), src.body)
	if e != nil {
		return e.status, errorBody(requestID, e.code, e.message, e.details)
	}
	name := req.Filename
	if name == "" {
		if u, err := url.Parse(req.URL); err == nil {
			name = path.Base(u.Path)
		}
	}
	now := time.Now().UTC()
	obj := &Object{
		ContentType: ct, Size: int64(len(src.body)), Body: src.body,
		SourceURL: req.URL, RequestID: requestID, Created: now,
	}
	fp := req.fingerprint()
	s.mu.Lock()
	// Chosen under the lock, so two uploads of one name at once never get the same key.
	key := s.freeKey("uploads/"+now.Format("2006/01/02")+"/", sanitizeName(name))
	obj.Key = key
	s.objects[key] = obj
	s.objectOrder = append(s.objectOrder, key)
	s.stats.StoredUploads++
	if s.storedBySource[fp] > 0 {
		s.stats.DuplicateUploads++
	}
	s.storedBySource[fp]++
	s.mu.Unlock()

	return http.StatusOK, encodeJSON(successEnvelope{
		Success:   true,
		Data:      successData{URL: s.baseURL + "/" + key, Key: key, ContentType: ct, FileSize: obj.Size},
		RequestID: requestID,
	})
}

// freeKey returns dir+name when no upload ever had that key, else the first free numbered
// variant (cat.png, cat-2.png, cat-3.png...), as the contract wants keys that read like the file
// yet differ per upload. Keys of deleted objects stay taken: a hosted URL that went 404 must not
// start serving another file. s.mu must be held.
func (s *Server) freeKey(dir, name string) string {
	key := dir + name
	if _, taken := s.keys[key]; taken {
		ext := path.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		// nextSuffix remembers where the last search ended, so the n-th upload of a name does
		// not probe the n-1 keys before it.
		n := max(s.nextSuffix[dir+name], 2)
		for {
			key = fmt.Sprintf("%s%s-%d%s", dir, stem, n, ext)
			if _, taken := s.keys[key]; !taken {
				break
			}
			n++
		}
		s.nextSuffix[dir+name] = n + 1
	}
	s.keys[key] = struct{}{}
	return key
}

var knownFields = []string{"url", "filename", "content_type"}

// parseUploadRequest validates the JSON body and says precisely what is wrong, because the
// message is what a user reads in a failed plan or apply.
func parseUploadRequest(contentType string, body []byte) (uploadRequest, *apiError) {
	var req uploadRequest
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
			return req, badRequest(fmt.Sprintf("Content-Type must be application/json, not %q", contentType), nil)
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return req, badRequest("Request body is empty: send a JSON object with a url field", nil)
	}
	if trimmed[0] != '{' {
		return req, badRequest("Request body must be a JSON object", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return req, badRequest("Request body is not valid JSON: "+err.Error(), nil)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, badRequest("Request body has data after the JSON object", nil)
	}
	// Unknown fields are refused rather than ignored: a misspelt "fileName" silently dropped
	// would upload under the wrong name, and the fake exists to catch such client bugs.
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(knownFields, k) {
			return req, badRequest(fmt.Sprintf("Unknown field %q: accepted fields are url, filename and content_type", k), map[string]any{"field": k})
		}
	}
	var e *apiError
	var present bool
	if req.URL, present, e = stringField(raw, "url"); e != nil {
		return req, e
	}
	if !present || strings.TrimSpace(req.URL) == "" {
		return req, badRequest("url is required", map[string]any{"field": "url"})
	}
	if e := validateSourceURL(req.URL); e != nil {
		return req, e
	}
	if req.Filename, present, e = stringField(raw, "filename"); e != nil {
		return req, e
	}
	if present {
		if e := validateFilename(req.Filename); e != nil {
			return req, e
		}
	}
	if req.ContentType, present, e = stringField(raw, "content_type"); e != nil {
		return req, e
	}
	if present {
		req.ContentType = strings.TrimSpace(req.ContentType)
		if e := validateContentTypeOverride(req.ContentType); e != nil {
			return req, e
		}
	}
	return req, nil
}

// stringField reads an optional string; null counts as absent.
func stringField(raw map[string]json.RawMessage, name string) (string, bool, *apiError) {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, badRequest(name+" must be a string", map[string]any{"field": name})
	}
	return s, true, nil
}

func validateSourceURL(raw string) *apiError {
	field := map[string]any{"field": "url"}
	if len(raw) > maxURLLength {
		return badRequest(fmt.Sprintf("url is longer than %d characters", maxURLLength), field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return badRequest("url is not a valid URL: "+err.Error(), field)
	}
	if e := checkScheme(u); e != nil {
		return e
	}
	if u.Hostname() == "" {
		return badRequest("url must include a host", field)
	}
	if u.User != nil {
		return badRequest("url must not contain credentials", field)
	}
	return nil
}

func checkScheme(u *url.URL) *apiError {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return nil
	case "":
		return badRequest("url must be an absolute http:// or https:// URL", map[string]any{"field": "url"})
	}
	return badRequest(fmt.Sprintf("url scheme %q is not allowed: only http and https URLs are", u.Scheme), map[string]any{"field": "url", "scheme": u.Scheme})
}

func validateFilename(name string) *apiError {
	field := map[string]any{"field": "filename"}
	switch {
	case name == "":
		return badRequest("filename must not be empty when set", field)
	case len(name) > maxFilename:
		return badRequest(fmt.Sprintf("filename is longer than %d bytes", maxFilename), field)
	case strings.ContainsAny(name, `/\`):
		return badRequest("filename must be a file name, not a path (it contains a slash)", field)
	case name == "." || name == "..":
		return badRequest(fmt.Sprintf("filename %q is not a file name", name), field)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return badRequest("filename must not contain control characters", field)
	}
	return nil
}

func validateContentTypeOverride(ct string) *apiError {
	field := map[string]any{"field": "content_type"}
	if ct == "" {
		return badRequest("content_type must not be empty when set", field)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if major, minor, ok := strings.Cut(mt, "/"); err != nil || !ok || major == "" || minor == "" {
		return badRequest(fmt.Sprintf("content_type %q is not a valid MIME type", ct), field)
	}
	if strings.Contains(mt, "*") {
		return badRequest(fmt.Sprintf("content_type %q must name one type, not a wildcard", ct), field)
	}
	if !acceptedType(mt) {
		return badRequest(fmt.Sprintf("content_type %q is not accepted: API Mall accepts image/*, video/* and audio/*", ct), field)
	}
	return nil
}

func acceptedType(mediaType string) bool {
	major, _, _ := strings.Cut(mediaType, "/")
	return major == "image" || major == "video" || major == "audio"
}

// decideContentType takes the override, else the source's header, else sniffs the bytes. A
// generic application/octet-stream header says nothing about the file, so it is sniffed too.
func decideContentType(override, header string, body []byte) (string, *apiError) {
	if override != "" {
		return override, nil // validated with the request
	}
	var mt string
	if header != "" {
		if m, _, err := mime.ParseMediaType(header); err == nil && m != "application/octet-stream" && m != "binary/octet-stream" {
			mt = m
		}
	}
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	if !acceptedType(mt) {
		return "", badRequest(fmt.Sprintf("Unsupported content type %q: API Mall accepts image/*, video/* and audio/*", mt), map[string]any{"content_type": mt})
	}
	return mt, nil
}

// sanitizeName keeps a key readable and URL-safe: letters, digits, dot, dash and underscore.
func sanitizeName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r == '.' || r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if !ok {
			r = '-'
		}
		if r == '-' && dash {
			continue
		}
		dash = r == '-'
		b.WriteRune(r)
	}
	out := strings.TrimLeft(b.String(), ".-")
	if len(out) > maxKeyName {
		ext := path.Ext(out)
		if len(ext) > 16 {
			ext = ""
		}
		out = out[:maxKeyName-len(ext)] + ext
	}
	if out == "" {
		return "file"
	}
	return out
}
