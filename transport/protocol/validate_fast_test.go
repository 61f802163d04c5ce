package protocol

import (
	"encoding/json"
	"testing"
)

// plainFrame agrees with the frame schema on the shapes near its edges; a
// frame it declines still goes to the schema, so only "true" must match.
func TestPlainFrameAgreesWithSchema(t *testing.T) {
	v := mustValidator(t)
	cases := []struct {
		frame string
		plain bool
	}{
		{`{"type":"req","id":"1","method":"health"}`, true},
		{`{"type":"req","id":"1","method":"health","params":{}}`, true},
		{`{"type":"req","id":"1","method":"health","params":null}`, true},
		{`{"type":"req","id":"1","method":"x","traceparent":"00-abc"}`, true},
		{`{"type":"req","id":"1","method":"x","traceparent":"` + repeat("é", 128) + `"}`, true},
		{`{"type":"req","id":"1","method":"x","traceparent":"` + repeat("é", 129) + `"}`, false},
		{`{"type":"req","id":"","method":"health"}`, false},
		{`{"type":"req","id":1,"method":"health"}`, false},
		{`{"type":"res","id":"1","method":"health"}`, false},
		{`{"type":"req","id":"1"}`, false},
		{`{"type":"req","id":"1","method":"health","extra":1}`, false},
		{`{"id":"1","method":"health"}`, false},
		{`{"type":"req","id":"1","method":"","params":{}}`, false},
		{`{"type":"req","id":"1","method":"x","traceparent":7}`, false},
	}
	for _, tc := range cases {
		var obj map[string]any
		if err := json.Unmarshal([]byte(tc.frame), &obj); err != nil {
			t.Fatal(err)
		}
		if got := plainFrame(obj); got != tc.plain {
			t.Errorf("plainFrame(%s) = %v, want %v", tc.frame, got, tc.plain)
		}
		if schemaOK := mustFrame(t, v).ValidateMap(obj).IsValid(); tc.plain && !schemaOK {
			t.Errorf("the schema refuses %s", tc.frame)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
