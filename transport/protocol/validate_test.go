package protocol

import (
	"strings"
	"testing"

	"github.com/kaptinlin/jsonschema"
)

func mustValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustFrame(t testing.TB, v *Validator) *jsonschema.Schema {
	t.Helper()
	s, err := v.frameSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every embedded schema compiles, and the lazily compiled ones answer as
// the ones compiled up front: one validator compiles everything first, the
// other only as each method is asked for.
func TestSchemasCompileLazilyAsUpFront(t *testing.T) {
	eager, lazy := mustValidator(t), mustValidator(t)
	if err := eager.CompileAll(); err != nil {
		t.Fatal(err)
	}
	if len(eager.methods) < 80 {
		t.Fatalf("%d method schemas embedded, want the generated set (80+)", len(eager.methods))
	}
	for name := range eager.methods {
		for _, params := range []any{map[string]any{}, map[string]any{"unexpected": true}, "not an object"} {
			if got, want := lazy.ValidateParams(name, params), eager.ValidateParams(name, params); got != want {
				t.Errorf("%s %v: lazily compiled says %q, up front %q", name, params, got, want)
			}
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	v := mustValidator(t)
	tests := []struct {
		name      string
		raw       string
		malformed bool
		wantErr   string // substring of the FrameError reason; "" = valid
		wantID    string
	}{
		{name: "valid", raw: `{"type":"req","id":"1","method":"health"}`},
		{name: "valid with params", raw: `{"type":"req","id":"1","method":"health","params":{"probe":true}}`},
		{name: "not json", raw: `{"type":`, malformed: true},
		{name: "trailing garbage", raw: `{"type":"req","id":"1","method":"x"} x`, malformed: true},
		{name: "array", raw: `[1]`, wantErr: "frame must be an object"},
		{name: "numeric id", raw: `{"type":"req","id":1,"method":"health"}`, wantErr: "at /id: must be string"},
		{name: "empty method", raw: `{"type":"req","id":"a","method":""}`, wantErr: "at /method: must NOT have fewer than 1 characters", wantID: "a"},
		{name: "missing method", raw: `{"type":"req","id":"a"}`, wantErr: "must have required property 'method'", wantID: "a"},
		{name: "extra property", raw: `{"type":"req","id":"a","method":"m","x":1}`, wantErr: "at root: unexpected property 'x'", wantID: "a"},
		{name: "wrong type", raw: `{"type":"event","id":"a","method":"m"}`, wantErr: "at /type: must be equal to constant", wantID: "a"},
		{name: "long traceparent", raw: `{"type":"req","id":"a","method":"m","traceparent":"` + strings.Repeat("x", 129) + `"}`, wantErr: "at /traceparent: must NOT have more than 128 characters", wantID: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := v.DecodeRequest([]byte(tt.raw))
			if tt.wantErr == "" && !tt.malformed {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if req.ID != "1" {
					t.Fatalf("id = %q", req.ID)
				}
				return
			}
			fe, ok := err.(*FrameError)
			if !ok {
				t.Fatalf("want *FrameError, got %v", err)
			}
			if fe.Malformed != tt.malformed {
				t.Fatalf("malformed = %v, want %v (%v)", fe.Malformed, tt.malformed, fe)
			}
			if !strings.Contains(fe.Reason, tt.wantErr) {
				t.Fatalf("reason %q does not contain %q", fe.Reason, tt.wantErr)
			}
			if fe.ID != tt.wantID {
				t.Fatalf("id = %q, want %q", fe.ID, tt.wantID)
			}
		})
	}
}

func TestValidateParams(t *testing.T) {
	v := mustValidator(t)
	client := `"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"}`
	tests := []struct {
		method, params, want string
	}{
		{"connect", `{"minProtocol":4,"maxProtocol":4,` + client + `}`, ""},
		{"connect", `{"minProtocol":4,"maxProtocol":4}`, "must have required property 'client'"},
		{"connect", `{"minProtocol":4,"maxProtocol":4,"client":{"id":"nope","version":"1","platform":"linux","mode":"cli"}}`, "at /client/id: must be equal to one of the allowed values"},
		{"connect", `{"minProtocol":4,"maxProtocol":4,"client":{"id":"cli","version":"1","platform":"linux"}}`, "at /client: must have required property 'mode'"},
		{"connect", `{"minProtocol":"4","maxProtocol":4,` + client + `}`, "at /minProtocol: must be integer"},
		{"connect", `{"minProtocol":4,"maxProtocol":4,` + client + `,"auth":{"tok":"x"}}`, "at /auth: unexpected property 'tok'"},
		{"connect", `{"minProtocol":4,"maxProtocol":4,` + client + `,"bogus":1}`, "at root: unexpected property 'bogus'"},
		{"health", `{}`, ""},
		{"health", `{"probe":"yes"}`, "at /probe: must be boolean"},
		{"system-event", `{"text":"hi"}`, ""},
		{"system-event", `{"text":"   "}`, "at /text: must not be blank"},
		{"system-event", `{}`, "must have required property 'text'"},
		{"logs.tail", `{"limit":0}`, "at /limit: must be >= 1"},
		{"logs.tail", `{"limit":5001}`, "at /limit: must be <= 5000"},
		{"no-such-method", `{}`, ""},
		{"no-such-method", `{"a":1}`, "at root: no params accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.params, func(t *testing.T) {
			req, err := v.DecodeRequest([]byte(`{"type":"req","id":"1","method":"` + tt.method + `","params":` + tt.params + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := v.ValidateParams(tt.method, req.Params); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
