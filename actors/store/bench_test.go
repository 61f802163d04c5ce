package store

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
)

// Every Append is durable when it returns (WAL fsync at commit), so the
// sequential figure is one fsync per op; the parallel one shows group commit
// (see commits/op).

func benchMsg(key string) Message {
	return Message{
		SessionKey: key,
		Role:       "assistant",
		Content:    json.RawMessage(`[{"type":"text","text":"Hello! How can I help you today? This is a typical short reply."}]`),
		Provider:   "anthropic",
		Model:      "claude-sonnet",
		StopReason: "end_turn",
		Usage:      json.RawMessage(`{"input":1200,"output":18,"total":1218}`),
	}
}

func reportCommits(b *testing.B, s *SQLite, before Stats) {
	st := s.Stats()
	b.ReportMetric(float64(st.Commits-before.Commits)/float64(b.N), "commits/op")
}

func BenchmarkAppend(b *testing.B) {
	s := openT(b)
	m := benchMsg("agent:main:main")
	before := s.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Append(bg, m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCommits(b, s, before)
}

func BenchmarkAppendParallel(b *testing.B) {
	s := openT(b)
	var next atomic.Int64
	before := s.Stats()
	b.ReportAllocs()
	b.SetParallelism(16) // 16 × GOMAXPROCS appenders, as from many sessions' actors
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		m := benchMsg(fmt.Sprintf("agent:main:bench:%d", next.Add(1)))
		for pb.Next() {
			if _, err := s.Append(bg, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportCommits(b, s, before)
}

// BenchmarkHistory is chat.history's read: the last 200 of 1,000 messages.
func BenchmarkHistory(b *testing.B) {
	s := openT(b)
	const key = "agent:main:main"
	for i := range 1000 {
		if i%2 == 0 {
			s.AppendAsync(userMsg(key, fmt.Sprintf("question %d", i)), nil)
		} else {
			s.AppendAsync(benchMsg(key), nil)
		}
	}
	if _, err := s.Append(bg, userMsg(key, "last")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		msgs, total, err := s.History(bg, key, 200)
		if err != nil || len(msgs) != 200 || total != 1001 {
			b.Fatalf("%d %d %v", len(msgs), total, err)
		}
	}
}
