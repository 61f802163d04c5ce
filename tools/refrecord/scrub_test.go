package main

import (
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	sc := newScrubber()
	sc.add("refrecord-token-0123456789abcdef", "<token>")
	sc.add("/tmp/refrecord-gw-123/state", "<stateDir>")
	sc.add("vm", "<hostname>")
	sc.add("9b2276362679606e774a5927b8fb373f4817c16ec3a4b06644d01ffd1cb7fbfb", "<nodeId>")
	sc.addNumber(40035, "port")
	cases := []struct {
		name, in, want string
	}{
		{"known literal inside a string", `{"path":"/tmp/refrecord-gw-123/state/openclaw.json"}`, `{"path":"<stateDir>/openclaw.json"}`},
		{"short literal only as a whole value", `{"host":"vm","text":"vm is a word in vmware"}`, `{"host":"<hostname>","text":"vm is a word in vmware"}`},
		{"named id before the hex rule", `{"nodeId":"9b2276362679606e774a5927b8fb373f4817c16ec3a4b06644d01ffd1cb7fbfb"}`, `{"nodeId":"<nodeId>"}`},
		{"uuids numbered by first appearance", `{"a":"3dac7960-9fa2-45e4-be1b-8728216ac203","b":"04762ea8-03c8-4593-9001-20980aa6c813","c":"3DAC7960-9FA2-45E4-BE1B-8728216AC203"}`,
			`{"a":"<uuid-1>","b":"<uuid-2>","c":"<uuid-1>"}`},
		{"other 64-hex ids", `{"hash":"` + strings.Repeat("ab", 32) + `"}`, `{"hash":"<hex64-1>"}`},
		{"epoch milliseconds", `{"ts":1795549275502,"count":12}`, `{"ts":"<num:ts>","count":12}`},
		{"epoch seconds only under a time key", `{"createdAt":1795549275,"size":1795549275}`, `{"createdAt":"<num:ts-s>","size":1795549275}`},
		{"measured numbers by key", `{"durationMs":12,"pid":4242,"uptimeMs":99}`, `{"durationMs":"<num:ms>","pid":"<num:pid>","uptimeMs":"<num:ms>"}`},
		{"iso time in text", `{"line":"2026-12-02T05:34:05.053+00:00 [gateway] ready"}`, `{"line":"<iso> [gateway] ready"}`},
		{"secrets by key", `{"deviceToken":"zMjSKo9ablxYTnExSux93iXt0p8zVQ6nFLxHfHzEcuU"}`, `{"deviceToken":"<secret:deviceToken>"}`},
		{"the token", `{"auth":{"token":"refrecord-token-0123456789abcdef"}}`, `{"auth":{"token":"<token>"}}`},
		{"a random port as number and in text", `{"port":40035,"raw":"{ port: 40035 }","other":140035}`, `{"port":"<num:port>","raw":"{ port: <port> }","other":140035}`},
		{"placeholders stay", `{"x":"<num:ts>"}`, `{"x":"<num:ts>"}`},
		{"JSON inside a string", `{"payloadJSON":"{\"loadAverage\":[1.5,2],\"ts\":1795549275502,\"ok\":true}"}`,
			`{"payloadJSON":"{\"loadAverage\":[\"<num:load>\",\"<num:load>\"],\"ts\":\"<num:ts>\",\"ok\":true}"}`},
		{"a countdown deadline", `{"timeoutMs":14923,"other":{"timeoutMs":30000}}`, `{"timeoutMs":"<num:ms>","other":{"timeoutMs":30000}}`},
		{"machine strings", `{"cpuModel":"AMD EPYC","userAgent":"Mozilla/5.0 HeadlessChrome/156.0.0.0 Safari/537.36"}`,
			`{"cpuModel":"<cpuModel>","userAgent":"Mozilla/5.0 HeadlessChrome/<version> Safari/537.36"}`},
		{"config hashes", `{"hash":"hmac-sha256:v1:ZdcpMVn6lGLR1IgXACuQZiurt2NP6QHQAOtuw1lv1Ko","same":"hmac-sha256:v1:ZdcpMVn6lGLR1IgXACuQZiurt2NP6QHQAOtuw1lv1Ko"}`,
			`{"hash":"<hmac-1>","same":"<hmac-1>"}`},
		{"random request ids", `{"requestId":"YqLjrQGZOmR9wEx8XZ4bm8yiEc_VqMyu","again":{"requestId":"YqLjrQGZOmR9wEx8XZ4bm8yiEc_VqMyu"}}`,
			`{"requestId":"<requestId-1>","again":{"requestId":"<requestId-1>"}}`},
		{"opaque cursors and 32-byte keys", `{"deltaCursor":"eyJhZ2VudElkIjoibWFpbiJ9","source":"HkixpxVxtlyluzHjZ2IFnuEGTJTWKUnQYlpdY2RBLgY"}`,
			`{"deltaCursor":"<deltaCursor-1>","source":"<b64-1>"}`},
		{"ephemeral ports", `{"remotePort":34434,"line":"peer=127.0.0.1:34434 closed","vnc":"127.0.0.1:5900"}`,
			`{"remotePort":"<num:ephemeral-port>","line":"peer=127.0.0.1:<ephemeral-port> closed","vnc":"127.0.0.1:5900"}`},
		{"pids in log text", `{"line":"phase=stream-ready pid=16622 threadId=0","raw":"{\\\"pid\\\":16622}"}`,
			`{"line":"phase=stream-ready pid=<pid> threadId=0","raw":"{\\\"pid\\\":<pid>}"}`},
		{"key order kept", `{"z":1,"a":2,"m":{"y":true,"b":null}}`, `{"z":1,"a":2,"m":{"y":true,"b":null}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := parseJSON([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			got := compact(sc.doc(v).encode())
			if got != c.want {
				t.Errorf("scrub(%s)\n got %s\nwant %s", c.in, got, c.want)
			}
		})
	}
}

func TestScrubDoesNotChangeItsInput(t *testing.T) {
	sc := newScrubber()
	v, _ := parseJSON([]byte(`{"ts":1795549275502}`))
	sc.doc(v)
	if got := compact(v.encode()); got != `{"ts":1795549275502}` {
		t.Fatalf("input changed to %s", got)
	}
}

// compact removes the indentation encode adds (outside strings).
func compact(b []byte) string {
	var out strings.Builder
	in := false
	esc := false
	for _, c := range string(b) {
		switch {
		case in:
			out.WriteRune(c)
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				in = false
			}
		case c == '"':
			in = true
			out.WriteRune(c)
		case c == ' ' || c == '\n':
		default:
			out.WriteRune(c)
		}
	}
	return out.String()
}

// Scrubbing a scrubbed document again changes nothing, and new ids are
// numbered after the ones already there.
func TestScrubAgain(t *testing.T) {
	sc := newScrubber()
	v, _ := parseJSON([]byte(`{"a":"3dac7960-9fa2-45e4-be1b-8728216ac203","errors":{"retry 04762ea8-03c8-4593-9001-20980aa6c813 later":2}}`))
	once := sc.doc(v)
	if got := compact(once.encode()); got != `{"a":"<uuid-1>","errors":{"retry <uuid-2> later":2}}` {
		t.Fatalf("first pass: %s", got)
	}
	if got := compact(sc.doc(once).encode()); got != compact(once.encode()) {
		t.Fatalf("second pass changed %s", got)
	}
	more, _ := parseJSON([]byte(`{"a":"<uuid-1>","b":"9e5c1605-0774-442b-a20c-eb31796cbcc7"}`))
	if got := compact(sc.doc(more).encode()); got != `{"a":"<uuid-1>","b":"<uuid-2>"}` {
		t.Fatalf("continued numbering: %s", got)
	}
}
