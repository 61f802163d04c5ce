package jsstore

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"openclaw/actors/store"
	"openclaw/actors/store/jsstore/natstest"
)

// Against one local nats-server (R1, loopback TCP): an append is three
// round trips (read the session entry, create the message entry, update the
// session entry); History reads its page with one batched direct get.

func benchMsg(key string) store.Message {
	return store.Message{
		SessionKey: key,
		Role:       "assistant",
		Content:    json.RawMessage(`[{"type":"text","text":"Hello! How can I help you today? This is a typical short reply."}]`),
		Provider:   "anthropic",
		Model:      "claude-sonnet",
		StopReason: "end_turn",
		Usage:      json.RawMessage(`{"input":1200,"output":18,"total":1218}`),
	}
}

func benchStore(b *testing.B) *Store {
	s, err := Open(bg, natstest.Connect(b, natstest.Start(b)), Config{Cluster: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkAppend(b *testing.B) {
	s := benchStore(b)
	m := benchMsg("agent:main:main")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(bg, m); err != nil {
			b.Fatal(err)
		}
	}
}

// Many sessions' turns at once, as from many run actors.
func BenchmarkAppendParallel(b *testing.B) {
	s := benchStore(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		m := benchMsg(fmt.Sprintf("agent:main:bench:%d", next.Add(1)))
		for pb.Next() {
			if _, err := s.Append(bg, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// chat.history's default page (200) of a 1,000-message transcript.
func BenchmarkHistory200(b *testing.B) {
	s := benchStore(b)
	m := benchMsg("agent:main:main")
	for range 1000 {
		if _, err := s.Append(bg, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		msgs, total, err := s.History(bg, "agent:main:main", 200)
		if err != nil || len(msgs) != 200 || total != 1000 {
			b.Fatalf("%d messages, total %d, %v", len(msgs), total, err)
		}
	}
}
