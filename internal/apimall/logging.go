package apimall

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// subsystem is the tflog subsystem of HTTP traffic. Its level follows TF_LOG_PROVIDER_APIMALL_CLIENT
// when set (for example TRACE for the HTTP traffic alone), else the provider's own level.
const subsystem = "apimall_client"

const envLogLevel = "TF_LOG_PROVIDER_APIMALL_CLIENT"

const redacted = "***"

// logContext prepares a call's context for logging: the subsystem, and masks for the API key.
// tflog keeps masks in the context, so each call installs them on the context it logs with.
func (c *Client) logContext(ctx context.Context) context.Context {
	ctx = tflog.NewSubsystem(ctx, subsystem, tflog.WithLevelFromEnv(envLogLevel))
	if c.apiKey == "" {
		return ctx
	}
	ctx = tflog.SubsystemMaskAllFieldValuesStrings(ctx, subsystem, c.apiKey)
	ctx = tflog.SubsystemMaskMessageStrings(ctx, subsystem, c.apiKey)
	ctx = tflog.MaskAllFieldValuesStrings(ctx, c.apiKey)
	return tflog.MaskMessageStrings(ctx, c.apiKey)
}

// scrubString removes the API key from s. tflog's masks only see string fields; this covers
// everything else the client logs or returns.
func (c *Client) scrubString(s string) string {
	if c.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, redacted)
}

// scrubHeader copies h for logging, as lists (tflog's own masks only reach string values, so
// the key is removed here), with Authorization hidden and the key removed from the rest.
func (c *Client) scrubHeader(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for name, values := range h {
		scrubbed := make([]string, len(values))
		for i, v := range values {
			if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization") {
				v = redacted
			}
			scrubbed[i] = c.scrubString(v)
		}
		out[name] = scrubbed
	}
	return out
}

// redact returns err, or an error of the same chain whose message has no API key in it.
func (c *Client) redact(err error) error {
	if err == nil || c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return &redactedError{err: err, message: c.scrubString(err.Error())}
}

type redactedError struct {
	err     error
	message string
}

func (e *redactedError) Error() string { return e.message }
func (e *redactedError) Unwrap() error { return e.err }

// tflogLogger adapts go-retryablehttp's LeveledLogger to tflog, with the call's context (and
// so its masks) and every value scrubbed, lists included.
type tflogLogger struct {
	ctx   context.Context
	scrub func(string) string
}

func (l tflogLogger) fields(keysAndValues []any) map[string]any {
	fields := make(map[string]any, len(keysAndValues)/2)
	for i := 0; i+1 < len(keysAndValues); i += 2 {
		fields[fmt.Sprint(keysAndValues[i])] = l.value(keysAndValues[i+1])
	}
	return fields
}

// value keeps numbers and booleans as they are and turns everything else (errors, URLs,
// durations, lists) into a scrubbed string: tflog's masks only see string values.
func (l tflogLogger) value(v any) any {
	switch v := v.(type) {
	case bool, int, int64, float64:
		return v
	case string:
		return l.scrub(v)
	}
	return l.scrub(fmt.Sprint(v))
}

func (l tflogLogger) Error(msg string, kv ...any) {
	tflog.SubsystemError(l.ctx, subsystem, l.scrub(msg), l.fields(kv))
}

func (l tflogLogger) Info(msg string, kv ...any) {
	tflog.SubsystemInfo(l.ctx, subsystem, l.scrub(msg), l.fields(kv))
}

func (l tflogLogger) Debug(msg string, kv ...any) {
	tflog.SubsystemDebug(l.ctx, subsystem, l.scrub(msg), l.fields(kv))
}

func (l tflogLogger) Warn(msg string, kv ...any) {
	tflog.SubsystemWarn(l.ctx, subsystem, l.scrub(msg), l.fields(kv))
}
