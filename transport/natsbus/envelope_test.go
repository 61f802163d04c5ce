package natsbus

import (
	"reflect"
	"testing"

	"openclaw/transport/protocol"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		bs   []*protocol.Broadcast
	}{
		{"one", []*protocol.Broadcast{protocol.NewBroadcast("node.pair.requested", map[string]string{"nodeId": "n"}, nil)}},
		{"a delta pair", []*protocol.Broadcast{
			{Event: "agent", Head: []byte(`{"type":"event","event":"agent","payload":{"runId":"r","seq":3}`), Tail: []byte("}"),
				Scope: "operator.read", Run: "r", Session: "agent:main:main"},
			{Event: "chat", Head: []byte(`{"type":"event","event":"chat","payload":{"é":"\u0000"}`), Tail: []byte("}"),
				Scope: "operator.read", Run: "r", Session: "agent:main:main", Droppable: true},
		}},
		{"flags and topic", []*protocol.Broadcast{{Event: "sessions.changed", Head: []byte("{"), Tail: []byte(`,"stateVersion":{"presence":1,"health":2}}`),
			Topic: "sessions", NodesToo: true, Droppable: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeBroadcasts(EncodeBroadcasts(tc.bs...))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.bs) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.bs)
			}
		})
	}
}

func TestEnvelopeRejectsMalformed(t *testing.T) {
	good := EncodeBroadcasts(protocol.NewBroadcast("cron", map[string]int{"n": 1}, nil))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"wrong version", append([]byte{9}, good[1:]...)},
		{"no broadcasts", []byte{envelopeVersion, 0}},
		{"truncated", good[:len(good)-3]},
		{"length past the end", []byte{envelopeVersion, 1, 0, 0xff, 0x7f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bs, err := DecodeBroadcasts(tc.data); err == nil {
				t.Fatalf("decoded %+v from %q", bs, tc.data)
			}
		})
	}
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"host.example.com-18789": "host-example-com-18789", "gw_a-1": "gw_a-1", "a b*>": "a-b--"} {
		if got := Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}
