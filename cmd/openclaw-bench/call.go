package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lxzan/gws"
)

// callOnce opens one socket with the given scopes, sends one request and
// returns a copy of the response frame. It is for the few control calls a
// scenario makes (status before and after), not for load.
func callOnce(ctx context.Context, url, token string, scopes []string, method string, params any, timeout time.Duration) ([]byte, error) {
	b := newBench(url, token, false)
	b.connectFrame = connectFrame(token, scopes...)
	got := make(chan []byte, 1)
	const id = "q1"
	b.hooks = &hooks{frame: func(_ *bconn, f *frame, raw []byte) {
		if string(f.typ) == "res" && string(f.id) == id {
			select {
			case got <- append([]byte(nil), raw...):
			default:
			}
		}
	}, closed: func(*bconn, error, bool) bool { return true }}
	c, _, err := b.dial(ctx, timeout)
	if err != nil {
		return nil, err
	}
	defer b.closeAll([]*bconn{c}, 2*time.Second)
	req := map[string]any{"type": "req", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	frame, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := c.ws.WriteMessage(gws.OpcodeText, frame); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case raw := <-got:
		return raw, nil
	case <-t.C:
		return nil, fmt.Errorf("%s: no response within %s", method, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// gwStatus is what the status RPC says about the gateway's own process.
type gwStatus struct {
	ok         bool
	goroutines int64 // -1: not reported (the reference has no such field)
	rssBytes   int64 // -1: not reported
	heapBytes  int64 // -1: not reported
	conns      int64 // -1: not reported
}

// fetchStatus calls status (scope operator.read) and picks the memory
// figures (processMemory, as both gateways report it; goroutines from ours);
// a gateway that does not report them gives -1s, not an error.
func fetchStatus(ctx context.Context, url, token string) gwStatus {
	st := gwStatus{goroutines: -1, rssBytes: -1, heapBytes: -1, conns: -1}
	raw, err := callOnce(ctx, url, token, []string{"operator.read"}, "status", map[string]any{}, 10*time.Second)
	if err != nil {
		logf("  warning: status: %v", err)
		return st
	}
	var res struct {
		OK      bool `json:"ok"`
		Payload struct {
			Goroutines    *int64 `json:"goroutines"`
			ProcessMemory struct {
				RSSBytes  *int64 `json:"rssBytes"`
				HeapBytes *int64 `json:"heapUsedBytes"`
			} `json:"processMemory"`
			Connections struct {
				Total *int64 `json:"total"`
			} `json:"connections"`
		} `json:"payload"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || !res.OK {
		logf("  warning: status: %s", truncate(string(raw), 200))
		return st
	}
	st.ok = true
	if v := res.Payload.Goroutines; v != nil {
		st.goroutines = *v
	}
	if v := res.Payload.ProcessMemory.RSSBytes; v != nil {
		st.rssBytes = *v
	}
	if v := res.Payload.ProcessMemory.HeapBytes; v != nil {
		st.heapBytes = *v
	}
	if v := res.Payload.Connections.Total; v != nil {
		st.conns = *v
	}
	return st
}

// orNil turns the -1 of "not reported" into a JSON null.
func orNil(v int64) any {
	if v < 0 {
		return nil
	}
	return v
}

// mbOrNil is bytes in MB, or null when not reported.
func mbOrNil(b int64) any {
	if b < 0 {
		return nil
	}
	return mb(b / 1024)
}
