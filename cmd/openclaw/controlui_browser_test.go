package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

const builtinToken = "builtin-ui-token-0123456789"

// TestBuiltinControlUI: the page built into the gateway, in a real Chromium
// against the real binary, used as a person would: it connects with the
// token from the URL (and forgets the URL's copy), shows presence change
// when another client connects, streams a chat reply, stops a run, and
// approves a node's pending commands. A phone-sized window, so the layout
// that is tested is the narrow one.
func TestBuiltinControlUI(t *testing.T) {
	const reply = "Streaming words from the fake model."
	gate := make(chan struct{})
	fp := fakeprovider.New(t,
		// The first turn stops after two deltas until the test lets it go.
		fakeprovider.Reply{Text: reply, Deltas: 5, Hold: gate, HoldAfter: 3},
		// The second never finishes: the page stops it.
		fakeprovider.Reply{Text: "this turn is stopped halfway", Deltas: 5, Fault: fakeprovider.Stall, FaultAfter: 3})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "mock/mock-1"}}},
	}`, fp.URL)
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gwOptions{Token: builtinToken, StateDir: dir, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	b := newBrowser(t, 412, 915) // a phone

	// Connect: the token comes in the fragment, is remembered, and leaves
	// the address bar.
	b.run("open the page", chromedp.Navigate(g.HTTP+"/#token="+builtinToken))
	b.waitText("connected", "Connected to")
	var where struct {
		Hash  string `json:"hash"`
		Saved string `json:"saved"`
	}
	b.eval("the token", `({hash: location.hash, saved: localStorage.getItem('openclaw.token')})`, &where)
	if where.Hash != "" || where.Saved != builtinToken {
		t.Errorf("after connecting: location.hash %q, remembered token %q", where.Hash, where.Saved)
	}
	b.shot("connected")
	var overflow bool
	b.eval("the layout", `document.documentElement.scrollWidth > window.innerWidth`, &overflow)
	if overflow {
		t.Error("the page is wider than a phone's screen")
	}

	// Presence: another client connects; the page's list shows it.
	b.run("open presence", chromedp.Click(`nav button[data-tab="presence"]`, chromedp.ByQuery))
	b.waitFor("the page's own row", `document.querySelectorAll('#presence-list li').length >= 2`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	other, err := client.Dial(ctx, client.Options{URL: g.URL, Token: builtinToken, ClientID: "webchat", Mode: "webchat",
		Platform: "second-client-platform", Version: "9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b.waitText("the other client in presence", "second-client-platform")
	b.shot("presence")

	// Chat: a message streams back; the page shows the first deltas before
	// the provider lets the rest go.
	b.run("open chat", chromedp.Click(`nav button[data-tab="chat"]`, chromedp.ByQuery))
	b.run("send a message", chromedp.SendKeys("#message", "hello builtin"+kb.Enter, chromedp.ByQuery))
	partial := strings.Join(fakeprovider.Split(reply, 5)[:2], "")
	b.waitFor("the reply, streaming", fmt.Sprintf(`(() => { const m = document.querySelector('#messages li.assistant:last-child');
		return m && m.getAttribute('aria-busy') === 'true' && m.innerText.includes(%q) })()`, partial))
	var body string
	b.eval("the streaming reply", `document.querySelector('#messages li.assistant:last-child .body').textContent`, &body)
	if body != partial {
		t.Errorf("while the provider holds the rest, the reply shows %q, want %q", body, partial)
	}
	b.shot("chat-streaming")
	close(gate)
	b.waitFor("the whole reply", fmt.Sprintf(`(() => { const m = document.querySelector('#messages li.assistant:last-child');
		return m && !m.hasAttribute('aria-busy') && m.querySelector('.body').textContent === %q })()`, reply))
	b.shot("chat-reply")

	// Abort: the next turn stalls; Stop ends it.
	mark := b.mark()
	b.run("send another", chromedp.SendKeys("#message", "this one will be stopped"+kb.Enter, chromedp.ByQuery))
	b.waitFor("the second reply started", `(() => { const m = document.querySelector('#messages li.assistant:last-child');
		return m && m.getAttribute('aria-busy') === 'true' && m.querySelector('.body').textContent.length > 0 })()`)
	b.waitFor("stop enabled", `!document.querySelector('#stop').disabled`)
	b.run("stop", chromedp.Click("#stop", chromedp.ByQuery))
	b.waitFor("stopped", `(() => { const m = document.querySelector('#messages li.assistant:last-child');
		return m && !m.hasAttribute('aria-busy') && m.innerText.includes('Stopped.') })()`)
	b.shot("chat-stopped")
	var aborted bool
	for _, c := range b.calls(mark) {
		if c.Method == "chat.abort" {
			var res struct {
				Aborted bool     `json:"aborted"`
				RunIDs  []string `json:"runIds"`
			}
			_ = json.Unmarshal(c.Payload, &res)
			aborted = c.OK && res.Aborted && len(res.RunIDs) == 1
		}
	}
	if !aborted {
		t.Errorf("no successful chat.abort among the page's calls: %v", methodTable(b.calls(mark)))
	}

	// Nodes: a node host connects; its commands wait for approval; the page
	// approves them.
	node := cliNode(t, g, "browser-test-node", "system.run", "system.which")
	b.run("open nodes", chromedp.Click(`nav button[data-tab="nodes"]`, chromedp.ByQuery))
	b.waitFor("the pending node", `!!document.querySelector('#node-pending li[data-request]') && document.querySelector('#node-pending').innerText.includes('browser-test-node')`)
	b.shot("node-pending")
	b.run("approve", chromedp.Click(`#node-pending li[data-request] button`, chromedp.ByQuery))
	b.waitFor("the node approved", `[...document.querySelectorAll('#node-rows tr')].some(r => r.innerText.includes('browser-test-node') && r.innerText.includes('approved') && !r.innerText.includes('waiting'))`)
	b.shot("node-approved")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	res, err := other.Call(ctx2, "health", map[string]any{"probe": true})
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Nodes struct{ Paired, Pending int } `json:"nodes"`
	}
	_ = json.Unmarshal(res, &h)
	if h.Nodes.Paired != 1 || h.Nodes.Pending != 0 {
		t.Errorf("after the page's approval, health.nodes = %+v, want 1 paired, 0 pending", h.Nodes)
	}
	_ = node

	for _, c := range b.consoleErrors() {
		t.Errorf("console: %s", c)
	}
	for _, c := range b.calls(0) {
		if c.Answered && !c.OK {
			t.Errorf("the page's %s failed: %s %s", c.Method, c.ErrCode, c.ErrMessage)
		}
	}
}
