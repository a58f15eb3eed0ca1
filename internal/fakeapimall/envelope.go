package fakeapimall

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/oklog/ulid/v2"
)

// successEnvelope and errorEnvelope mirror the reference examples field for field and in the
// same order, because clients (and people reading logs) compare against those examples.
type successEnvelope struct {
	Success   bool        `json:"success"`
	Data      successData `json:"data"`
	RequestID string      `json:"request_id"`
}

type successData struct {
	URL         string `json:"url"`
	Key         string `json:"key"`
	ContentType string `json:"content_type"`
	FileSize    int64  `json:"file_size"`
}

type errorEnvelope struct {
	Success   bool        `json:"success"`
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// apiError is an error answer on its way to the client.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
}

func badRequest(message string, details map[string]any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", message: message, details: details}
}

// newRequestID makes "req_" + 26 ULID characters, like the reference. ulid.Make is safe for
// concurrent use and monotonic within a millisecond.
func newRequestID() string { return "req_" + ulid.Make().String() }

// encodeJSON indents like the reference examples and does not escape &, < and >, which would
// otherwise turn up as \u0026 in URLs.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err) // only our own envelope types are encoded here
	}
	return buf.Bytes()
}

func errorBody(requestID, code, message string, details map[string]any) []byte {
	if details == nil {
		details = map[string]any{} // always an object, so clients can read it without a nil check
	}
	return encodeJSON(errorEnvelope{Error: errorDetail{Code: code, Message: message, Details: details}, RequestID: requestID})
}

func writeJSONBody(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if requestID != "" {
		h.Set("X-Request-Id", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, requestID, code, message string, details map[string]any) {
	writeJSONBody(w, status, requestID, errorBody(requestID, code, message, details))
}

func writeAPIError(w http.ResponseWriter, requestID string, e *apiError) {
	writeError(w, e.status, requestID, e.code, e.message, e.details)
}

// defaultErrorCode names a fault status the way a gateway would.
func defaultErrorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusBadGateway:
		return "bad_gateway"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	case http.StatusGatewayTimeout:
		return "gateway_timeout"
	}
	if status >= 500 {
		return "internal_error"
	}
	return "error"
}
