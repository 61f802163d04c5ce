package telegram_test

import (
	"net/http"
	"strings"
	"testing"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/provider/fakeprovider"
)

// The channel's traffic shows in /metrics: the update in, and every
// message the fake Bot API accepted (the reply's send and its edits) out.
func TestChannelMetrics(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM(""), replies: []fakeprovider.Reply{fakeprovider.Text("one two three four five", 5)}})
	r.linked(r.operator())

	r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, alice, "hi bot"))
	r.waitFor("the final reply", func() bool {
		ms := r.api.Messages(tokenA, chat)
		return len(ms) == 1 && strings.Contains(ms[0].Text, "five")
	})
	// What the Bot API accepted, counted by the fake; the client counts a
	// call once its answer is back, a moment after the fake has it.
	accepted := func() float64 {
		n := 0
		for _, method := range []string{"sendMessage", "editMessageText"} {
			for _, c := range r.api.Calls(tokenA, method) {
				if c.Status == http.StatusOK {
					n++
				}
			}
		}
		return float64(n)
	}
	var s gatewaytest.Scrape
	out := func() float64 {
		return s.Value(t, "openclaw_channel_updates_total", "channel", "telegram", "direction", "out")
	}
	r.waitFor("the sends and edits counted", func() bool {
		s = gatewaytest.ScrapeMetrics(t, r.gw.HTTP, "")
		return out() == accepted()
	})
	if out() < 1 {
		t.Errorf("messages out = %v, want the reply's", out())
	}
	if in := s.Value(t, "openclaw_channel_updates_total", "channel", "telegram", "direction", "in"); in != 1 {
		t.Errorf("updates in = %v, want 1", in)
	}
	if n := s.Value(t, "openclaw_runs_finished_total", "status", "ok"); n != 1 {
		t.Errorf("runs finished ok = %v, want the update's turn", n)
	}
}
