package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// notObjectReason is DecodeRequest's reason for valid JSON whose top-level
// value is not an object: it is rejected before the schema sees it.
const notObjectReason = "frame must be an object"

// reasonsAreDeterministic records a known bug in describe (validate.go): when
// several problems share the best rank (say /minProtocol and /maxProtocol both
// below their minimum, or a frame with a bad type and a bad id), the one
// reported depends on the order the schema library lists its details in,
// which varies from run to run. The same bytes then get different error
// messages and close reasons. While this is false, FuzzFrame does not assert
// determinism and TestReasonDeterministic is skipped; set it to true once
// describe breaks ties in a fixed order.
const reasonsAreDeterministic = true

// FuzzFrame feeds arbitrary bytes to the first stage of every inbound frame.
// Anything a client can send reaches DecodeRequest, and whatever decodes
// reaches ValidateParams, so neither may panic, and the errors they produce
// are what clients read, so their shapes are checked too.
//
// Run with: go test -run='^$' -fuzz=FuzzFrame -fuzztime=60s ./transport/protocol/
// The seed corpus is in testdata/fuzz/FuzzFrame (realistic frames from the
// reference clients and edge cases); the f.Add seeds below are the few that
// are clearer as Go literals.
func FuzzFrame(f *testing.F) {
	v := mustValidator(f)

	f.Add([]byte(`{"type":"req","id":"1","method":"health"}`))
	f.Add([]byte(`{"type":"req","id":"r2","method":"logs.tail","params":{"cursor":0,"limit":5000,"maxBytes":10485760}}`))
	f.Add([]byte(`{"type":"req","id":"r3","method":"system-event","params":{"text":" \t "}}`))
	f.Add([]byte(`{"type":"req","id":7,"method":"connect","params":{}}`))
	f.Add([]byte(`{"type":"req","id":"x","method":"connect","params":[1,"2",{"3":null}]}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Add([]byte(""))

	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := v.DecodeRequest(raw)
		checkDecode(t, raw, req, err)

		// The direct check of the frame's shape never accepts what the
		// frame schema refuses.
		var doc any
		if json.Unmarshal(raw, &doc) == nil {
			if obj, ok := doc.(map[string]any); ok && plainFrame(obj) {
				if res := mustFrame(t, v).ValidateMap(obj); !res.IsValid() {
					t.Fatalf("plainFrame accepted a frame the schema refuses (%s): %s", describe(res), raw)
				}
			}
		}

		// The result must not depend on anything but the input: the same
		// bytes decoded again give the same answer, so error messages (and
		// the close reasons built from them) are stable.
		req2, err2 := v.DecodeRequest(raw)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("DecodeRequest is not deterministic: %v then %v", err, err2)
		}
		if reasonsAreDeterministic && err != nil && err.Error() != err2.Error() {
			t.Fatalf("DecodeRequest is not deterministic: %v then %v", err, err2)
		}
		if err != nil {
			return
		}
		if req2.ID != req.ID || req2.Method != req.Method {
			t.Fatalf("DecodeRequest is not deterministic: %+v then %+v", req, req2)
		}

		for _, method := range []string{req.Method, "connect"} {
			got := v.ValidateParams(method, req.Params)
			if got != "" {
				checkReason(t, "ValidateParams("+method+")", got)
			}
			if again := v.ValidateParams(method, req.Params); (again == "") != (got == "") || (reasonsAreDeterministic && again != got) {
				t.Fatalf("ValidateParams(%q) is not deterministic: %q then %q", method, got, again)
			}
		}
	})
}

// checkDecode asserts the invariants of one DecodeRequest result.
func checkDecode(t *testing.T, raw []byte, req *Request, err error) {
	t.Helper()
	if err == nil {
		if req == nil {
			t.Fatal("DecodeRequest returned neither a request nor an error")
		}
		if req.ID == "" || req.Method == "" {
			t.Fatalf("valid frame with empty id or method: %+v", req)
		}
		if req.Params == nil {
			t.Fatal("valid frame with nil Params: handlers rely on {} for omitted params")
		}
		if !json.Valid(raw) {
			t.Fatalf("DecodeRequest accepted bytes that are not one JSON value: %q", raw)
		}
		return
	}
	if req != nil {
		t.Fatalf("DecodeRequest returned both %+v and %v", req, err)
	}
	var fe *FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FrameError", err, err)
	}
	if fe.Reason == "" {
		t.Fatalf("FrameError with an empty reason: %+v", fe)
	}
	// Malformed decides between "close 1000, no reply" and "close 1008
	// invalid request frame" before hello-ok (docs/PROTOCOL.md §3.2), so it must
	// mean exactly "not one JSON value".
	if fe.Malformed == json.Valid(raw) {
		t.Fatalf("Malformed = %v but json.Valid = %v for %q (%v)", fe.Malformed, json.Valid(raw), raw, fe)
	}
	if fe.Malformed {
		if fe.ID != "" || fe.RawID != nil {
			t.Fatalf("malformed input produced an id: %+v", fe)
		}
		return
	}
	// Only a non-object gets the pre-schema reason, and it always does.
	if (fe.Reason == notObjectReason) == isJSONObject(raw) {
		t.Fatalf("FrameError reason %q for input %q", fe.Reason, raw)
	}
	if fe.Reason != notObjectReason {
		checkReason(t, "DecodeRequest", fe.Reason)
	}
	// The id echoed in the error response is the one the client sent: a
	// string id is echoed as that string, never something else.
	if s, ok := fe.RawID.(string); ok && s != fe.ID {
		t.Fatalf("RawID %q differs from ID %q", s, fe.ID)
	}
}

// checkReason asserts the shape of a schema problem as clients read it, after
// "invalid request frame: " or "invalid <method> params: ". Below the root it
// is "at <JSON pointer>: <problem>". At the root it is worded as the
// reference words it: "at root: " only for an unexpected property (and for
// params given to a method that takes none), otherwise the bare problem,
// e.g. "must have required property 'method'".
func checkReason(t *testing.T, what, reason string) {
	t.Helper()
	switch {
	case reason == "":
		t.Fatalf("%s: empty reason", what)
	case strings.HasPrefix(reason, "at root: "):
		rest := strings.TrimPrefix(reason, "at root: ")
		if !strings.HasPrefix(rest, "unexpected propert") && rest != "no params accepted" {
			t.Fatalf("%s: reason %q: only an unexpected property is reported \"at root\"", what, reason)
		}
	case strings.HasPrefix(reason, "at /"):
		// The pointer may itself contain ": " (keys are the client's), so
		// only check that some problem text follows one.
		i := strings.Index(reason, ": ")
		if i < 0 || i+2 == len(reason) {
			t.Fatalf("%s: reason %q is not \"at <path>: <problem>\"", what, reason)
		}
	case strings.HasPrefix(reason, "at "):
		t.Fatalf("%s: reason %q has a location that is neither root nor a JSON pointer", what, reason)
	case !strings.HasPrefix(reason, "must "):
		t.Fatalf("%s: root-level reason %q is not a \"must ...\" problem", what, reason)
	}
}

func isJSONObject(raw []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// TestReasonDeterministic pins the bug described at reasonsAreDeterministic:
// inputs with two equally ranked problems must still get one fixed message.
func TestReasonDeterministic(t *testing.T) {
	if !reasonsAreDeterministic {
		t.Skip("known bug: describe reports equally ranked problems in the schema library's varying order")
	}
	v := mustValidator(t)
	client := `"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"}`
	tests := []struct {
		frame  string
		params bool // check ValidateParams("connect") rather than DecodeRequest
	}{
		{frame: `{"type":"x","id":1,"method":2}`},
		{frame: `{"type":"req","id":"","method":""}`},
		{frame: `{"type":"req","id":"a","method":"connect","params":{"minProtocol":0,"maxProtocol":0,` + client + `}}`, params: true},
		{frame: `{"type":"req","id":"a","method":"connect","params":{"minProtocol":4,"maxProtocol":4,"client":{"id":"x","version":"","platform":"","mode":"y"}}}`, params: true},
	}
	for _, tt := range tests {
		reason := func() string {
			req, err := v.DecodeRequest([]byte(tt.frame))
			if !tt.params {
				if err == nil {
					t.Fatalf("%s decoded, want an error", tt.frame)
				}
				return err.Error()
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.frame, err)
			}
			return v.ValidateParams("connect", req.Params)
		}
		first := reason()
		// Map iteration order is randomised per range statement, so a
		// hundred tries make a wrong tie-break all but certain to show.
		for range 100 {
			if got := reason(); got != first {
				t.Fatalf("%s: reason %q, then %q", tt.frame, first, got)
			}
		}
	}
}

// TestSmallNumberIsCheap pins a denial of service found while fuzzing: a
// connect frame of about 160 bytes whose minProtocol is a tiny number written
// with a huge negative exponent keeps ValidateParams busy for seconds to
// minutes (quadratic in the exponent: 1e-80000 takes about 1 s, 1e-1000000
// close to 3 min). The schema library formats the failing value through
// big.Rat for its error message. connect is validated before authentication,
// so anyone who can open a socket can do this. Every frame small enough to
// pass the pre-auth size limit must be judged quickly.
func TestSmallNumberIsCheap(t *testing.T) {
	v := mustValidator(t)
	client := `"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"}`
	frames := []struct{ method, frame string }{
		{"connect", `{"type":"req","id":"a","method":"connect","params":{"minProtocol":1e-200000,"maxProtocol":4,` + client + `}}`},
		{"connect", `{"type":"req","id":"a","method":"connect","params":{"minProtocol":4,"maxProtocol":-1e200000,` + client + `}}`},
		{"logs.tail", `{"type":"req","id":"a","method":"logs.tail","params":{"cursor":-1e-200000}}`},
		{"system-event", `{"type":"req","id":"a","method":"system-event","params":{"text":"x","lastInputSeconds":-1e-200000}}`},
	}
	for _, f := range frames {
		req, err := v.DecodeRequest([]byte(f.frame))
		if err != nil {
			// Numbers that do not fit a float64 are refused while decoding,
			// which is just as quick.
			if !strings.Contains(err.Error(), "number out of range") {
				t.Fatalf("%s: %v", f.frame, err)
			}
			continue
		}
		done := make(chan string, 1)
		go func() { done <- v.ValidateParams(f.method, req.Params) }()
		select {
		case <-done:
			// Accepted or refused, either is fine (a tiny number is 0, as
			// in JavaScript): what matters is that the answer came at once.
		case <-time.After(500 * time.Millisecond):
			// The goroutine is left running; the test binary exits soon.
			t.Errorf("%s: ValidateParams still running after 500ms", f.frame)
		}
	}
}
