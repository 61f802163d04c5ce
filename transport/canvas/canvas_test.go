package canvas

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const secret = "TOP SECRET: outside the canvas root"

// fixture builds <tmp>/secret (outside the root) and <tmp>/canvas (the root)
// with files, directories and symlinks, and returns the root.
func fixture(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "canvas")
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("secret", secret)
	write("secretdir/index.html", secret)
	write("canvas/index.html", "<!doctype html><title>root index</title>")
	write("canvas/app.js", "console.log('canvas')")
	write("canvas/style.css", "body{margin:0}")
	write("canvas/data.json", `{"ok":true}`)
	write("canvas/notes", "plain text without an extension")
	write("canvas/sub/index.html", "<!doctype html><title>sub index</title>")
	write("canvas/sub/page.html", "<p>sub page</p>")
	write("canvas/sp ace/file.txt", "spaced")
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		links := map[string]string{
			"escape":       "../secret",                  // relative, leaves the root
			"escape_abs":   filepath.Join(tmp, "secret"), // absolute, outside
			"escapedir":    "../secretdir",               // a directory outside
			"sub/escape2":  "../../secret",
			"inside":       "app.js",            // stays inside: works
			"insidedir":    "sub",               // directory inside: works
			"sub/up.js":    "../app.js",         // up but still inside: works
			"dangling":     "nothing-here.html", // 404
			"selfloop.txt": "selfloop.txt",      // ELOOP: 404
		}
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

type result struct {
	status int
	header http.Header
	body   string
}

// rawRequest sends the request line exactly as given (no client-side path
// cleaning or escaping) and reads the response.
func rawRequest(t *testing.T, addr, method, target string) result {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: canvas.test\r\nConnection: close\r\n\r\n", method, target)
	req := &http.Request{Method: method}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, string(body)}
}

func startServer(t *testing.T, root string) *Server {
	t.Helper()
	s := New(Options{Hosts: []string{"127.0.0.1"}, Port: 0, Root: root, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func addr(s *Server) string { return "127.0.0.1:" + strconv.Itoa(s.Port()) }

var traversals = []string{
	"/__openclaw__/canvas/../secret",
	"/__openclaw__/canvas/%2e%2e/secret",
	"/__openclaw__/canvas/%2E%2E/secret",
	"/__openclaw__/canvas/.%2e/secret",
	"/__openclaw__/canvas/..%2fsecret",
	"/__openclaw__/canvas/..%2Fsecret",
	"/__openclaw__/canvas/%2e%2e%2fsecret",
	"/__openclaw__/canvas/a/../../secret",
	"/__openclaw__/canvas/sub/../../secret",
	"/__openclaw__/canvas/./../secret",
	"/__openclaw__/canvas/..\\secret",
	"/__openclaw__/canvas/..%5csecret",
	"/__openclaw__/canvas/..%5Csecret",
	"/__openclaw__/canvas/%2e%2e%5csecret",
	"/__openclaw__/canvas/secret%00",
	"/__openclaw__/canvas/%00/../secret",
	"/__openclaw__/canvas/%252e%252e/secret", // double-encoded: a literal "%2e%2e" name, not found
	"/__openclaw__/canvas/..",
	"/__openclaw__/canvas/../",
	"/__openclaw__/canvas/../secretdir/",
	"/__openclaw__/canvas/..;/secret",
	"/__openclaw__/canvas/escape",
	"/__openclaw__/canvas/escape_abs",
	"/__openclaw__/canvas/escapedir/",
	"/__openclaw__/canvas/escapedir/index.html",
	"/__openclaw__/canvas/sub/escape2",
	"/__openclaw__/canvas//../secret",
	"/__openclaw__/canvas/%2f..%2fsecret",
}

// checkRefused: 400 or 404, and never the secret.
func checkRefused(t *testing.T, target string, r result) {
	t.Helper()
	if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
		t.Errorf("GET %s: status %d, want 400 or 404 (body %q)", target, r.status, r.body)
	}
	if strings.Contains(r.body, "TOP SECRET") {
		t.Errorf("GET %s: served the file outside the root", target)
	}
}

func TestTraversalRefused(t *testing.T) {
	root := fixture(t)
	s := startServer(t, root)
	for _, target := range traversals {
		checkRefused(t, target, rawRequest(t, addr(s), "GET", target))
	}
	// The secret really is there (so the 404s above are refusals).
	if data, err := os.ReadFile(filepath.Join(root, "..", "secret")); err != nil || string(data) != secret {
		t.Fatalf("fixture: %q, %v", data, err)
	}
}

// TestTraversalRefusedStandalone: the Handler on its own (httptest, request
// paths unparsed by any client) and mounted on a ServeMux.
func TestTraversalRefusedStandalone(t *testing.T) {
	root := fixture(t)
	h := Handler(root)
	for _, target := range traversals {
		req := httptest.NewRequest("GET", "http://canvas.test"+target, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkRefused(t, target, result{rec.Code, rec.Header(), rec.Body.String()})
	}

	// Mounted with mux.Handle(Prefix, h): ServeMux may redirect an unclean
	// path before the handler sees it; whatever the answer, never the secret.
	mux := http.NewServeMux()
	mux.Handle(Prefix, h)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	a := strings.TrimPrefix(ts.URL, "http://")
	for _, target := range traversals {
		r := rawRequest(t, a, "GET", target)
		if r.status == http.StatusOK || strings.Contains(r.body, "TOP SECRET") {
			t.Errorf("mux GET %s: %d %q", target, r.status, r.body)
		}
		if r.status == http.StatusMovedPermanently {
			loc := r.header.Get("Location")
			if strings.HasPrefix(loc, Prefix) {
				if r2 := rawRequest(t, a, "GET", loc); strings.Contains(r2.body, "TOP SECRET") {
					t.Errorf("mux GET %s -> %s served the secret", target, loc)
				}
			}
		}
	}
	// And it serves through the mux.
	if r := rawRequest(t, a, "GET", Prefix+"app.js"); r.status != 200 || r.body != "console.log('canvas')" {
		t.Errorf("mux GET app.js: %d %q", r.status, r.body)
	}
}

func TestServesFiles(t *testing.T) {
	root := fixture(t)
	s := startServer(t, root)
	for _, tc := range []struct {
		target, ctype, body string
	}{
		{"/__openclaw__/canvas/", "text/html; charset=utf-8", "<!doctype html><title>root index</title>"},
		{"/__openclaw__/canvas/index.html", "text/html; charset=utf-8", "<!doctype html><title>root index</title>"},
		{"/__openclaw__/canvas/app.js", "text/javascript; charset=utf-8", "console.log('canvas')"},
		{"/__openclaw__/canvas/style.css", "text/css; charset=utf-8", "body{margin:0}"},
		{"/__openclaw__/canvas/data.json", "application/json", `{"ok":true}`},
		{"/__openclaw__/canvas/notes", "text/plain; charset=utf-8", "plain text without an extension"},
		{"/__openclaw__/canvas/sub/", "text/html; charset=utf-8", "<!doctype html><title>sub index</title>"},
		{"/__openclaw__/canvas/sub/page.html", "text/html; charset=utf-8", "<p>sub page</p>"},
		{"/__openclaw__/canvas/sub//page.html", "text/html; charset=utf-8", "<p>sub page</p>"},
		{"/__openclaw__/canvas/%73ub/page.html", "text/html; charset=utf-8", "<p>sub page</p>"},
		{"/__openclaw__/canvas/sp%20ace/file.txt", "text/plain; charset=utf-8", "spaced"},
		{"/__openclaw__/canvas/app.js?v=3", "text/javascript; charset=utf-8", "console.log('canvas')"},
	} {
		r := rawRequest(t, addr(s), "GET", tc.target)
		if r.status != 200 || r.body != tc.body {
			t.Errorf("GET %s: %d %q, want 200 %q", tc.target, r.status, r.body, tc.body)
			continue
		}
		if got := r.header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.target, got, tc.ctype)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"} {
			if got := r.header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.target, k, got, want)
			}
		}
		if r.header.Get("Last-Modified") == "" {
			t.Errorf("GET %s: no Last-Modified", tc.target)
		}
	}
}

func TestSymlinksInsideRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on windows")
	}
	s := startServer(t, fixture(t))
	for target, body := range map[string]string{
		"/__openclaw__/canvas/inside":              "console.log('canvas')",
		"/__openclaw__/canvas/sub/up.js":           "console.log('canvas')",
		"/__openclaw__/canvas/insidedir/":          "<!doctype html><title>sub index</title>",
		"/__openclaw__/canvas/insidedir/page.html": "<p>sub page</p>",
	} {
		if r := rawRequest(t, addr(s), "GET", target); r.status != 200 || r.body != body {
			t.Errorf("GET %s: %d %q, want 200 %q", target, r.status, r.body, body)
		}
	}
	for _, target := range []string{"/__openclaw__/canvas/dangling", "/__openclaw__/canvas/selfloop.txt"} {
		if r := rawRequest(t, addr(s), "GET", target); r.status != 404 {
			t.Errorf("GET %s: %d, want 404", target, r.status)
		}
	}
}

func TestNotFoundAndRedirects(t *testing.T) {
	root := fixture(t)
	s := startServer(t, root)
	for _, target := range []string{
		"/__openclaw__/canvas/missing.html",
		"/__openclaw__/canvas/sub/missing/",
		"/__openclaw__/canvas/empty/", // a directory without index.html: no listing
		"/__openclaw__/canvas/app.js/",
		"/__openclaw__/canvas/app.js/x",
		"/",
		"/secret",
		"/index.html",
		"/__openclaw__/",
		"/__openclaw__/canvasx/app.js",
		"/__openclaw__/Canvas/app.js",
	} {
		r := rawRequest(t, addr(s), "GET", target)
		if r.status != 404 {
			t.Errorf("GET %s: %d, want 404", target, r.status)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff on the 404", target)
		}
		if strings.Contains(r.body, "<title>") || strings.Contains(r.body, "href") {
			t.Errorf("GET %s: body looks like a page or a listing: %q", target, r.body)
		}
	}
	for target, loc := range map[string]string{
		"/__openclaw__/canvas":         "/__openclaw__/canvas/",
		"/__openclaw__/canvas/sub":     "./sub/",
		"/__openclaw__/canvas/sub?x=1": "./sub/?x=1",
		"/__openclaw__/canvas/empty":   "./empty/",
	} {
		r := rawRequest(t, addr(s), "GET", target)
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != loc {
			t.Errorf("GET %s: %d Location %q, want 301 %q", target, r.status, r.header.Get("Location"), loc)
		}
	}
}

func TestMethods(t *testing.T) {
	s := startServer(t, fixture(t))
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		r := rawRequest(t, addr(s), m, "/__openclaw__/canvas/app.js")
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow %q, want 405 \"GET, HEAD\"", m, r.status, r.header.Get("Allow"))
		}
	}
	r := rawRequest(t, addr(s), "HEAD", "/__openclaw__/canvas/app.js")
	if r.status != 200 || r.body != "" || r.header.Get("Content-Length") != strconv.Itoa(len("console.log('canvas')")) ||
		r.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("HEAD: %d %v %q", r.status, r.header, r.body)
	}
}

func TestRangeAndConditional(t *testing.T) {
	s := startServer(t, fixture(t))
	conn, err := net.Dial("tcp", addr(s))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /__openclaw__/canvas/app.js HTTP/1.1\r\nHost: x\r\nRange: bytes=0-6\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(body) != "console" {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
}

func TestMissingRootCreatedLater(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspace", "canvas")
	s := startServer(t, root)
	for _, target := range []string{"/__openclaw__/canvas/", "/__openclaw__/canvas/index.html"} {
		if r := rawRequest(t, addr(s), "GET", target); r.status != 404 {
			t.Errorf("GET %s with no root: %d, want 404", target, r.status)
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>now</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := rawRequest(t, addr(s), "GET", "/__openclaw__/canvas/"); r.status != 200 || r.body != "<p>now</p>" {
		t.Errorf("after creating the root: %d %q", r.status, r.body)
	}
}

func TestServerLifecycle(t *testing.T) {
	root := fixture(t)
	s := New(Options{Root: root}) // default host 127.0.0.1, nil logger
	if s.Port() != 0 {
		t.Fatal("port before start")
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("second Start: no error")
	}
	port := s.Port()
	if port == 0 || len(s.Addrs()) != 1 || s.Addrs()[0] != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("Port %d Addrs %v", port, s.Addrs())
	}
	if r := rawRequest(t, addr(s), "GET", "/__openclaw__/canvas/app.js"); r.status != 200 {
		t.Fatalf("GET: %d", r.status)
	}

	// The same port again: busy, and the error names it.
	other := New(Options{Hosts: []string{"127.0.0.1"}, Port: port, Root: root})
	err := other.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("Start on a busy port: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after Stop")
	}

	// Startable again, on the same port now that it is free.
	again := New(Options{Hosts: []string{"127.0.0.1"}, Port: port, Root: root})
	if err := again.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer again.Stop(context.Background())

	if err := New(Options{}).Start(context.Background()); err == nil {
		t.Error("Start without a root: no error")
	}
}

func TestServerIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback")
	}
	ln.Close()
	s := New(Options{Hosts: []string{"127.0.0.1", "::1"}, Root: fixture(t)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	if len(s.Addrs()) != 2 {
		t.Fatalf("Addrs %v", s.Addrs())
	}
	r := rawRequest(t, "[::1]:"+strconv.Itoa(s.Port()), "GET", "/__openclaw__/canvas/app.js")
	if r.status != 200 {
		t.Fatalf("GET over ::1: %d", r.status)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"":           ".",
		"/":          ".",
		"a":          "a",
		"a/b.html":   filepath.Join("a", "b.html"),
		"a//b/":      filepath.Join("a", "b"),
		"sp%20ace":   "sp ace",
		"%252e%252e": "%2e%2e",
		"...":        "...",
		"a..b":       "a..b",
		".hidden":    ".hidden",
	} {
		if got, ok := fileName(in); !ok || got != want {
			t.Errorf("fileName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"..", "a/..", "%2e%2e", "%2E.", ".", "./a", "..%2f", "a%2fb", "a%5cb", "a\\b", "a%00", "%", "%zz", "a/%2e%2e/b"} {
		if got, ok := fileName(in); ok {
			t.Errorf("fileName(%q) = %q, ok; want invalid", in, got)
		}
	}
}
