package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// Browser bounds.
const (
	// browserStartTimeout bounds Chromium's start until DevTools answers.
	browserStartTimeout = 30 * time.Second
	// cdpCallTimeout bounds one DevTools command.
	cdpCallTimeout = 30 * time.Second
)

// chromiumFlags keep headless Chromium quiet and local: no sandbox (we run
// as root in a VM), no GPU, no background traffic.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
	"--disable-features=Translate,MediaRouter,OptimizationHints", "--window-size=1400,900", "--remote-debugging-port=0"}

// browser is a headless Chromium driven over the DevTools protocol (a few
// commands over one WebSocket: enough to navigate, evaluate, type and take
// screenshots).
type browser struct {
	marker  string
	cmd     *exec.Cmd
	dir     string
	exited  chan struct{}
	conn    *gws.Conn
	next    atomic.Int64
	mu      sync.Mutex
	pending map[int64]chan cdpMessage
	closed  chan struct{}
	evMu    sync.Mutex
	console []string // console errors, exceptions and log entries, in order
}

type cdpMessage struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func startBrowser(ctx context.Context, bin string) (*browser, error) {
	dir, err := os.MkdirTemp("", "refrecord-chromium-")
	if err != nil {
		return nil, err
	}
	b := &browser{dir: dir, exited: make(chan struct{}), pending: map[int64]chan cdpMessage{}, closed: make(chan struct{})}
	args := append(append([]string(nil), chromiumFlags...), "--user-data-dir="+dir, "about:blank")
	b.cmd = exec.Command(bin, args...)
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	b.marker = newMarker()
	b.cmd.Env = append(os.Environ(), "HOME="+dir, b.marker)
	if err := b.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w (install it with apt-get install -y chromium)", bin, err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()

	deadline := time.Now().Add(browserStartTimeout)
	var port string
	for port == "" {
		if data, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if p, _, ok := strings.Cut(string(data), "\n"); ok {
				port = p
			}
		}
		if port != "" {
			break
		}
		select {
		case <-b.exited:
			return nil, errors.New("chromium exited at start")
		case <-ctx.Done():
			b.close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.close()
			return nil, fmt.Errorf("chromium: no DevToolsActivePort within %s", browserStartTimeout)
		}
	}
	wsURL, err := pageTarget(ctx, port)
	if err != nil {
		b.close()
		return nil, err
	}
	conn, _, err := gws.NewClient(b, &gws.ClientOption{Addr: wsURL, HandshakeTimeout: 10 * time.Second,
		PermessageDeflate: gws.PermessageDeflate{Enabled: false}, ReadMaxPayloadSize: 256 << 20})
	if err != nil {
		b.close()
		return nil, fmt.Errorf("devtools: %w", err)
	}
	b.conn = conn
	go conn.ReadLoop()
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if _, err := b.call(ctx, m, nil); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

// pageTarget finds the DevTools WebSocket of the first page.
func pageTarget(ctx context.Context, port string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/json/list", nil)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(res.Body).Decode(&targets); err != nil {
		return "", err
	}
	for _, t := range targets {
		if t.Type == "page" {
			return t.WS, nil
		}
	}
	return "", errors.New("chromium has no page target")
}

func (b *browser) close() {
	if b.conn != nil {
		_ = b.conn.WriteClose(1000, nil)
	}
	if b.cmd != nil && b.cmd.Process != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.exited
		}
		killMarked(b.marker)
	}
	_ = os.RemoveAll(b.dir)
}

// call sends one DevTools command and waits for its result.
func (b *browser) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := b.next.Add(1)
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	b.pending[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
	}()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	data, _ := json.Marshal(msg)
	if err := b.conn.WriteMessage(gws.OpcodeText, data); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, cdpCallTimeout)
	defer cancel()
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-b.closed:
		return nil, fmt.Errorf("%s: devtools connection closed", method)
	case <-cctx.Done():
		return nil, fmt.Errorf("%s: %w", method, cctx.Err())
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into out (when not nil).
func (b *browser) eval(ctx context.Context, expr string, out any) error {
	res, err := b.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("javascript: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// screenshot saves a PNG of the page.
func (b *browser) screenshot(ctx context.Context, path string) error {
	res, err := b.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// typeText inserts text at the focused element, then presses Enter when
// enter is set.
func (b *browser) typeText(ctx context.Context, text string, enter bool) error {
	if _, err := b.call(ctx, "Input.insertText", map[string]any{"text": text}); err != nil {
		return err
	}
	if !enter {
		return nil
	}
	for _, typ := range []string{"keyDown", "keyUp"} {
		if _, err := b.call(ctx, "Input.dispatchKeyEvent", map[string]any{"type": typ, "key": "Enter", "code": "Enter",
			"windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13, "text": "\r"}); err != nil {
			return err
		}
	}
	return nil
}

// consoleSince returns the console lines logged after mark, and the new mark.
func (b *browser) consoleSince(mark int) ([]string, int) {
	b.evMu.Lock()
	defer b.evMu.Unlock()
	if mark > len(b.console) {
		mark = len(b.console)
	}
	return append([]string(nil), b.console[mark:]...), len(b.console)
}

// gws callbacks.

func (b *browser) OnOpen(*gws.Conn) {}
func (b *browser) OnClose(*gws.Conn, error) {
	select {
	case <-b.closed:
	default:
		close(b.closed)
	}
}
func (b *browser) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }
func (b *browser) OnPong(*gws.Conn, []byte)     {}
func (b *browser) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	var msg cdpMessage
	if json.Unmarshal(m.Bytes(), &msg) != nil {
		return
	}
	if msg.ID != 0 {
		b.mu.Lock()
		ch := b.pending[msg.ID]
		b.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
		return
	}
	var line string
	switch msg.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(msg.Params, &p)
		if p.Type != "error" && p.Type != "warning" {
			return
		}
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + p.Type + ": " + strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(msg.Params, &p)
		line = "exception: " + p.ExceptionDetails.Text + " " + firstLine(p.ExceptionDetails.Exception.Description)
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(msg.Params, &p)
		if p.Entry.Level != "error" && p.Entry.Level != "warning" {
			return
		}
		line = "log." + p.Entry.Level + " (" + p.Entry.Source + "): " + p.Entry.Text
	default:
		return
	}
	b.evMu.Lock()
	b.console = append(b.console, line)
	b.evMu.Unlock()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// waitFor evaluates expr until it is true (or d passes).
func (b *browser) waitFor(ctx context.Context, expr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var ok bool
		if err := b.eval(ctx, expr, &ok); err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not true within %s", trunc(expr, 60), d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
