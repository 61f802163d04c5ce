package controlui

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net"
	"regexp"
	"strings"
)

// BasePathAttribute is the <html> attribute that tells the app where it is
// mounted; the app connects to ws(s)://<host><basePath>.
const BasePathAttribute = "data-openclaw-control-ui-base-path"

// rewriteIndex anchors index.html's relative links at the base path and
// stamps the base path on <html>, as the reference gateway does
// (rewriteControlUiIndexHtmlAssetHrefs, serveResolvedIndexHtml).
func rewriteIndex(page []byte, base string) []byte {
	pairs := []string{`src="./assets/`, `src="` + base + `/assets/`, `href="./assets/`, `href="` + base + `/assets/`}
	for asset := range rootPublicAssets {
		pairs = append(pairs, `href="./`+asset+`"`, `href="`+base+`/`+asset+`"`)
		if base != "" {
			pairs = append(pairs, `href="/`+asset+`"`, `href="`+base+`/`+asset+`"`)
		}
	}
	s := strings.NewReplacer(pairs...).Replace(string(page))
	attr := " " + BasePathAttribute + `="` + html.EscapeString(base) + `"`
	if loc := htmlTag.FindStringIndex(s); loc != nil {
		tag := basePathAttr.ReplaceAllString(s[loc[0]:loc[1]], "")
		tag = tag[:len("<html")] + attr + tag[len("<html"):]
		s = s[:loc[0]] + tag + s[loc[1]:]
	}
	return []byte(s)
}

var (
	htmlTag      = regexp.MustCompile(`(?i)<html\b[^>]*>`)
	basePathAttr = regexp.MustCompile(`\s` + BasePathAttribute + `="[^"]*"`)
	// An inline script: <script …>body</script> with no src attribute.
	scriptBlock = regexp.MustCompile(`(?is)<script(\s[^>]*)?>(.*?)</script>`)
	srcAttr     = regexp.MustCompile(`(?i)\ssrc\s*=`)
)

// inlineScriptHashes are the CSP hashes of the page's inline scripts: the
// reference's index.html has two (theme and boot), which a script-src of
// 'self' alone would block.
func inlineScriptHashes(page []byte) []string {
	var out []string
	for _, m := range scriptBlock.FindAllSubmatch(page, -1) {
		if srcAttr.Match(m[1]) || len(m[2]) == 0 {
			continue
		}
		sum := sha256.Sum256(m[2])
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return out
}

// csp is the Content-Security-Policy of the UI's answers (the reference's
// buildControlUiCspHeader): scripts only from the gateway, plus what the
// page adds (its own inline scripts by hash, WebAssembly), never framed,
// WebSockets to anywhere (the app may be pointed at another gateway). host
// is the request's Host: the page may also fetch from other ports of the
// same host.
func csp(scriptExtra []string, host string) string {
	script := append([]string{"'self'"}, scriptExtra...)
	connect := []string{"'self'", "ws:", "wss:", "data:"}
	if h := hostname(host); h != "" {
		connect = append(connect, "http://"+h+":*", "https://"+h+":*")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"base-uri 'none'",
		"object-src 'none'",
		"frame-ancestors 'none'",
		"frame-src 'self' http: https:",
		"script-src " + strings.Join(script, " "),
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
		"img-src 'self' data: blob: https:",
		"media-src 'self' data: blob:",
		"font-src 'self' https://fonts.gstatic.com",
		"worker-src 'self'",
		"connect-src " + strings.Join(connect, " "),
	}, "; ")
}

// validHost matches a host name or address safe to put in a header value.
var validHost = regexp.MustCompile(`^[A-Za-z0-9.\-:\[\]]+$`)

func hostname(hostport string) string {
	if hostport == "" {
		return ""
	}
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	if strings.Contains(h, ":") {
		h = "[" + strings.Trim(h, "[]") + "]"
	}
	if !validHost.MatchString(h) {
		return ""
	}
	return h
}
