package provider

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 9, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"absent", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"20"}}, 20 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"IMF-fixdate", http.Header{"Retry-After": {"Sun, 06 Sep 2026 12:01:30 GMT"}}, 90 * time.Second},
		{"RFC 850 date", http.Header{"Retry-After": {"Sunday, 06-Sep-26 12:00:10 GMT"}}, 10 * time.Second},
		{"date in the past", http.Header{"Retry-After": {"Sun, 06 Sep 2026 11:00:00 GMT"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"Retry-After-Ms wins", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond},
		{"bad Retry-After-Ms falls back", http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"2"}}, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("%s: retryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		body string
		want errorBody
	}{
		{`{"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			errorBody{message: "Incorrect API key", typ: "invalid_request_error", code: "invalid_api_key", fromJSONError: true}},
		{`{"error":{"message":"No auth credentials found","code":401}}`,
			errorBody{message: "No auth credentials found", code: "401", status: 401, fromJSONError: true}},
		{`{"error":{"code":500,"message":"Loading model","type":"unavailable_error"}}`,
			errorBody{message: "Loading model", typ: "unavailable_error", code: "500", status: 500, fromJSONError: true}},
		{`{"error":"model \"x\" not found, try pulling it first"}`,
			errorBody{message: `model "x" not found, try pulling it first`, fromJSONError: true}},
		{`{"object":"error","message":"bad","type":"BadRequestError","code":400}`,
			errorBody{message: "bad", typ: "BadRequestError", code: "400", status: 400, fromJSONError: true}},
		{`{"detail":"Not Found"}`, errorBody{message: "Not Found", fromJSONError: true}},
		{"  upstream connect error\n", errorBody{message: "upstream connect error"}},
		{``, errorBody{}},
	}
	for _, tt := range tests {
		if got := parseErrorBody([]byte(tt.body)); got != tt.want {
			t.Errorf("parseErrorBody(%s) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
	long := strings.Repeat("é", 2000) // 2-byte runes: the cut must not split one
	if got := parseErrorBody([]byte(long)).message; len(got) > maxErrorMessage+len("…") || !utf8.ValidString(got) {
		t.Errorf("message not truncated on a rune boundary: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Provider: "openai", Status: 401, Message: "Incorrect API key"}, "provider openai: HTTP 401: Incorrect API key"},
		{Error{Provider: "local", Message: "provider stream stalled"}, "provider local: provider stream stalled"},
		{Error{Status: 503}, "provider: HTTP 503: Service Unavailable"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
