package telegram_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"openclaw/transport/provider/fakeprovider"
)

// BenchmarkIngest: updates per second the channel commits to its durable
// queue (getUpdates → EnqueueBatch with the next offset), through the fake
// Bot API over HTTP. Each op is one update; the drain skips them quickly
// (dmPolicy disabled), so the figure is the ingest path.
func BenchmarkIngest(b *testing.B) {
	r := newRig(b, rigOpts{telegram: `{botToken: "` + tokenA + `", apiRoot: "%API%", dmPolicy: "disabled"}`})
	r.polling()
	st := r.gw.Store()
	b.ResetTimer()
	last := int64(0)
	const batch = 100
	for pushed := 0; pushed < b.N; pushed += batch {
		n := min(batch, b.N-pushed)
		for range n {
			u := r.api.TextUpdate(tokenA, int64(1+pushed%50), 7, "x")
			r.api.Push(tokenA, u)
		}
		last = r.api.NextUpdateID(tokenA) - 1
	}
	ctx := context.Background()
	if !r.api.WaitFor(60*time.Second, func() bool {
		v, _, _ := st.Get(ctx, "telegram.offset", "default")
		n, _ := strconv.ParseInt(string(v), 10, 64)
		return n > last
	}) {
		b.Fatal("updates not all committed")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkFirstReply: time from an update reaching the Bot API to the first
// reply message in the chat, with an instant provider (polling mode).
func BenchmarkFirstReply(b *testing.B) {
	r := newRig(b, rigOpts{telegram: `{botToken: "` + tokenA + `", apiRoot: "%API%", dmPolicy: "open", allowFrom: ["*"]}`})
	r.fp.SetDefault(fakeprovider.Text("an instant answer in a few pieces", 4))
	r.polling()
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		chat := int64(10000 + i)
		start := time.Now()
		r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, chat, "hi"))
		if !r.api.WaitFor(10*time.Second, func() bool { return len(r.api.Messages(tokenA, chat)) > 0 }) {
			b.Fatal("no reply")
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/first-reply")
}
