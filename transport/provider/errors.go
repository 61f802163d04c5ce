package provider

import (
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxErrorMessage bounds a message taken from a non-JSON error body.
const maxErrorMessage = 512

// checkResponse returns the *Error for a response that is not a stream: a
// non-2xx status, or a 2xx JSON body (a server that ignored stream=true, or a
// proxy reporting an error with 200). It reads and closes nothing itself
// except the body it needs for the message; the caller closes res.Body.
func (p *openAICompatible) checkResponse(res *http.Response) *Error {
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if mt != "application/json" {
			return nil
		}
		raw, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		b := parseErrorBody(raw)
		e := &Error{Provider: p.cfg.ID, Status: b.status, Code: b.code, Type: b.typ, Message: b.message}
		if e.Message == "" || !b.fromJSONError {
			e.Message = "provider answered with JSON, not an event stream (does it support stream=true?)"
		}
		e.Retryable = e.Status != 0 && retryableStatus(e.Status)
		return e
	}

	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	b := parseErrorBody(raw)
	e := &Error{
		Provider:   p.cfg.ID,
		Status:     res.StatusCode,
		Message:    b.message,
		Code:       b.code,
		Type:       b.typ,
		Retryable:  retryableStatus(res.StatusCode),
		RetryAfter: retryAfter(res.Header, time.Now()),
	}
	// OpenAI's own hint overrides the status rule, as in its SDKs.
	switch res.Header.Get("X-Should-Retry") {
	case "true":
		e.Retryable = true
	case "false":
		e.Retryable = false
	}
	if e.Message == "" || (!b.fromJSONError && strings.HasPrefix(e.Message, "<")) {
		// No body, or an HTML page from a proxy: the status says it better.
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// retryableStatus: timeouts, conflicts, rate limits and server errors.
// 401/403 (bad key, no access) and other 4xx would fail again.
func retryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusConflict,
		status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	default:
		return status >= 500
	}
}

// retryAfter reads Retry-After-Ms (OpenAI, milliseconds) or Retry-After
// (RFC 9110: delay-seconds or an HTTP-date). 0 when absent, invalid or past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs > 0 && secs < 1e9 && !math.IsNaN(secs) {
			return time.Duration(secs * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

type errorBody struct {
	message, code, typ string
	status             int  // a numeric code that is an HTTP status
	fromJSONError      bool // the body was JSON with an error or message
}

// parseErrorBody reads the error shapes providers send:
//
//	{"error":{"message":"...","type":"...","code":"..."|401}}  OpenAI, OpenRouter, llama.cpp
//	{"error":"..."}                                            Ollama (native), proxies
//	{"message":"...","type":"...","code":400}                  vLLM
//	{"detail":"..."}                                           FastAPI-based servers
//
// and falls back to the body's text.
func parseErrorBody(raw []byte) errorBody {
	var top struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &top) == nil {
		if len(top.Error) > 0 && string(top.Error) != "null" {
			if b := parseErrorValue(top.Error); b.message != "" || b.code != "" {
				return b
			}
		}
		if msg := jsonText(top.Message); msg != "" {
			b := errorBody{message: msg, typ: top.Type, fromJSONError: true}
			b.code, b.status = codeOf(top.Code)
			return b
		}
		if msg := jsonText(top.Detail); msg != "" {
			return errorBody{message: msg, fromJSONError: true}
		}
	}
	return errorBody{message: truncate(strings.TrimSpace(string(raw)), maxErrorMessage)}
}

// parseErrorValue reads the value of an "error" key: an object or a string.
func parseErrorValue(raw json.RawMessage) errorBody {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return errorBody{message: s, fromJSONError: true}
	}
	var obj struct {
		Message json.RawMessage `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return errorBody{}
	}
	b := errorBody{message: jsonText(obj.Message), typ: obj.Type, fromJSONError: true}
	b.code, b.status = codeOf(obj.Code)
	return b
}

// jsonText is a JSON string's value, or the JSON text of anything else.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return truncate(string(raw), maxErrorMessage)
}

// codeOf reads a code that is a string ("invalid_api_key") or a number
// (OpenRouter and vLLM put the HTTP status there).
func codeOf(raw json.RawMessage) (code string, status int) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", 0
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, 0
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n >= 100 && n <= 599 {
			status = n
		}
		return strconv.Itoa(n), status
	}
	return "", 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
