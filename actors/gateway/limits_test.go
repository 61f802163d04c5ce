package gateway_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openclaw/actors/conn"
	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/store"
	"openclaw/transport/protocol"
)

// TestPresenceBounded: what a client puts into the roster, which every
// reader receives, is cut to its limits; a note past the schema's limit is
// refused with an error frame, and the socket stays.
func TestPresenceBounded(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	long := strings.Repeat("é", 30000) // 60,000 bytes
	if f := adm.Call("e", "system-event", map[string]any{"text": long, "host": strings.Repeat("h", 5000),
		"tags": make([]string, 500)}); !f.OK {
		t.Fatalf("system-event: %s", f.Raw)
	}
	rows := gatewaytest.Decode[[]protocol.PresenceEntry](t, adm.Call("p", "system-presence", nil).Payload)
	var row *protocol.PresenceEntry
	for i := range rows {
		if strings.HasPrefix(rows[i].Host, "hhh") {
			row = &rows[i]
		}
	}
	if row == nil {
		t.Fatalf("no row for the event: %+v", rows)
	}
	if len(row.Text) > 1024 || !strings.HasSuffix(row.Text, "…") || !strings.HasPrefix(row.Text, "éé") || len(row.Host) > 256 || len(row.Tags) > 32 {
		t.Fatalf("row not bounded: text %d bytes, host %d, tags %d", len(row.Text), len(row.Host), len(row.Tags))
	}
	f := adm.Call("big", "system-event", map[string]any{"text": strings.Repeat("x", 70000)})
	if f.OK || f.Error.Code != "INVALID_REQUEST" || !strings.Contains(f.Error.Message, "at /text") {
		t.Fatalf("oversize note: %s", f.Raw)
	}
	if f := adm.Call("h", "health", nil); !f.OK {
		t.Fatalf("socket broken after a refused note: %s", f.Raw)
	}
}

// TestInflightBound: past MaxInflight unanswered requests on one socket, a
// request is refused at once (UNAVAILABLE, retryable) instead of queued;
// every request gets an answer, and the owner sees at most the bound.
func TestInflightBound(t *testing.T) {
	var calls atomic.Int64
	gw := gatewaytest.Start(t, withTestMethods(&calls))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	const n = conn.DefaultMaxInflight + 50
	var batch strings.Builder
	for i := 0; i < n; i++ {
		batch.WriteString(`{"type":"req","id":"s` + itoa(i) + `","method":"test.slow"}`)
		adm.Send(batch.String())
		batch.Reset()
	}
	ok, refused := 0, 0
	for ok+refused < n {
		f := adm.Next()
		switch {
		case f.Type != "res":
		case f.OK:
			ok++
		case f.Error.Code == "UNAVAILABLE" && f.Error.Details["code"] == "TOO_MANY_REQUESTS" && f.Error.RetryAfterMs != nil:
			refused++
		default:
			t.Fatalf("unexpected answer: %s", f.Raw)
		}
	}
	if ok != conn.DefaultMaxInflight || refused != n-conn.DefaultMaxInflight || calls.Load() != int64(ok) {
		t.Fatalf("%d answered, %d refused, %d reached the owner; want %d, %d, %d", ok, refused, calls.Load(),
			conn.DefaultMaxInflight, n-conn.DefaultMaxInflight, conn.DefaultMaxInflight)
	}
}

// TestClosedSocketDropsQueuedWork: a client that pipelines thousands of
// requests and leaves does not keep the gateway working on them: what was
// not dispatched when the socket closed is dropped.
func TestClosedSocketDropsQueuedWork(t *testing.T) {
	var calls atomic.Int64
	gw := gatewaytest.Start(t, withTestMethods(&calls))
	w, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	var batch strings.Builder
	for i := 0; i < 5000; i++ {
		batch.WriteString(`{"type":"req","id":"x` + itoa(i) + `","method":"test.slow"}`)
		w.Send(batch.String())
		batch.Reset()
	}
	w.NetConn().Close()
	// Once the gateway has seen the close, nothing more starts.
	fresh, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := gatewaytest.Decode[protocol.Status](t, fresh.Call("s", "status", nil).Payload)
		if st.Connections.Total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed socket is still registered: %+v", st.Connections)
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := calls.Load()
	time.Sleep(700 * time.Millisecond) // two rounds of the owner's 300 ms
	if n := calls.Load(); n != seen || n > 5000/4 {
		t.Fatalf("work went on after the client left: %d requests reached the owner, %d after the close was seen", n, n-seen)
	}
}

// TestHistoryFitsTheFrame: chat.history of a session whose messages add up
// to more than the budget answers the newest that fit, with hasMore, in a
// frame under the budget; maxBytes narrows it.
func TestHistoryFitsTheFrame(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	ctx := context.Background()
	big, _ := json.Marshal(strings.Repeat("m", 1<<20))
	for i := 0; i < 12; i++ { // 12 MiB
		if _, err := gw.Store().Append(ctx, store.Message{SessionKey: "agent:main:big", Role: "user", Content: big, RunID: "r" + itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	for _, c := range []struct {
		maxBytes int
		want     int
	}{{0, 7}, {3 << 20, 2}, {1024, 1}} {
		params := map[string]any{"sessionKey": "agent:main:big"}
		if c.maxBytes > 0 {
			params["maxBytes"] = c.maxBytes
		}
		f := rd.Call("h", "chat.history", params)
		if !f.OK || len(f.Raw) > 8<<20+4096 {
			t.Fatalf("maxBytes %d: ok=%v, %d bytes", c.maxBytes, f.OK, len(f.Raw))
		}
		h := gatewaytest.Decode[protocol.ChatHistory](t, f.Payload)
		if len(h.Messages) != c.want || !h.HasMore || h.TotalMessages != 12 || h.Messages[len(h.Messages)-1].RunID != "r11" {
			t.Fatalf("maxBytes %d: %d messages (want %d), hasMore %v, total %d, last %s", c.maxBytes, len(h.Messages), c.want,
				h.HasMore, h.TotalMessages, h.Messages[len(h.Messages)-1].RunID)
		}
	}
}

// TestLogsTailPipelined: many pipelined logs.tail calls are all answered
// (reads run a few at a time, the rest wait their turn).
func TestLogsTailPipelined(t *testing.T) {
	file := t.TempDir() + "/gw.log"
	if err := writeLines(file, 2000); err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.LogFile = func() string { return file } })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	const n = 100
	for i := 0; i < n; i++ {
		adm.Send(`{"type":"req","id":"l` + itoa(i) + `","method":"logs.tail","params":{"limit":5000}}`)
	}
	for got := 0; got < n; {
		if f := adm.Next(); f.Type == "res" {
			if !f.OK {
				t.Fatalf("logs.tail: %s", f.Raw)
			}
			got++
		}
	}
}

// writeLines writes n JSON log records to path.
func writeLines(path string, n int) error {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(`{"level":"INFO","msg":"line ` + itoa(i) + `"}` + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// TestRequestOverTheMethodsLimit: a frame larger than its method takes is
// refused by its size, before its params are validated (which costs time in
// proportion to their size), and the socket stays.
func TestRequestOverTheMethodsLimit(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	f := adm.Call("big", "health", map[string]any{"x": strings.Repeat("a", 2<<20)})
	if f.OK || f.Error.Code != "INVALID_REQUEST" || f.Error.Details["code"] != "REQUEST_TOO_LARGE" {
		t.Fatalf("a 2 MiB health: %.300s", f.Raw)
	}
	if f := adm.Call("h", "health", nil); !f.OK {
		t.Fatalf("socket broken: %s", f.Raw)
	}
}
