package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Control UI bounds.
const (
	// uiConnectTimeout bounds the wait for the page's first hello-ok.
	uiConnectTimeout = 60 * time.Second
	// uiQuiet is how long the page must send nothing new (with every
	// request answered) before a screen counts as loaded.
	uiQuiet = 2 * time.Second
	// uiQuietMax bounds the wait for a screen to load.
	uiQuietMax = 60 * time.Second
	// maxRecordedPayload is the largest payload a screen recording keeps
	// whole; bigger ones are summarised (their full shape is in methods/).
	maxRecordedPayload = 6 << 10
	// uiClientID is the client id the Control UI connects with.
	uiClientID = "openclaw-control-ui"
)

// uiScreens are the routes visited, in order, after boot. The reference
// UI's router (TanStack-style, on the History API) is driven with
// pushState + popstate, so the page keeps one connection and each screen's
// calls are its own; links the page shows are visited after these.
var uiScreens = []string{"/chat/main", "/sessions", "/activity", "/systems", "/channels", "/config", "/settings/gateway",
	"/settings/devices", "/logs", "/agents", "/model-providers", "/usage", "/cron", "/approvals", "/skills", "/plugins",
	"/dashboards", "/debug", "/connection"}

// deepQuery defines window.__ocq(selector): querySelectorAll through every
// open shadow root (the Control UI is made of web components).
const deepQuery = `window.__ocq = (sel) => { const out = [], seen = new Set();
  const walk = (root) => { for (const el of root.querySelectorAll(sel)) if (!seen.has(el)) { seen.add(el); out.push(el); }
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot); };
  walk(document); return out; }; true`

// composerJS is true once the chat composer is on the page.
const composerJS = `!!(window.__ocq && (window.__ocq('textarea')[0] || window.__ocq('[contenteditable="true"]')[0]))`

// navDump lists the page's clickable elements (through shadow roots): what
// the navigation offers.
const navDump = `window.__ocq('a, button, [role=link], [role=tab], [role=menuitem]').map(e => ({
  tag: e.tagName.toLowerCase(), href: e.getAttribute('href') || undefined,
  label: (e.getAttribute('aria-label') || e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 40) || undefined,
})).filter(e => e.href || e.label)`

// phaseControlUI opens the reference's own Control UI (served by the
// reference gateway at / on its port, through the tap) in headless
// Chromium, visits each screen, sends a chat message, and records which
// methods each screen calls with the answers, the events the page
// receives, and the HTTP side.
func (r *recorder) phaseControlUI(ctx context.Context, chromium, shots string) error {
	if err := r.up(ctx, nil); err != nil {
		return err
	}
	defer r.down()
	if err := r.recordHTTPProbes(ctx); err != nil {
		return err
	}

	b, err := startBrowser(ctx, chromium)
	if err != nil {
		return err
	}
	defer b.close()
	_ = os.MkdirAll(shots, 0o755)

	start := r.tap.Log.Len()
	base := "http://" + r.tap.Addr
	// __ocq in every document the page loads.
	if _, err := b.call(ctx, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": deepQuery}); err != nil {
		return err
	}
	if _, err := b.call(ctx, "Page.navigate", map[string]any{"url": base + "/#token=" + recordToken}); err != nil {
		return err
	}
	// The page's first connect and the answer.
	wctx, cancel := context.WithTimeout(ctx, uiConnectTimeout)
	conn, err := r.tap.Log.Wait(wctx, start, func(e Entry) bool {
		return e.Dir == "c2s" && e.Frame != nil && mustJSON(e.Frame).get("method").strValue() == "connect" &&
			mustJSON(e.Frame).path("params", "client", "id").strValue() == uiClientID
	})
	cancel()
	if err != nil {
		_ = b.screenshot(ctx, filepath.Join(shots, "00-no-connect.png"))
		return fmt.Errorf("the Control UI did not connect within %s (console: %v)", uiConnectTimeout, b.console)
	}
	cp := mustJSON(conn.Frame)
	r.sc.add(cp.path("params", "device", "id").strValue(), "<deviceId:browser>")
	r.sc.add(cp.path("params", "device", "publicKey").strValue(), "<publicKey:browser>")
	r.sc.add(cp.path("params", "client", "instanceId").strValue(), "<browserInstanceId>")
	// Loaded: the chat composer is there and every request is answered.
	if err := b.waitFor(ctx, composerJS, uiQuietMax); err != nil {
		logf("  control ui: no chat composer after %s", uiQuietMax)
	}
	r.waitQuiet(ctx, start)
	hello := r.responseTo(conn)
	if tok := hello.path("payload", "auth", "deviceToken").strValue(); tok != "" {
		r.sc.add(tok, "<deviceToken:browser>")
	}
	if err := r.write(filepath.Join("controlui", "connect.json"), jobj("connect", cp.get("params"), "response", hello)); err != nil {
		return err
	}
	var loc string
	_ = b.eval(ctx, "location.pathname", &loc)
	_ = b.screenshot(ctx, filepath.Join(shots, "00-boot.png"))
	var summary []*jv
	consoleMark := 0
	bootEnd := r.tap.Log.Len()
	var console []string
	console, consoleMark = b.consoleSince(consoleMark)
	summary = append(summary, r.writeScreen("00-boot", loc, "load", start, bootEnd, console))

	// The navigation the page shows.
	var links []string
	_ = b.eval(ctx, `[...new Set(window.__ocq('a[href]').map(a => a.getAttribute('href')).filter(h => h && h.startsWith('/')))]`, &links)
	var nav any
	_ = b.eval(ctx, navDump, &nav)
	_ = r.write(filepath.Join("controlui", "nav.json"), jobj("links", toJV(nonNil(links)), "elements", toJV(nav)))
	logf("  control ui at %s, %d nav links: %s", loc, len(links), trunc(strings.Join(links, " "), 200))

	visit := append([]string(nil), uiScreens...)
	for _, l := range links {
		if !contains(visit, l) && strings.Count(l, "/") == 1 && !strings.ContainsAny(l, "?#") {
			visit = append(visit, l)
		}
	}
	for i, path := range visit {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		mark := r.tap.Log.Len()
		how := "pushState"
		if err := b.eval(ctx, fmt.Sprintf(`history.pushState({}, '', %q); window.dispatchEvent(new PopStateEvent('popstate', {state: {}})); true`, path), nil); err != nil {
			logf("  navigate %s: %v", path, err)
			continue
		}
		r.waitQuiet(ctx, mark)
		name := fmt.Sprintf("%02d-%s", i+1, strings.Trim(strings.ReplaceAll(path, "/", "-"), "-"))
		if strings.HasPrefix(path, "/chat") {
			r.chatTurn(ctx, b, base)
		}
		_ = b.eval(ctx, "location.pathname", &loc)
		_ = b.screenshot(ctx, filepath.Join(shots, name+".png"))
		console, consoleMark = b.consoleSince(consoleMark)
		summary = append(summary, r.writeScreen(name, loc, how, mark, r.tap.Log.Len(), console))
	}
	if err := r.write(filepath.Join("controlui", "screens.json"), jarr(summary...)); err != nil {
		return err
	}
	// What the browser fetched over HTTP (the page, its assets), in order.
	var httpRows []*jv
	for _, e := range r.tap.Log.Since(start) {
		if e.HTTP != nil {
			httpRows = append(httpRows, httpRow(e.HTTP))
		}
	}
	return r.write(filepath.Join("controlui", "http-browser.json"), jarr(httpRows...))
}

// chatTurn types a message into the chat composer and waits for the end of
// the run on a Control UI socket (chat "final", the assistant's
// session.message, or the agent lifecycle end, whichever the page gets).
func (r *recorder) chatTurn(ctx context.Context, b *browser, base string) {
	mark := r.tap.Log.Len()
	if err := b.waitFor(ctx, composerJS, uiQuietMax); err != nil {
		logf("  chat: no composer found")
		return
	}
	var ok bool
	_ = b.eval(ctx, `(() => { const t = window.__ocq('textarea')[0] || window.__ocq('[contenteditable="true"]')[0];
		if (!t) return false; t.focus(); return true; })()`, &ok)
	if !ok {
		logf("  chat: no composer found")
		return
	}
	if err := b.typeText(ctx, "hello from the browser", true); err != nil {
		logf("  chat: typing: %v", err)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, turnTimeout)
	defer cancel()
	_, err := r.tap.Log.Wait(wctx, mark, func(e Entry) bool {
		if e.Dir != "s2c" || e.Frame == nil || !strings.HasPrefix(r.tap.Log.Label(e.Conn), uiClientID+"/") {
			return false
		}
		f := mustJSON(e.Frame)
		switch f.get("event").strValue() {
		case "chat":
			return f.path("payload", "state").strValue() == "final"
		case "session.message":
			return f.path("payload", "message", "role").strValue() == "assistant"
		case "agent":
			return f.path("payload", "stream").strValue() == "lifecycle" && f.path("payload", "data", "phase").strValue() == "end"
		}
		return false
	})
	if err != nil {
		logf("  chat: no final event within %s", turnTimeout)
		return
	}
	r.settle(ctx, 2*time.Second)
}

// responseTo finds the response to a request entry on its connection.
func (r *recorder) responseTo(req Entry) *jv {
	id := mustJSON(req.Frame).get("id").strValue()
	for _, e := range r.tap.Log.Since(req.N) {
		if e.Conn == req.Conn && e.Dir == "s2c" && e.Frame != nil {
			f := mustJSON(e.Frame)
			if f.get("type").strValue() == "res" && f.get("id").strValue() == id {
				return f
			}
		}
	}
	return nil
}

// writeScreen records the Control UI's requests and events between two tap
// marks and returns the summary row.
func (r *recorder) writeScreen(name, path, how string, from, to int, console []string) *jv {
	all := r.tap.Log.Since(from)
	entries := all
	if to-from < len(entries) {
		entries = entries[:to-from]
	}
	// Answers that came after the window still belong to its requests.
	late := map[string]*jv{}
	for _, e := range all[len(entries):] {
		if e.Frame != nil && e.Dir == "s2c" {
			if f := mustJSON(e.Frame); f.get("type").strValue() == "res" {
				late[fmt.Sprintf("%d/%s", e.Conn, f.get("id").strValue())] = f
			}
		}
	}
	byID := map[string]*jv{}
	var reqs []*jv
	events := jobj()
	var methods []string
	for _, e := range entries {
		if e.Frame == nil || !strings.HasPrefix(r.tap.Log.Label(e.Conn), uiClientID+"/") {
			continue
		}
		f := mustJSON(e.Frame)
		key := fmt.Sprintf("%d/%s", e.Conn, f.get("id").strValue())
		switch f.get("type").strValue() {
		case "req":
			if f.get("method").strValue() == "connect" {
				continue
			}
			x := jobj("method", f.get("method"), "params", f.get("params"))
			byID[key] = x
			reqs = append(reqs, x)
		case "res":
			x := byID[key]
			if x == nil {
				continue
			}
			x.set("ok", f.get("ok"))
			if p := f.get("payload"); p != nil {
				x.set("payload", summarisePayload(p))
			}
			if er := f.get("error"); er != nil {
				x.set("error", er)
			}
		case "event":
			ev := f.get("event").strValue()
			n := 0
			if c := events.get(ev); c != nil {
				_, _ = fmt.Sscan(c.num.String(), &n)
			}
			events.set(ev, toJV(n+1))
		}
	}
	for key, f := range late {
		if x := byID[key]; x != nil && x.get("ok") == nil {
			x.set("ok", f.get("ok"))
			x.set("answeredAfterScreen", &jv{kind: 'b', b: true})
			if p := f.get("payload"); p != nil {
				x.set("payload", summarisePayload(p))
			}
			if er := f.get("error"); er != nil {
				x.set("error", er)
			}
		}
	}
	for _, x := range reqs {
		m := x.get("method").strValue()
		if ok := x.get("ok"); ok == nil {
			m += ":no-answer"
		} else if !ok.b {
			m += ":" + x.path("error", "code").strValue()
		}
		methods = append(methods, m)
	}
	doc := jobj("screen", name, "path", path, "opened", how, "requests", jarr(reqs...), "events", events, "console", toJV(nonNil(console)))
	if err := r.write(filepath.Join("controlui", "screens", name+".json"), doc); err != nil {
		logf("write %s: %v", name, err)
	}
	logf("  screen %-22s %s %d requests: %s", name, path, len(reqs), trunc(strings.Join(methods, ","), 120))
	return jobj("screen", name, "path", path, "opened", how, "methods", toJV(nonNil(methods)), "consoleLines", len(console))
}

// summarisePayload keeps small payloads and cuts big ones to their keys.
func summarisePayload(p *jv) *jv {
	n := len(p.encode())
	if n <= maxRecordedPayload {
		return p
	}
	s := jobj("<summarised>", fmt.Sprintf("%d bytes", n))
	if p.kind == 'o' {
		s.set("keys", toJV(p.keys))
	}
	return s
}

// recordHTTPProbes asks the gateway port (through the tap) for the Control
// UI's page and a few edge cases, and writes controlui/http-probes.json and
// the page itself (controlui/index.html).
func (r *recorder) recordHTTPProbes(ctx context.Context) error {
	base := "http://" + r.tap.Addr
	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, hdr map[string]string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			logf("  http %s %s: %v", method, path, err)
			return 0, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		return res.StatusCode, b
	}
	mark := r.tap.Log.Len()
	_, index := get("GET", "/", map[string]string{"Accept": "text/html"})
	asset := ""
	if m := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindSubmatch(index); m != nil {
		asset = string(m[1])
	}
	probes := []struct {
		method, path string
		hdr          map[string]string
	}{
		{"HEAD", "/", nil},
		{"GET", "/index.html", nil},
		{"POST", "/", nil},
		{"GET", "/sessions", map[string]string{"Accept": "text/html"}},
		{"GET", "/chat/agent%3Amain%3Amain", map[string]string{"Accept": "text/html"}},
		{"GET", "/api/nope", nil},
		{"GET", "/assets/does-not-exist.js", nil},
		{"GET", "/favicon.svg", nil},
		{"GET", "/manifest.webmanifest", nil},
		{"GET", "/health", nil},
		{"GET", "/healthz", nil},
		{"GET", "/ready", nil},
		{"GET", "/readyz", nil},
		{"GET", "/__openclaw__/canvas/", nil},
		{"GET", "/v1/models", nil},
		{"OPTIONS", "/", nil},
	}
	if asset != "" {
		probes = append(probes,
			struct {
				method, path string
				hdr          map[string]string
			}{"GET", asset, map[string]string{"Accept-Encoding": "br, gzip"}},
			struct {
				method, path string
				hdr          map[string]string
			}{"GET", asset, map[string]string{"Accept-Encoding": "gzip"}},
			struct {
				method, path string
				hdr          map[string]string
			}{"GET", asset, nil})
	}
	for _, p := range probes {
		get(p.method, p.path, p.hdr)
	}
	var rows []*jv
	for _, e := range r.tap.Log.Since(mark) {
		if e.HTTP != nil {
			rows = append(rows, httpRow(e.HTTP))
		}
	}
	if err := r.write(filepath.Join("controlui", "http-probes.json"), jarr(rows...)); err != nil {
		return err
	}
	return r.writeText(filepath.Join("controlui", "index.html"), string(index))
}

func httpRow(h *HTTPExchange) *jv {
	row := jobj("method", h.Method, "path", h.Path, "status", h.Status)
	hdr := jobj()
	for _, k := range sortedKeys(h.Header) {
		hdr.set(k, jstr(h.Header[k]))
	}
	row.set("header", hdr)
	row.set("size", toJV(h.Size))
	if h.Body != "" && !strings.HasPrefix(strings.TrimSpace(h.Body), "<!doctype") {
		row.set("body", jstr(h.Body))
	}
	return row
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// waitQuiet waits until every request the Control UI sent since mark has
// its answer and no new request came for uiQuiet (bounded by
// uiQuietMax), then a short settle for late events.
func (r *recorder) waitQuiet(ctx context.Context, mark int) {
	began := time.Now()
	deadline := began.Add(uiQuietMax)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		entries := r.tap.Log.Since(mark)
		open := map[string]bool{}
		var last time.Time
		for _, e := range entries {
			if e.Frame == nil || !strings.HasPrefix(r.tap.Log.Label(e.Conn), uiClientID+"/") {
				continue
			}
			f := mustJSON(e.Frame)
			key := fmt.Sprintf("%d/%s", e.Conn, f.get("id").strValue())
			switch f.get("type").strValue() {
			case "req":
				open[key] = true
				last = e.at
			case "res":
				delete(open, key)
			}
		}
		if last.Before(began) {
			last = began
		}
		if len(open) == 0 && time.Since(last) > uiQuiet {
			break
		}
		r.settle(ctx, 250*time.Millisecond)
	}
	r.settle(ctx, time.Second)
}
