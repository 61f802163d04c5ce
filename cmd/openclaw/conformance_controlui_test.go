package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

// referenceControlUI is the reference package's built Control UI, next to
// the reference CLI .ci/install-reference.sh installs.
func referenceControlUI(t *testing.T, ref *referenceCLI) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(filepath.Dir(ref.entry)), "openclaw", "dist", "control-ui")
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatalf("the reference Control UI is not at %s: %v (rerun .ci/install-reference.sh)", dir, err)
	}
	return dir
}

// startReferenceUIGateway starts the gateway binary serving the reference's
// Control UI build ui, with the model "mock/mock-1" at providerURL.
func startReferenceUIGateway(t *testing.T, providerURL, ui string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "mock/mock-1"}}},
		gateway: {controlUi: {root: %q}},
	}`, providerURL, ui)
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startGateway(t, gwOptions{Token: conformanceToken, StateDir: dir, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
}

// TestConformanceControlUI: the reference's own Control UI build
// (openclaw@2026.9.6 dist/control-ui), served unchanged by our gateway from
// gateway.controlUi.root, used in a real Chromium: it connects without
// "Refresh required", the chat sends a message and shows the fake model's
// streamed reply, the sessions screen lists the session, the logs screen
// shows messages, and no screen's console has an error from a method we do
// not know.
func TestConformanceControlUI(t *testing.T) {
	ref := newReferenceCLI(t)
	ui := referenceControlUI(t, ref)
	const reply = "Hello from the mock model."
	gate := make(chan struct{})
	// The reply streams in 5 deltas and stops after the first two until the
	// test has seen them on the page.
	fp := fakeprovider.New(t, fakeprovider.Reply{Text: reply, Deltas: 5, Hold: gate, HoldAfter: 3})
	fp.SetDefault(fakeprovider.Text(reply, 5))
	partial := strings.Join(fakeprovider.Split(reply, 5)[:2], "")
	g := startReferenceUIGateway(t, fp.URL, ui)
	b := newBrowser(t, 1280, 900)
	screens := map[string][]rpcCall{}

	// Chat: the page connects (same origin, so the build-id check runs and
	// must pass), sends a message, and shows the reply as it streams.
	mark := b.mark()
	b.run("open the chat", chromedp.Navigate(g.HTTP+"/chat/main#token="+conformanceToken))
	b.waitFor("chat composer", `!!document.querySelector('textarea') && document.body.innerText.includes('Connected')`)
	b.shot("chat-connected")
	b.run("type a message", chromedp.SendKeys("textarea", "hello from the browser"+kb.Enter))
	b.waitText("the user's message", "hello from the browser")
	b.waitText("the reply, streaming", partial)
	var shown string
	b.eval("page text", `document.body.innerText`, &shown)
	if strings.Contains(shown, reply) {
		t.Fatalf("the whole reply is on the page while the provider still holds its end:\n%s", shown)
	}
	b.shot("chat-streaming")
	close(gate)
	b.waitText("the whole reply", reply)
	b.shot("chat-reply")
	screens["chat"] = b.calls(mark)
	if ev := b.events(mark); ev["chat"] < 3 {
		t.Errorf("the page got %d chat events, want the deltas and the final: %v", ev["chat"], ev)
	}
	for _, c := range screens["chat"] {
		if c.Method == "chat.send" && !c.OK {
			t.Fatalf("chat.send: %s %s", c.ErrCode, c.ErrMessage)
		}
	}

	// Sessions: the chat's session is listed.
	mark = b.mark()
	b.run("open the sessions", chromedp.Navigate(g.HTTP+"/sessions#token="+conformanceToken))
	b.waitText("the session listed", "agent:main:main")
	b.shot("sessions")
	screens["sessions"] = b.calls(mark)

	// Logs: the gateway's log records, with their messages.
	mark = b.mark()
	b.run("open the logs", chromedp.Navigate(g.HTTP+"/logs#token="+conformanceToken))
	b.waitText("a log message", "gateway listening")
	b.shot("logs")
	screens["logs"] = b.calls(mark)

	for _, name := range []string{"chat", "sessions", "logs"} {
		for _, l := range methodTable(screens[name]) {
			t.Logf("%s: %s", name, l)
		}
	}
	for _, c := range b.consoleErrors() {
		if strings.Contains(c, "unknown method") {
			t.Errorf("console: %s", c)
		}
	}
	var page string
	b.eval("page text", `document.body.innerText`, &page)
	if strings.Contains(page, "unknown method") || strings.Contains(page, "Refresh required") {
		t.Errorf("the page says:\n%s", page)
	}
}

// TestConformanceControlUISidebar: the reference's Control UI, on a gateway
// with a few sessions, lists them in its sidebar, having asked for the
// sidebar's groups and session catalogs and its bootstrap file, all
// answered, and shows no error.
func TestConformanceControlUISidebar(t *testing.T) {
	ref := newReferenceCLI(t)
	ui := referenceControlUI(t, ref)
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("noted.", 1))
	g := startReferenceUIGateway(t, fp.URL, ui)

	// Three sessions, two of them labelled, each with one finished turn.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: g.URL, Token: conformanceToken, Scopes: []string{"operator.admin"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	labels := map[string]string{"agent:main:alpha": "Alpha notes", "agent:main:beta": "Beta plan", "agent:main:main": ""}
	for key, label := range labels {
		if _, err := c.CallFinal(ctx, "agent", map[string]any{"message": "remember " + key, "sessionKey": key,
			"idempotencyKey": "turn-" + key}); err != nil {
			t.Fatalf("a turn in %s: %v", key, err)
		}
		if label == "" {
			continue
		}
		if _, err := c.Call(ctx, "sessions.patch", map[string]any{"key": key, "label": label}); err != nil {
			t.Fatalf("label %s: %v", key, err)
		}
	}

	b := newBrowser(t, 1280, 900)
	mark := b.mark()
	b.run("open the chat", chromedp.Navigate(g.HTTP+"/chat/main#token="+conformanceToken))
	b.waitFor("connected", `document.body.innerText.includes('Connected')`)
	// The sidebar's SESSIONS section lists the other sessions by label
	// (the open one, agent:main:main, is the page itself).
	b.waitFor("the sessions in the sidebar", `(() => { const t = document.body.innerText;
		const i = t.indexOf('SESSIONS'); return i >= 0 && t.includes('Alpha notes', i) && t.includes('Beta plan', i) })()`)
	// The sidebar asked for its groups and catalogs once connected.
	sidebar := []string{"sessions.groups.list", "sessions.groups.defaults", "sessions.catalog.list"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		answered := map[string]bool{}
		for _, c := range b.calls(mark) {
			if c.Answered {
				answered[c.Method] = true
			}
		}
		missing := []string{}
		for _, m := range sidebar {
			if !answered[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never had %v answered:\n%s", missing, strings.Join(methodTable(b.calls(mark)), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.shot("sidebar")
	for _, c := range b.calls(mark) {
		if slices.Contains(sidebar, c.Method) && !c.OK {
			t.Errorf("%s: %s %s", c.Method, c.ErrCode, c.ErrMessage)
		}
	}
	// The bootstrap file: the page fetches it with its bearer (the shared
	// token, then its device token) and must never be refused.
	b.waitFor("the bootstrap fetched", `performance.getEntriesByType('resource').some(e => e.name.endsWith('/control-ui-config.json'))`)
	if st := b.status("/control-ui-config.json"); st != 200 {
		t.Errorf("control-ui-config.json: HTTP %d, want 200", st)
	}
	for _, c := range b.consoleErrors() {
		if strings.Contains(c, "unknown method") || strings.Contains(c, "control-ui-config") {
			t.Errorf("console: %s", c)
		}
	}
	var page string
	b.eval("page text", `document.body.innerText`, &page)
	if strings.Contains(page, "unknown method") || strings.Contains(page, "Refresh required") {
		t.Errorf("the page says:\n%s", page)
	}
}
