package fakeapimall

import (
	"bytes"
	"net/http"
	"strings"
)

// serveHosted serves stored objects at URL()+"/"+key, as the real CDN would.
func (s *Server) serveHosted(w *recorder, r *http.Request) {
	requestID := newRequestID()
	w.requestID = requestID
	if f, ok := s.nextHostedFault(); ok && applyFault(w, r, requestID, f) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, requestID, "method_not_allowed", r.Method+" is not allowed on a hosted file; use GET or HEAD", nil)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	obj, ok := s.Object(key)
	if !ok {
		writeError(w, http.StatusNotFound, requestID, "not_found", "No file with key "+key, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("Etag", ETagOf(obj.Body))
	// ServeContent adds Content-Length, Last-Modified, HEAD and Range handling, as a CDN does.
	http.ServeContent(w, r, "", obj.Created, bytes.NewReader(obj.Body))
}

// Object returns the stored object with key, if it exists and was not deleted.
func (s *Server) Object(key string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return Object{}, false
	}
	return *obj, true
}

// Objects returns the stored objects in upload order.
func (s *Server) Objects() []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Object, 0, len(s.objects))
	for _, k := range s.objectOrder {
		if obj, ok := s.objects[k]; ok {
			out = append(out, *obj)
		}
	}
	return out
}

// DeleteObject removes a stored object, as someone deleting it in the API Mall console would;
// its hosted URL then answers 404. It reports whether the object existed.
func (s *Server) DeleteObject(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[key]; !ok {
		return false
	}
	delete(s.objects, key)
	for i, k := range s.objectOrder {
		if k == key {
			s.objectOrder = append(s.objectOrder[:i], s.objectOrder[i+1:]...)
			break
		}
	}
	return true
}
