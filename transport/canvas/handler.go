// Package canvas is the canvas host: a static file server for
// <workspace>/canvas at /__openclaw__/canvas/, on its own port
// (canvasHost.port, default gateway port + 4) and mounted on the gateway port
// too (docs/PROTOCOL.md §8).
//
// Files are read through os.Root, so nothing outside the root is ever opened:
// `..` segments (plain or percent-encoded), encoded slashes, backslashes and
// NUL bytes are rejected with 400 before the file system is touched, and a
// symlink that resolves outside the root answers 404 (symlinks within the
// root work). Directories are never listed: a directory serves its
// index.html, or 404.
package canvas

import (
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Prefix is the URL path the canvas is served under.
const Prefix = "/__openclaw__/canvas/"

// Handler serves the files under root at Prefix. Mount it with
// mux.Handle(canvas.Prefix, h) or use it as a whole server's handler: it
// strips Prefix itself and answers 404 to paths outside it. The root is
// opened per request, so a root that does not exist yet answers 404 until it
// is created. Only GET and HEAD are allowed.
//
// Every answer carries X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer and Cache-Control: no-cache; files get a Content-Type from
// their extension (sniffed when it is unknown), Last-Modified, and range and
// conditional request support.
func Handler(root string) http.Handler {
	return &handler{root: root}
}

type handler struct{ root string }

func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

func notFound(w http.ResponseWriter) {
	http.Error(w, "404 page not found", http.StatusNotFound)
}

func badRequest(w http.ResponseWriter) {
	http.Error(w, "400 bad request", http.StatusBadRequest)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Opaque != "" {
		badRequest(w)
		return
	}
	escaped := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		if escaped == strings.TrimSuffix(Prefix, "/") {
			redirect(w, r, Prefix)
			return
		}
		notFound(w)
		return
	}
	name, ok := fileName(rest)
	if !ok {
		badRequest(w)
		return
	}
	wantDir := rest == "" || strings.HasSuffix(rest, "/")

	root, err := os.OpenRoot(h.root)
	if err != nil {
		notFound(w) // no root (yet)
		return
	}
	defer func() { _ = root.Close() }()

	// Stat follows symlinks, and fails for those that leave the root.
	fi, err := root.Stat(name)
	if err != nil {
		notFound(w)
		return
	}
	if fi.IsDir() {
		if !wantDir {
			// dir -> dir/, so that the index's relative links resolve.
			redirect(w, r, "./"+path.Base(escaped)+"/")
			return
		}
		name = filepath.Join(name, "index.html")
		if fi, err = root.Stat(name); err != nil {
			notFound(w)
			return
		}
	} else if wantDir {
		notFound(w)
		return
	}
	if !fi.Mode().IsRegular() {
		notFound(w) // no FIFOs, devices, or a directory named index.html
		return
	}
	f, err := root.Open(name)
	if err != nil {
		notFound(w)
		return
	}
	defer func() { _ = f.Close() }()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		notFound(w) // replaced between Stat and Open
		return
	}
	// The Content-Type follows the requested name's extension (a symlink
	// named like its target's type is served as such).
	http.ServeContent(w, r, filepath.Base(name), fi.ModTime(), f)
}

// fileName turns the escaped path below Prefix into a name relative to the
// root ("." for the root itself). Every segment is unescaped on its own, so
// an encoded slash cannot join two segments; a segment that is "." or "..",
// or holds a slash, a backslash or a NUL after unescaping, or is not a local
// name on this OS (e.g. a Windows drive or device name), makes the whole
// path invalid. Empty segments (a//b) are skipped.
func fileName(escaped string) (string, bool) {
	var segs []string
	for raw := range strings.SplitSeq(escaped, "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil || seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\\x00") || !filepath.IsLocal(seg) {
			return "", false
		}
		segs = append(segs, seg)
	}
	if len(segs) == 0 {
		return ".", true
	}
	return filepath.Join(segs...), true
}

// redirect answers 301 to target (relative to the request's path), keeping
// the query.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}
