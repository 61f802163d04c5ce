package main

// A real headless Chromium driven over the DevTools protocol (chromedp), for
// the tests that use the Control UI as a person would. It records what the
// page does: every WebSocket frame (so a test can list the methods a screen
// called and how each was answered), console errors and uncaught
// exceptions, and a screenshot per step. When the test fails, the
// screenshots, the frames and the console go to an artifacts directory
// ($OPENCLAW_BROWSER_ARTIFACTS, else <tmp>/openclaw-browser-artifacts/<test>),
// named in the test log; with OPENCLAW_BROWSER_ARTIFACTS set they are kept
// for passing tests too.
//
// Chromium is Debian's `chromium` (.ci/run installs it); OPENCLAW_CHROMIUM
// names another binary. Without one the test fails, so CI cannot pass by not
// running it; OPENCLAW_SKIP_BROWSER=1 skips the browser tests on purpose.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserStepTimeout bounds one step (navigate, wait for a text, click): a
// page that never shows what the test waits for fails the test, it does
// not hang it.
const browserStepTimeout = 30 * time.Second

// chromiumPath finds the browser, or fails (skips only when asked to).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("OPENCLAW_SKIP_BROWSER") == "1" {
		t.Skip("OPENCLAW_SKIP_BROWSER=1: browser tests skipped")
	}
	if p := os.Getenv("OPENCLAW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install it (apt-get install -y chromium), name it with OPENCLAW_CHROMIUM, or skip the browser tests with OPENCLAW_SKIP_BROWSER=1")
	return ""
}

// wsFrame is one WebSocket frame the page sent or received.
type wsFrame struct {
	Sent    bool
	At      time.Time
	Payload string
}

// rpcCall is a request the page made and the answer it got.
type rpcCall struct {
	ID, Method string
	Params     json.RawMessage
	Answered   bool
	OK         bool
	ErrCode    string
	ErrMessage string
	ErrDetail  string // error.details.code
	Payload    json.RawMessage
}

type shot struct {
	name string
	png  []byte
}

type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	frames  []wsFrame
	console []string
	shots   []shot
	http    map[string]int64 // URL path → the last HTTP status the page got for it
}

// newBrowser starts Chromium with a window of w×h CSS pixels; it is stopped
// when the test ends.
func newBrowser(t *testing.T, w, h int) *browser {
	t.Helper()
	path := chromiumPath(t)
	// Not t.TempDir: Chromium's helper processes can still be writing to
	// the profile when the browser process has exited, and t.TempDir's
	// removal fails the test on the first "directory not empty".
	profile, err := os.MkdirTemp("", "openclaw-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(w, h),
		chromedp.UserDataDir(profile),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, b.onEvent)
	stop := func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process
		removeProfile(t, profile)
	}
	if err := chromedp.Run(ctx, network.Enable(), runtime.Enable(), log.Enable()); err != nil {
		stop()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		b.saveArtifacts()
		stop()
	})
	return b
}

// removeProfile removes a Chromium profile once its last writer is gone,
// trying for up to 5 s.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Chromium profile %s left behind: %v", dir, err)
}

func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		if u, err := url.Parse(e.Response.URL); err == nil {
			if b.http == nil {
				b.http = map[string]int64{}
			}
			b.http[u.Path] = e.Response.Status
		}
	case *network.EventWebSocketFrameSent:
		b.frames = append(b.frames, wsFrame{Sent: true, At: time.Now(), Payload: e.Response.PayloadData})
	case *network.EventWebSocketFrameReceived:
		b.frames = append(b.frames, wsFrame{At: time.Now(), Payload: e.Response.PayloadData})
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
			var parts []string
			for _, a := range e.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			b.console = append(b.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.console = append(b.console, "exception: "+msg)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.LevelError {
			b.console = append(b.console, fmt.Sprintf("log.error (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	}
}

// status is the last HTTP status the page got for a URL path (0: never
// fetched).
func (b *browser) status(path string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.http[path]
}

// run runs actions within one step's timeout; a failure saves a screenshot
// named after the step and fails the test.
func (b *browser) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.shot(step + "-failed")
		b.t.Fatalf("%s: %v\n%s", step, err, b.describe())
	}
}

// shot keeps a screenshot of the viewport.
func (b *browser) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.mu.Lock()
	b.shots = append(b.shots, shot{name: fmt.Sprintf("%02d-%s", len(b.shots)+1, name), png: png})
	b.mu.Unlock()
}

// waitFor waits until the JavaScript expression is true.
func (b *browser) waitFor(step, expr string) {
	b.t.Helper()
	b.run(step, chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserStepTimeout-time.Second)))
}

// waitText waits until the page's visible text contains s.
func (b *browser) waitText(step, s string) {
	b.t.Helper()
	q, _ := json.Marshal(s)
	b.waitFor(step, fmt.Sprintf(`document.body && document.body.innerText.includes(%s)`, q))
}

// eval evaluates a JavaScript expression into out.
func (b *browser) eval(step, expr string, out any) {
	b.t.Helper()
	b.run(step, chromedp.Evaluate(expr, out))
}

// calls pairs the page's requests with their answers, in the order sent;
// from is the index of the first frame to consider (see mark).
func (b *browser) calls(from int) []rpcCall {
	b.mu.Lock()
	frames := append([]wsFrame(nil), b.frames[from:]...)
	b.mu.Unlock()
	var out []rpcCall
	byID := map[string]int{}
	for _, f := range frames {
		var fr struct {
			Type    string          `json:"type"`
			ID      string          `json:"id"`
			Method  string          `json:"method"`
			Params  json.RawMessage `json:"params"`
			OK      bool            `json:"ok"`
			Payload json.RawMessage `json:"payload"`
			Error   *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Details struct {
					Code string `json:"code"`
				} `json:"details"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(f.Payload), &fr) != nil {
			continue
		}
		switch {
		case f.Sent && fr.Type == "req":
			byID[fr.ID] = len(out)
			out = append(out, rpcCall{ID: fr.ID, Method: fr.Method, Params: fr.Params})
		case !f.Sent && fr.Type == "res":
			i, ok := byID[fr.ID]
			if !ok || out[i].Answered {
				continue // a second answer (agent's final) adds nothing here
			}
			c := &out[i]
			c.Answered, c.OK, c.Payload = true, fr.OK, fr.Payload
			if fr.Error != nil {
				c.ErrCode, c.ErrMessage, c.ErrDetail = fr.Error.Code, fr.Error.Message, fr.Error.Details.Code
			}
		}
	}
	return out
}

// events lists the events the page received from frame from on, by name.
func (b *browser) events(from int) map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for _, f := range b.frames[from:] {
		var fr struct {
			Type  string `json:"type"`
			Event string `json:"event"`
		}
		if !f.Sent && json.Unmarshal([]byte(f.Payload), &fr) == nil && fr.Type == "event" {
			out[fr.Event]++
		}
	}
	return out
}

// mark is the number of frames so far: calls(mark) are the calls after it.
func (b *browser) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.frames)
}

// consoleErrors are the console errors and exceptions so far.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// methodTable summarizes calls: method → "ok" or the error, one line each,
// sorted (what a screen needs from the gateway, and what it got).
func methodTable(calls []rpcCall) []string {
	seen := map[string]string{}
	for _, c := range calls {
		r := "ok"
		switch {
		case !c.Answered:
			r = "no answer"
		case !c.OK:
			r = c.ErrCode + " " + c.ErrMessage
			if c.ErrDetail != "" {
				r += " [" + c.ErrDetail + "]"
			}
		}
		if prev, ok := seen[c.Method]; ok && prev != "ok" {
			continue // keep a failure once seen
		}
		seen[c.Method] = r
	}
	var out []string
	for m, r := range seen {
		out = append(out, m+": "+r)
	}
	sort.Strings(out)
	return out
}

// describe is what went on, for a failure message: the calls that failed
// and the console.
func (b *browser) describe() string {
	var s strings.Builder
	for _, c := range b.calls(0) {
		if !c.OK {
			fmt.Fprintf(&s, "  call %s: answered=%v %s %s\n", c.Method, c.Answered, c.ErrCode, c.ErrMessage)
		}
	}
	for _, c := range b.consoleErrors() {
		fmt.Fprintf(&s, "  %s\n", c)
	}
	return s.String()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtifacts writes the screenshots, the frames and the console when the
// test failed or OPENCLAW_BROWSER_ARTIFACTS asks for them.
func (b *browser) saveArtifacts() {
	root := os.Getenv("OPENCLAW_BROWSER_ARTIFACTS")
	if root == "" {
		if !b.t.Failed() {
			return
		}
		root = filepath.Join(os.TempDir(), "openclaw-browser-artifacts")
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(b.t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.shots {
		_ = os.WriteFile(filepath.Join(dir, s.name+".png"), s.png, 0o644)
	}
	var frames strings.Builder
	for _, f := range b.frames {
		dir := "<-"
		if f.Sent {
			dir = "->"
		}
		fmt.Fprintf(&frames, "%s %s %s\n", f.At.Format("15:04:05.000"), dir, f.Payload)
	}
	_ = os.WriteFile(filepath.Join(dir, "frames.log"), []byte(frames.String()), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "console.log"), []byte(strings.Join(b.console, "\n")+"\n"), 0o644)
	b.t.Logf("browser artifacts (screenshots, frames, console): %s", dir)
}
