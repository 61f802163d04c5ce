package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Tap bounds.
const (
	// tapDialTimeout bounds the tap's dial to the gateway.
	tapDialTimeout = 5 * time.Second
	// maxHTTPBodyLog is how much of an HTTP response body the tap keeps for
	// the record (the Control UI's assets are megabytes; the record only
	// needs their size).
	maxHTTPBodyLog = 4 << 10
	// tapDrain is how long the other direction of a WebSocket gets to
	// finish (a close answering a close) after one direction ended.
	tapDrain = 2 * time.Second
)

// Entry is one thing the tap saw: a WebSocket message (Frame), a close, or
// an HTTP exchange.
type Entry struct {
	N    int    `json:"n"`    // order seen, from 1
	Conn int    `json:"conn"` // connection number, from 1
	Dir  string `json:"dir"`  // "c2s" (client to gateway) or "s2c"
	// Frame is the JSON text of a text message.
	Frame json.RawMessage `json:"frame,omitempty"`
	// Close is set for a close frame.
	Close *CloseInfo `json:"close,omitempty"`
	// HTTP is set for an HTTP exchange (Dir "c2s").
	HTTP *HTTPExchange `json:"http,omitempty"`

	at time.Time
}

// CloseInfo is a close frame's code and reason.
type CloseInfo struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// HTTPExchange is one HTTP request through the tap and the gateway's answer.
type HTTPExchange struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Status  int               `json:"status"`
	Header  map[string]string `json:"header"`
	Size    int64             `json:"size"`
	Upgrade bool              `json:"upgrade,omitempty"`
	// Body is the start of a textual body (HTML, JSON), for the record.
	Body string `json:"body,omitempty"`
}

// frameHead is the part of a frame the tap looks at.
type frameHead struct {
	Type   string          `json:"type"`
	ID     string          `json:"id"`
	Method string          `json:"method"`
	Event  string          `json:"event"`
	OK     *bool           `json:"ok"`
	Params json.RawMessage `json:"params"`
}

// FrameLog is everything a tap saw, in order; readers can wait for an entry.
type FrameLog struct {
	mu      sync.Mutex
	entries []Entry
	conns   map[int]string // connection number → label from its connect frame
	changed chan struct{}
}

func newFrameLog() *FrameLog {
	return &FrameLog{conns: map[int]string{}, changed: make(chan struct{})}
}

func (l *FrameLog) add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.N = len(l.entries) + 1
	e.at = time.Now()
	if e.Dir == "c2s" && e.Frame != nil {
		var h frameHead
		if json.Unmarshal(e.Frame, &h) == nil && h.Method == "connect" {
			var p struct {
				Role   string `json:"role"`
				Client struct {
					ID   string `json:"id"`
					Mode string `json:"mode"`
				} `json:"client"`
			}
			_ = json.Unmarshal(h.Params, &p)
			role := p.Role
			if role == "" {
				role = "operator"
			}
			l.conns[e.Conn] = p.Client.ID + "/" + p.Client.Mode + "/" + role
		}
	}
	l.entries = append(l.entries, e)
	close(l.changed)
	l.changed = make(chan struct{})
}

// Len is how many entries there are so far: a mark to read from later.
func (l *FrameLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Since returns a copy of the entries after mark.
func (l *FrameLog) Since(mark int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mark > len(l.entries) {
		mark = len(l.entries)
	}
	return append([]Entry(nil), l.entries[mark:]...)
}

// Label is the client id/mode/role a connection announced in connect.
func (l *FrameLog) Label(conn int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[conn]
}

// Wait returns the first entry after mark for which match is true, waiting
// for it until ctx ends. match runs without the log's lock held, so it may
// call the log (Label).
func (l *FrameLog) Wait(ctx context.Context, mark int, match func(Entry) bool) (Entry, error) {
	for {
		l.mu.Lock()
		if mark > len(l.entries) {
			mark = len(l.entries)
		}
		// Entries are never changed once appended: the slice stays valid
		// after the lock is released.
		pending := l.entries[mark:len(l.entries):len(l.entries)]
		ch := l.changed
		l.mu.Unlock()
		for _, e := range pending {
			if match(e) {
				return e, nil
			}
		}
		mark += len(pending)
		select {
		case <-ch:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// Tap is a transparent proxy in front of the gateway: HTTP requests and
// WebSocket connections pass through unchanged (except that no WebSocket
// extension is negotiated, so frames stay readable), and every message both
// ways is logged.
type Tap struct {
	Log      *FrameLog
	Addr     string // host:port clients dial
	upstream string
	ln       net.Listener
	mu       sync.Mutex
	nconn    int
	open     map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// startTap listens on a free loopback port and forwards to upstream
// (host:port).
func startTap(upstream string) (*Tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &Tap{Log: newFrameLog(), Addr: ln.Addr().String(), upstream: upstream, ln: ln, open: map[net.Conn]struct{}{}}
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

// URL is the WebSocket URL of the tap.
func (t *Tap) URL() string { return "ws://" + t.Addr }

// Close stops listening and cuts every connection.
func (t *Tap) Close() {
	_ = t.ln.Close()
	t.mu.Lock()
	for c := range t.open {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

func (t *Tap) track(c net.Conn, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		t.open[c] = struct{}{}
	} else {
		delete(t.open, c)
	}
}

func (t *Tap) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.mu.Lock()
		t.nconn++
		id := t.nconn
		t.mu.Unlock()
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.serve(id, c)
		}()
	}
}

// serve proxies one client TCP connection: HTTP requests one after the
// other (keep-alive), until one is a WebSocket upgrade, which then carries
// frames until either side closes.
func (t *Tap) serve(id int, client net.Conn) {
	t.track(client, true)
	defer t.track(client, false)
	defer client.Close()
	up, err := net.DialTimeout("tcp", t.upstream, tapDialTimeout)
	if err != nil {
		return
	}
	t.track(up, true)
	defer t.track(up, false)
	defer up.Close()
	cr, ur := bufio.NewReader(client), bufio.NewReader(up)
	for {
		req, err := http.ReadRequest(cr)
		if err != nil {
			return
		}
		wsUpgrade := strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
		if wsUpgrade {
			req.Header.Del("Sec-WebSocket-Extensions")
		}
		if err := req.Write(up); err != nil {
			return
		}
		res, err := http.ReadResponse(ur, req)
		if err != nil {
			return
		}
		ex := &HTTPExchange{Method: req.Method, Path: req.URL.RequestURI(), Status: res.StatusCode,
			Header: flatHeader(res.Header), Upgrade: wsUpgrade}
		if res.StatusCode == http.StatusSwitchingProtocols {
			t.Log.add(Entry{Conn: id, Dir: "c2s", HTTP: ex})
			if err := res.Write(client); err != nil {
				return
			}
			t.pipeWS(id, cr, client, ur, up)
			return
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
		_ = res.Body.Close()
		if err != nil {
			return
		}
		ex.Size = int64(len(body))
		if textual(res.Header.Get("Content-Type")) && res.Header.Get("Content-Encoding") == "" {
			ex.Body = string(body[:min(len(body), maxHTTPBodyLog)])
		}
		t.Log.add(Entry{Conn: id, Dir: "c2s", HTTP: ex})
		res.Body = io.NopCloser(strings.NewReader(string(body)))
		res.ContentLength = int64(len(body))
		res.TransferEncoding = nil
		if err := res.Write(client); err != nil {
			return
		}
		if res.Close || req.Close {
			return
		}
	}
}

func textual(ct string) bool {
	return strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json")
}

func flatHeader(h http.Header) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		switch k {
		case "Date", "Keep-Alive", "Connection", "Sec-Websocket-Accept":
			continue
		}
		m[k] = strings.Join(v, ", ")
	}
	return m
}

// pipeWS forwards frames both ways until either side ends.
func (t *Tap) pipeWS(id int, cr *bufio.Reader, client net.Conn, ur *bufio.Reader, up net.Conn) {
	done := make(chan struct{}, 2)
	go func() { t.copyFrames(id, "c2s", cr, up); done <- struct{}{} }()
	go func() { t.copyFrames(id, "s2c", ur, client); done <- struct{}{} }()
	<-done
	// One side ended: let the other drain briefly (a close answers a close),
	// then cut both.
	select {
	case <-done:
		_ = client.Close()
		_ = up.Close()
	case <-time.After(tapDrain):
		_ = client.Close()
		_ = up.Close()
		<-done
	}
}

func (t *Tap) copyFrames(id int, dir string, r *bufio.Reader, w net.Conn) {
	var a assembler
	for {
		f, err := readFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.Log.add(Entry{Conn: id, Dir: dir, Close: &CloseInfo{Code: -1, Reason: "tap: " + err.Error()}})
			}
			return
		}
		// Log before forwarding, so that the log keeps causal order: an
		// answer to this frame can only be logged after it.
		switch f.opcode {
		case opClose:
			code, reason := closePayload(f.payload)
			t.Log.add(Entry{Conn: id, Dir: dir, Close: &CloseInfo{Code: code, Reason: reason}})
		case opPing, opPong:
		default:
			if op, msg, ok := a.add(f); ok && op == opText {
				if json.Valid(msg) {
					t.Log.add(Entry{Conn: id, Dir: dir, Frame: json.RawMessage(msg)})
				} else {
					b, _ := json.Marshal(string(msg))
					t.Log.add(Entry{Conn: id, Dir: dir, Frame: b})
				}
			}
		}
		if _, err := w.Write(f.raw); err != nil {
			return
		}
	}
}

// describe is a one-line summary of an entry, for progress output.
func (e Entry) describe() string {
	switch {
	case e.HTTP != nil:
		return fmt.Sprintf("#%d %s %s → %d", e.Conn, e.HTTP.Method, e.HTTP.Path, e.HTTP.Status)
	case e.Close != nil:
		return fmt.Sprintf("#%d %s close %d %s", e.Conn, e.Dir, e.Close.Code, e.Close.Reason)
	}
	var h frameHead
	_ = json.Unmarshal(e.Frame, &h)
	switch h.Type {
	case "req":
		return fmt.Sprintf("#%d %s req %s", e.Conn, e.Dir, h.Method)
	case "res":
		ok := h.OK != nil && *h.OK
		return fmt.Sprintf("#%d %s res %s ok=%v", e.Conn, e.Dir, h.ID, ok)
	case "event":
		return fmt.Sprintf("#%d %s event %s", e.Conn, e.Dir, h.Event)
	}
	return fmt.Sprintf("#%d %s %s", e.Conn, e.Dir, string(e.Frame))
}
