// Package httpapi is the gateway's HTTP API on its one port (docs/PROTOCOL.md §8):
// the OpenAI-compatible POST /v1/chat/completions and GET /v1/models, the
// OpenResponses POST /v1/responses, and POST /tools/invoke.
//
// It is an adapter from HTTP to the actors: every request is an agent run
// through the same runs actor the WebSocket methods use (core.BeginRun: its
// text deltas and its outcome come back without blocking the actor), or one
// of the gateway's tools. A client that goes away mid-request aborts its run.
//
// The handlers read the active config on every request, so the enable
// switches (gateway.http.endpoints.*.enabled) and the tool policy
// (gateway.tools) follow a hot reload. The shared secret is read per request
// too.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/actors/tools"
	"openclaw/config"
	"openclaw/transport/auth"
)

// Body size limits (the reference's defaults).
const (
	maxRunBody  = 20 << 20 // chat completions, responses
	maxToolBody = 2 << 20  // tools/invoke
)

// endpoint names what switch gates a route.
type endpoint int

const (
	always endpoint = iota
	chatCompletions
	responses
	models // on when either of the above is
)

func (e endpoint) enabled(c *config.Config) bool {
	ep := c.Gateway.HTTP.Endpoints
	switch e {
	case chatCompletions:
		return ep.ChatCompletions.Enabled
	case responses:
		return ep.Responses.Enabled
	case models:
		return ep.ChatCompletions.Enabled || ep.Responses.Enabled
	}
	return true
}

// Deps is what the HTTP APIs are built with.
type Deps struct {
	Root    *actor.RootContext
	Runs    *actor.PID // agent runs
	Store   store.Store
	Tools   tools.Set
	Config  *core.Live[*config.Config]
	Secret  *core.Live[auth.Secret]
	Limiter *core.Live[*auth.Limiter]
	Log     *slog.Logger
	// Metrics, when set, is served at GET /metrics (metrics.go).
	Metrics http.Handler
	// ControlUI, when set, has the Control UI's bootstrap file served
	// (controluiconfig.go).
	ControlUI *ControlUI
	// Devices is the devices actor, which vouches for a device's operator
	// token (the Control UI's bearer for its bootstrap file).
	Devices *actor.PID
}

type api struct{ d Deps }

// Routes returns the HTTP API's handlers keyed by http.ServeMux pattern, for
// server.Options.Routes.
func Routes(d Deps) map[string]http.Handler {
	a := &api{d: d}
	routes := map[string]http.Handler{
		"POST /v1/chat/completions": a.guard(chatCompletions, maxRunBody, a.chatCompletions),
		"GET /v1/models":            a.guard(models, 0, a.listModels),
		"GET /v1/models/{id...}":    a.guard(models, 0, a.getModel),
		"POST /v1/responses":        a.guard(responses, maxRunBody, a.responses),
		"POST /tools/invoke":        a.guard(always, maxToolBody, a.toolsInvoke),
	}
	if d.Metrics != nil {
		routes["GET /metrics"] = a.metrics(d.Metrics)
	}
	if d.ControlUI != nil {
		for _, p := range controlUIConfigPaths(d.ControlUI.BasePath) {
			routes["GET "+p] = a.controlUIConfig(*d.ControlUI)
		}
	}
	return routes
}

// guard applies what every route shares: the security headers, the enable
// switch (a disabled endpoint is 404, before auth, as if it did not exist),
// the bearer check with the per-IP failure limiter, and the body limit.
func (a *api) guard(ep endpoint, maxBody int64, next func(w http.ResponseWriter, r *http.Request, cfg *config.Config)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		cfg := a.d.Config.Get()
		if !ep.enabled(cfg) {
			writeError(w, http.StatusNotFound, "not_found", "Not Found")
			return
		}
		if !a.authorize(w, r) {
			return
		}
		if maxBody > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next(w, r, cfg)
	})
}

// authorize checks "Authorization: Bearer <token or password>" against the
// shared secret in constant time. It writes the 401 or 429 and returns false
// when the request may not go on.
func (a *api) authorize(w http.ResponseWriter, r *http.Request) bool {
	return a.authorizeOr(w, r, nil)
}

// authorizeOr is authorize where also a bearer that also(bearer) accepts
// lets the request go on (and counts as no failure).
func (a *api) authorizeOr(w http.ResponseWriter, r *http.Request, also func(string) bool) bool {
	secret := a.d.Secret.Get()
	if secret.Mode == auth.ModeNone {
		return true
	}
	ip := clientIP(r)
	lim := a.d.Limiter.Get()
	if lim != nil {
		if locked, left := lim.Locked(ip); locked {
			rateLimited(w, left)
			return false
		}
	}
	if tok := bearer(r); secret.Matches(tok) || (also != nil && tok != "" && also(tok)) {
		if lim != nil {
			lim.Succeed(ip)
		}
		return true
	}
	if lim != nil {
		if locked, left := lim.Fail(ip); locked {
			rateLimited(w, left)
			return false
		}
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
	return false
}

func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func rateLimited(w http.ResponseWriter, left time.Duration) {
	secs := int((left + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "Too many failed authentication attempts. Please try again later.")
}

func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ---- JSON and SSE output ----

// marshal encodes v as one line of JSON without HTML escaping (as
// JSON.stringify does).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own static types are encoded.
		panic(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(marshal(v), '\n'))
}

// errorBody is the OpenAI error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Message: msg, Type: typ}})
}

// httpError is a failure answered before any output.
type httpError struct {
	status     int
	typ, msg   string
	retryAfter time.Duration
}

func (e *httpError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeError(w, e.status, e.typ, e.msg)
}

func invalid(msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, typ: "invalid_request_error", msg: msg}
}

// readJSON decodes the request body into v; a failure is a 400 (413 when
// the body is over the limit).
func readJSON(r *http.Request, v any) *httpError {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error", msg: "Payload too large"}
		}
		return invalid("Invalid JSON body: " + err.Error())
	}
	return nil
}

// sse writes a text/event-stream response and flushes after every event.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s
}

// event writes one event: "event: <name>" (when name is set) and one data
// line, then flushes. An error means the client is gone.
func (s *sse) event(name string, data []byte) error {
	var b bytes.Buffer
	if name != "" {
		b.WriteString("event: ")
		b.WriteString(name)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sse) done() error { return s.event("", []byte("[DONE]")) }

func (a *api) logger() *slog.Logger {
	if a.d.Log != nil {
		return a.d.Log
	}
	return slog.Default()
}
