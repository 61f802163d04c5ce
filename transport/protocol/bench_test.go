package protocol

import (
	"testing"
)

var (
	benchHealth  = []byte(`{"type":"req","id":"2:6712725a-0ab4-4755-8cb0-09acc801801f","method":"health"}`)
	benchConnect = []byte(`{"type":"req","id":"1:6712725a-0ab4-4755-8cb0-09acc801801f","method":"connect","params":{"minProtocol":4,"maxProtocol":4,"client":{"id":"cli","version":"2026.9.6","platform":"linux","deviceFamily":"Linux","mode":"cli","instanceId":"094ab4e5-d647-4762-9292-ca136b53373a"},"caps":[],"auth":{"token":"secrettoken123"},"role":"operator","scopes":["operator.read"]}}`)
)

// BenchmarkDecodeRequest is the per-frame cost on the read path: parse and
// validate the envelope.
func BenchmarkDecodeRequest(b *testing.B) {
	v := mustValidator(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchHealth)))
	for b.Loop() {
		if _, err := v.DecodeRequest(benchHealth); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAndValidateConnect is the handshake's frame work: envelope
// plus the connect params schema.
func BenchmarkDecodeAndValidateConnect(b *testing.B) {
	v := mustValidator(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchConnect)))
	for b.Loop() {
		req, err := v.DecodeRequest(benchConnect)
		if err != nil {
			b.Fatal(err)
		}
		if p := v.ValidateParams("connect", req.Params); p != "" {
			b.Fatal(p)
		}
	}
}

// BenchmarkBroadcastPerRecipient is what fan-out adds per socket once the
// payload is encoded: the seq middle part only.
func BenchmarkBroadcastPerRecipient(b *testing.B) {
	roster := make([]map[string]any, 50)
	for i := range roster {
		roster[i] = map[string]any{"host": "host", "mode": "ui", "ts": 1795548797178, "reason": "connect", "text": "Operator: x · mode ui"}
	}
	bc := NewBroadcast("presence", map[string]any{"presence": roster}, &StateVersion{Presence: 3, Health: 1})
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	var seq int64
	for b.Loop() {
		seq++
		buf = AppendSeq(buf[:0], seq)
	}
	_ = bc
}

// BenchmarkNewBroadcast is the once-per-broadcast encoding of a 50-row roster.
func BenchmarkNewBroadcast(b *testing.B) {
	roster := make([]map[string]any, 50)
	for i := range roster {
		roster[i] = map[string]any{"host": "host", "mode": "ui", "ts": 1795548797178, "reason": "connect", "text": "Operator: x · mode ui"}
	}
	payload := map[string]any{"presence": roster}
	b.ReportAllocs()
	for b.Loop() {
		NewBroadcast("presence", payload, &StateVersion{Presence: 3, Health: 1})
	}
}
