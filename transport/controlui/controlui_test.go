package controlui

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	inlineScript = "window.boot = 1;"
	secret       = "TOP SECRET: outside the Control UI root"
	// indexPage is shaped like the reference build's index.html: relative
	// links, one inline script, a module script, a build id on <html>.
	indexPage = `<!doctype html>
<html data-openclaw-control-ui-build-id="b1" lang="en">
<head>
<link rel="icon" type="image/svg+xml" href="./favicon.svg" />
<link rel="manifest" href="./manifest.webmanifest" />
<script>` + inlineScript + `</script>
<script type="module" crossorigin src="./assets/app-abc.js"></script>
<link rel="stylesheet" crossorigin href="./assets/style-def.css">
</head><body></body></html>`
)

// fixture is a built UI in <tmp>/ui, with a secret next to it and
// symlinks that try to leave it.
func fixture(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "ui")
	files := map[string]string{
		"secret.txt":               secret,
		"ui/index.html":            indexPage,
		"ui/assets/app-abc.js":     "console.log('plain')",
		"ui/assets/app-abc.js.br":  "BROTLI-BYTES",
		"ui/assets/app-abc.js.gz":  "GZIP-BYTES",
		"ui/assets/style-def.css":  "body{margin:0}",
		"ui/assets/logo-123.png":   "\x89PNG",
		"ui/favicon.svg":           "<svg/>",
		"ui/manifest.webmanifest":  `{"name":"x"}`,
		"ui/sub/notes.txt":         "notes",
		"ui/deep/assets/other.txt": "not under assets/",
	}
	for rel, body := range files {
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"escape.txt": "../secret.txt", "escape": "../secret.txt"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, h http.Handler, method, target string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return answer{code: rec.Code, header: rec.Result().Header, body: string(body)}
}

func TestServeRules(t *testing.T) {
	h := Handler(Options{Root: fixture(t)})
	sum := sha256.Sum256([]byte(inlineScript))
	scriptHash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	isIndex := func(a answer) bool { return strings.Contains(a.body, `data-openclaw-control-ui-build-id="b1"`) }

	cases := []struct {
		name     string
		method   string
		target   string
		header   map[string]string
		code     int
		index    bool              // the body is the rewritten index.html
		body     string            // else the exact body ("" = not checked)
		headers  map[string]string // exact header values
		notInAny string            // must not appear in the body
	}{
		{name: "root is the index", method: "GET", target: "/", code: 200, index: true,
			headers: map[string]string{"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}},
		{name: "HEAD of the root", method: "HEAD", target: "/", code: 200, body: "",
			headers: map[string]string{"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"}},
		{name: "index.html by name", method: "GET", target: "/index.html", code: 200, index: true},
		{name: "an app route falls back to the index", method: "GET", target: "/sessions", code: 200, index: true},
		{name: "an encoded deep link", method: "GET", target: "/chat/agent%3Amain%3Amain", code: 200, index: true},
		{name: "a route with a trailing slash", method: "GET", target: "/settings/devices/", code: 200, index: true},
		{name: "POST is refused", method: "POST", target: "/", code: 405, headers: map[string]string{"Allow": "GET, HEAD"}},
		{name: "OPTIONS is refused", method: "OPTIONS", target: "/sessions", code: 405},
		{name: "an API path is a JSON 404", method: "GET", target: "/api/nope", code: 404,
			headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, body: `{"error":{"message":"Not Found","type":"not_found"}}` + "\n"},
		{name: "the bare API path", method: "GET", target: "/api", code: 404, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "the OpenAI API when off", method: "GET", target: "/v1/models", code: 404},
		{name: "a missing asset is 404, not the app", method: "GET", target: "/assets/does-not-exist.js", code: 404},
		{name: "a missing image is 404", method: "GET", target: "/nope.png", code: 404},
		{name: "an asset, plain", method: "GET", target: "/assets/app-abc.js", code: 200, body: "console.log('plain')",
			headers: map[string]string{"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "application/javascript; charset=utf-8", "Vary": "Accept-Encoding", "X-Frame-Options": "DENY"}},
		{name: "an asset, brotli", method: "GET", target: "/assets/app-abc.js", header: map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}, code: 200, body: "BROTLI-BYTES",
			headers: map[string]string{"Content-Encoding": "br", "Content-Type": "application/javascript; charset=utf-8", "Vary": "Accept-Encoding"}},
		{name: "an asset, gzip", method: "GET", target: "/assets/app-abc.js", header: map[string]string{"Accept-Encoding": "gzip"}, code: 200, body: "GZIP-BYTES",
			headers: map[string]string{"Content-Encoding": "gzip"}},
		{name: "brotli refused by q=0", method: "GET", target: "/assets/app-abc.js", header: map[string]string{"Accept-Encoding": "br;q=0, gzip"}, code: 200, body: "GZIP-BYTES"},
		{name: "gzip preferred by q", method: "GET", target: "/assets/app-abc.js", header: map[string]string{"Accept-Encoding": "br;q=0.5, gzip;q=0.9"}, code: 200, body: "GZIP-BYTES"},
		{name: "no precompressed form", method: "GET", target: "/assets/style-def.css", header: map[string]string{"Accept-Encoding": "br"}, code: 200, body: "body{margin:0}",
			headers: map[string]string{"Content-Type": "text/css; charset=utf-8", "Content-Encoding": ""}},
		{name: "an image is not compressed", method: "GET", target: "/assets/logo-123.png", header: map[string]string{"Accept-Encoding": "br"}, code: 200,
			headers: map[string]string{"Content-Type": "image/png", "Vary": ""}},
		{name: "the compressed file itself is not served", method: "GET", target: "/assets/app-abc.js.br", code: 404},
		{name: "HEAD of an asset", method: "HEAD", target: "/assets/app-abc.js", code: 200, body: "",
			headers: map[string]string{"Content-Length": "20"}},
		{name: "an asset from a deep link", method: "GET", target: "/chat/main/assets/app-abc.js", code: 200, body: "console.log('plain')"},
		{name: "a root file", method: "GET", target: "/favicon.svg", code: 200, body: "<svg/>",
			headers: map[string]string{"Cache-Control": "no-cache", "Content-Type": "image/svg+xml"}},
		{name: "a root file under __openclaw__", method: "GET", target: "/__openclaw__/manifest.webmanifest", code: 200, body: `{"name":"x"}`,
			headers: map[string]string{"Content-Type": "application/manifest+json; charset=utf-8"}},
		{name: "a nested file", method: "GET", target: "/sub/notes.txt", code: 200, body: "notes"},
		{name: "dot-dot is cleaned inside the root", method: "GET", target: "/sub/../../secret.txt", code: 404, notInAny: secret},
		{name: "encoded dot-dot", method: "GET", target: "/%2e%2e/secret.txt", code: 404, notInAny: secret},
		{name: "a symlink leaving the root", method: "GET", target: "/escape.txt", code: 404, notInAny: secret},
		{name: "an extensionless symlink leaving the root is the app", method: "GET", target: "/escape", code: 200, index: true, notInAny: secret},
		{name: "a backslash", method: "GET", target: "/assets%5capp-abc.js", code: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, h, c.method, c.target, c.header)
			if a.code != c.code {
				t.Fatalf("%s %s = %d, want %d (body %q)", c.method, c.target, a.code, c.code, a.body)
			}
			if c.index && !isIndex(a) {
				t.Errorf("body is not the index: %q", a.body)
			}
			if !c.index && c.body != "" && a.body != c.body {
				t.Errorf("body = %q, want %q", a.body, c.body)
			}
			if c.method == "HEAD" && a.body != "" {
				t.Errorf("HEAD has a body: %q", a.body)
			}
			for k, v := range c.headers {
				if got := a.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if c.notInAny != "" && strings.Contains(a.body, c.notInAny) {
				t.Errorf("body leaks %q", c.notInAny)
			}
			if c.code < 300 || c.code == 404 && !strings.HasPrefix(c.target, "/api") {
				if got := a.header.Get("X-Frame-Options"); got != "DENY" {
					t.Errorf("X-Frame-Options = %q, want DENY", got)
				}
				if got := a.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
					t.Errorf("CSP = %q, want frame-ancestors 'none'", got)
				}
			}
			if c.index {
				csp := a.header.Get("Content-Security-Policy")
				if !strings.Contains(csp, "script-src 'self' "+scriptHash+" ") {
					t.Errorf("CSP does not allow the inline script by its hash %s: %q", scriptHash, csp)
				}
			}
		})
	}
}

// TestIndexRewrite: the index's relative links are anchored at the base
// path and <html> says where the app is mounted, as the reference's do.
func TestIndexRewrite(t *testing.T) {
	root := fixture(t)
	for _, c := range []struct {
		basePath, base string
	}{{"", ""}, {"/", ""}, {"/ui", "/ui"}, {"/ui/", "/ui"}, {"/a/b", "/a/b"}} {
		h := Handler(Options{Root: root, BasePath: c.basePath})
		a := do(t, h, "GET", c.base+"/sessions", nil)
		if a.code != 200 {
			t.Fatalf("basePath %q: GET %s/sessions = %d", c.basePath, c.base, a.code)
		}
		for _, want := range []string{
			`<html data-openclaw-control-ui-base-path="` + c.base + `" data-openclaw-control-ui-build-id="b1" lang="en">`,
			`src="` + c.base + `/assets/app-abc.js"`,
			`href="` + c.base + `/assets/style-def.css"`,
			`href="` + c.base + `/favicon.svg"`,
			`href="` + c.base + `/manifest.webmanifest"`,
		} {
			if !strings.Contains(a.body, want) {
				t.Errorf("basePath %q: index lacks %s:\n%s", c.basePath, want, a.body)
			}
		}
		if strings.Contains(a.body, `"./`) {
			t.Errorf("basePath %q: a relative link is left:\n%s", c.basePath, a.body)
		}
	}
}

func TestBasePath(t *testing.T) {
	h := Handler(Options{Root: fixture(t), BasePath: "/ui"})
	cases := []struct {
		target   string
		code     int
		location string
		body     string
	}{
		{"/ui", 302, "/ui/", ""},
		{"/ui?token=x", 302, "/ui/?token=x", ""},
		{"/ui/", 200, "", ""},
		{"/ui/chat/main", 200, "", ""},
		{"/ui/assets/app-abc.js", 200, "", "console.log('plain')"},
		{"/ui/api/x", 404, "", ""},
		{"/", 404, "", ""},
		{"/sessions", 404, "", ""},
		{"/uix", 404, "", ""},
	}
	for _, c := range cases {
		a := do(t, h, "GET", c.target, nil)
		if a.code != c.code {
			t.Errorf("GET %s = %d, want %d", c.target, a.code, c.code)
		}
		if got := a.header.Get("Location"); got != c.location {
			t.Errorf("GET %s: Location = %q, want %q", c.target, got, c.location)
		}
		if c.body != "" && a.body != c.body {
			t.Errorf("GET %s: body = %q, want %q", c.target, a.body, c.body)
		}
	}
}

// TestMissingRoot: a root that does not exist says so (503) until it does.
func TestMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "not-built-yet")
	h := Handler(Options{Root: root})
	if a := do(t, h, "GET", "/", nil); a.code != 503 || !strings.Contains(a.body, root) {
		t.Fatalf("GET / with a missing root = %d %q, want 503 naming the root", a.code, a.body)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<html><p>built</p></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a := do(t, h, "GET", "/", nil); a.code != 200 || !strings.Contains(a.body, "built") {
		t.Fatalf("GET / once built = %d %q", a.code, a.body)
	}
}

// TestEmbedded: without a root the given file system is served by the same
// rules.
func TestEmbedded(t *testing.T) {
	fsys := fstest.MapFS{
		"index.html": {Data: []byte(`<!doctype html><html lang="en"><script type="module" src="./app.js"></script></html>`)},
		"app.js":     {Data: []byte("export {}")},
	}
	h := Handler(Options{FS: fsys, BasePath: "/x"})
	a := do(t, h, "GET", "/x/nodes", nil)
	if a.code != 200 || !strings.Contains(a.body, `<html data-openclaw-control-ui-base-path="/x" lang="en">`) {
		t.Fatalf("GET /x/nodes = %d %q", a.code, a.body)
	}
	if a := do(t, h, "GET", "/x/app.js", nil); a.code != 200 || a.body != "export {}" || a.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /x/app.js = %d %q %v", a.code, a.body, a.header)
	}
}

func TestAcceptedEncodings(t *testing.T) {
	cases := map[string][]string{
		"":                         nil,
		"identity":                 nil,
		"gzip":                     {"gzip"},
		"br":                       {"br"},
		"gzip, deflate, br, zstd":  {"br", "gzip"},
		"br;q=0, gzip":             {"gzip"},
		"br;q=0.5, gzip;q=0.9":     {"gzip", "br"},
		"*":                        {"br", "gzip"},
		"*;q=0":                    nil,
		"gzip;q=0, *":              {"br"},
		"x-gzip":                   {"gzip"},
		"GZIP ; Q=0.3 , BR;q=0.2 ": {"gzip", "br"},
	}
	for in, want := range cases {
		if got := acceptedEncodings(in); !reflect.DeepEqual(got, want) {
			t.Errorf("acceptedEncodings(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNormalizeBasePath(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "/ui": "/ui", "/ui/": "/ui", "ui": "/ui", " /a/b// ": "/a/b"} {
		if got := NormalizeBasePath(in); got != want {
			t.Errorf("NormalizeBasePath(%q) = %q, want %q", in, got, want)
		}
	}
}
