// Package controlui serves a Control UI build on the gateway port: the
// browser app that talks to the gateway over its WebSocket. It is either the
// page built into the gateway (package builtin, embedded) or a directory
// named by gateway.controlUi.root, e.g. the reference's own build
// (node_modules/openclaw/dist/control-ui), served unchanged.
//
// The rules are the reference gateway's, as recorded from it
// (docs/PROTOCOL.md §8):
//
//   - only GET and HEAD (anything else is 405);
//   - the base path without its slash redirects to base path + "/";
//   - a file that exists is served; a path that names no file falls back to
//     index.html (the app routes with the History API: /chat/main,
//     /sessions, …), except a missing asset (a name with a static file's
//     extension: 404) and /api/* (a JSON 404: an API client must never get
//     a page);
//   - an asset is sent precompressed (name.br, name.gz next to it) when the
//     browser accepts it; files under assets/ are fingerprinted by the
//     build, so they are cached for a year, everything else is
//     Cache-Control: no-cache;
//   - index.html is rewritten as the reference does: its relative asset
//     links are anchored at the base path (so a deep link like
//     /chat/agent:main loads /assets/…, not /chat/assets/…), and <html>
//     gets data-openclaw-control-ui-base-path, which the app reads to find
//     its WebSocket (ws://host<basePath>);
//   - every answer carries X-Frame-Options: DENY, a Content-Security-Policy
//     with frame-ancestors 'none' (index.html's inline scripts allowed by
//     their hashes, nothing else inline), nosniff and no-referrer.
//
// Files of a configured root are read through os.Root, so nothing outside
// it is opened (`..` is cleaned away, symlinks leaving it fail).
package controlui

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// Cache-Control values: fingerprinted assets never change under their name;
// everything else is checked with the server on every use.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

// maxIndexBytes bounds the index.html read into memory for rewriting (the
// reference's is 18 KB).
const maxIndexBytes = 4 << 20

// Options configure the Control UI handler.
type Options struct {
	// BasePath is gateway.controlUi.basePath: "" or "/" serves at the root
	// of the port, "/openclaw" under /openclaw/.
	BasePath string
	// Root is a directory holding a built UI (index.html, assets/, …).
	// Empty: FS is served.
	Root string
	// FS is the built-in UI, served when Root is empty.
	FS fs.FS
}

// NormalizeBasePath turns gateway.controlUi.basePath into the form the
// handler and the page use: "" for the root, else "/a/b" with no trailing
// slash (as the reference's normalizeControlUiBasePath).
func NormalizeBasePath(p string) string {
	p = strings.TrimSpace(p)
	if p == "" || p == "/" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return strings.TrimRight(p, "/")
}

// Handler serves the UI. Mount it at "/" of the gateway's mux: the other
// routes (probes, APIs, canvas) are more specific and win, and the handler
// answers 404 to what lies outside the base path.
func Handler(o Options) http.Handler {
	return &handler{base: NormalizeBasePath(o.BasePath), root: o.Root, fsys: o.FS}
}

type handler struct {
	base string
	root string
	fsys fs.FS
}

// open returns the file system to serve and a function releasing it.
func (h *handler) open() (fs.FS, func(), error) {
	if h.root == "" {
		if h.fsys == nil {
			return nil, nil, errors.New("no Control UI")
		}
		return h.fsys, func() {}, nil
	}
	// Opened per request: a root built after the gateway started is served
	// as soon as it exists.
	r, err := os.OpenRoot(h.root)
	if err != nil {
		return nil, nil, err
	}
	return r.FS(), func() { _ = r.Close() }, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if h.base != "" {
		if p == h.base {
			target := h.base + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		rest, ok := strings.CutPrefix(p, h.base+"/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		p = "/" + rest
	}
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// An API client gets an API answer, never the app.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"message":"Not Found","type":"not_found"}}`+"\n")
		return
	}
	if p == "/v1" || strings.HasPrefix(p, "/v1/") {
		// The OpenAI-compatible API when it is turned off.
		http.NotFound(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(p, "/__openclaw__/"); ok && !rootPublicAssets[rest] {
		// The gateway's own endpoints (the canvas, …): when one is off,
		// its path is a 404, never the app.
		http.NotFound(w, r)
		return
	}
	name, ok := fileName(p)
	if !ok {
		http.NotFound(w, r)
		return
	}
	fsys, release, err := h.open()
	if err != nil {
		http.Error(w, "Control UI assets not found at "+h.root+": set gateway.controlUi.root to a built Control UI", http.StatusServiceUnavailable)
		return
	}
	defer release()

	ext := strings.ToLower(path.Ext(name))
	if ext == ".br" || ext == ".gz" {
		http.NotFound(w, r) // the compressed forms are reached through Accept-Encoding
		return
	}
	if name != "" && path.Base(name) != "index.html" {
		if fi, err := fs.Stat(fsys, name); err == nil && fi.Mode().IsRegular() {
			serveFile(w, r, fsys, name, fi)
			return
		}
		if _, static := staticTypes[ext]; static {
			http.NotFound(w, r) // a missing asset is not a page
			return
		}
	}
	h.serveIndex(w, r, fsys)
}

// fileName turns a URL path below the base path into a name in the UI's
// file system ("" for the index). A request for <x>/assets/<f> from a deep
// link resolves to assets/<f>, and the root public files (favicon, manifest)
// are also found under /__openclaw__/, as in the reference.
func fileName(p string) (string, bool) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if strings.HasSuffix(p, "/") && name != "" {
		return "", true // a directory path: the app's route, the index
	}
	if i := strings.Index("/"+name, "/assets/"); i > 0 {
		name = name[i:]
	}
	if rest, ok := strings.CutPrefix(name, "__openclaw__/"); ok && rootPublicAssets[rest] {
		name = rest
	}
	if name == "." || (name != "" && !fs.ValidPath(name)) {
		return "", false
	}
	return name, true
}

// rootPublicAssets are the files a build keeps at its root besides
// index.html (the reference's CONTROL_UI_ROOT_PUBLIC_ASSETS).
var rootPublicAssets = map[string]bool{
	"apple-touch-icon.png": true, "favicon-32.png": true, "favicon.ico": true,
	"favicon.svg": true, "manifest.webmanifest": true, "sw.js": true,
}

// staticTypes are the Content-Types of the files a build holds (the
// reference's table); a missing file with one of these extensions is a 404,
// not the app.
var staticTypes = map[string]string{
	".js":          "application/javascript; charset=utf-8",
	".mjs":         "application/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json; charset=utf-8",
	".map":         "application/json; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
	".webmanifest": "application/manifest+json; charset=utf-8",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
}

// compressible are the types worth sending precompressed.
var compressible = map[string]bool{
	".css": true, ".html": true, ".js": true, ".mjs": true, ".json": true, ".svg": true,
	".txt": true, ".wasm": true, ".webmanifest": true, ".map": true,
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := staticTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// serveFile sends one file of the build, precompressed when the browser
// takes it and the build has it.
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string, fi fs.FileInfo) {
	hd := w.Header()
	hd.Set("Content-Type", contentType(name))
	if strings.HasPrefix(name, "assets/") {
		hd.Set("Cache-Control", cacheImmutable)
	} else {
		hd.Set("Cache-Control", cacheNoCache)
	}
	body := name
	if compressible[strings.ToLower(path.Ext(name))] {
		hd.Set("Vary", "Accept-Encoding")
		for _, enc := range acceptedEncodings(r.Header.Get("Accept-Encoding")) {
			if cfi, err := fs.Stat(fsys, name+encodingSuffix[enc]); err == nil && cfi.Mode().IsRegular() {
				hd.Set("Content-Encoding", enc)
				body = name + encodingSuffix[enc]
				break
			}
		}
	}
	f, err := fsys.Open(body)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer func() { _ = f.Close() }()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "unreadable file", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), rs)
}

// serveIndex sends index.html, rewritten for the base path.
func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request, fsys fs.FS) {
	f, err := fsys.Open("index.html")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxIndexBytes))
	_ = f.Close()
	if err != nil {
		http.Error(w, "reading index.html", http.StatusInternalServerError)
		return
	}
	page := rewriteIndex(raw, h.base)
	hd := w.Header()
	// The reference's app runs its terminal in WebAssembly.
	hd.Set("Content-Security-Policy", csp(append(inlineScriptHashes(page), "'wasm-unsafe-eval'"), r.Host))
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", cacheNoCache)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
}

// securityHeaders go on every answer of the UI: it is never framed, and
// never sniffed.
func securityHeaders(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", csp(nil, ""))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
