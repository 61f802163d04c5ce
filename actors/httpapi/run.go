package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// ---- agent and session routing ----

// agentModel is "openclaw/<id>", "openclaw:<id>" or "agent:<id>".
var agentModel = regexp.MustCompile(`(?i)^(?:openclaw[:/]|agent:)([a-z0-9][a-z0-9_-]{0,63})$`)

const invalidModel = "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."

// resolveAgent maps the request's model (an agent target, not an LLM) and
// the x-openclaw-agent-id header to a configured agent.
func resolveAgent(cfg *config.Config, r *http.Request, model string) (string, *httpError) {
	model = strings.TrimSpace(model)
	isDefault := strings.EqualFold(model, "openclaw") || strings.EqualFold(model, "openclaw/default")
	m := agentModel.FindStringSubmatch(model)
	if model != "" && !isDefault && m == nil {
		return "", invalid(invalidModel)
	}
	if h := strings.TrimSpace(firstHeader(r, "x-openclaw-agent-id", "x-openclaw-agent")); h != "" {
		return knownAgent(cfg, h)
	}
	if model == "" || isDefault {
		return config.DefaultAgent(cfg), nil
	}
	return knownAgent(cfg, m[1])
}

// knownAgent finds id among the configured agents (case-insensitively, as
// the reference normalizes agent ids to lower case).
func knownAgent(cfg *config.Config, id string) (string, *httpError) {
	if config.KnownAgent(cfg, id) {
		return id, nil
	}
	for _, a := range cfg.Agents.List {
		if strings.EqualFold(a.ID, id) {
			return a.ID, nil
		}
	}
	if len(cfg.Agents.List) == 0 && strings.EqualFold(id, config.DefaultAgentID) {
		return config.DefaultAgentID, nil
	}
	return "", invalid("Unknown agent '" + id + "'.")
}

// resolveSession picks the run's session: the x-openclaw-session-key
// header, else a stable key for the request's user, else a fresh one.
func resolveSession(r *http.Request, agentID, user, prefix string) (string, *httpError) {
	if k := strings.TrimSpace(r.Header.Get("x-openclaw-session-key")); k != "" {
		lk := strings.ToLower(k)
		for _, reserved := range []string{"subagent:", "cron:", "acp:"} {
			if strings.HasPrefix(lk, reserved) {
				return "", invalid("`x-openclaw-session-key` cannot use reserved internal session namespaces.")
			}
		}
		return k, nil
	}
	if u := strings.TrimSpace(user); u != "" {
		return "agent:" + agentID + ":" + prefix + "-user:" + u, nil
	}
	return "agent:" + agentID + ":" + prefix + ":" + uuid.NewString(), nil
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// failure maps a run's error to an HTTP status and an OpenAI error type.
func failure(e *protocol.ErrorShape) *httpError {
	h := &httpError{status: http.StatusInternalServerError, typ: "api_error", msg: e.Message}
	details, _ := e.Details.(map[string]any)
	switch e.Code {
	case protocol.CodeInvalidRequest:
		h.status, h.typ = http.StatusBadRequest, "invalid_request_error"
	case protocol.CodeAgentTimeout:
		h.status = http.StatusGatewayTimeout
	case protocol.CodeUnavailable:
		h.status = http.StatusServiceUnavailable
		if details["code"] == "PROVIDER_ERROR" {
			h.status = http.StatusBadGateway
			if st, _ := details["status"].(int); st == http.StatusTooManyRequests {
				h.status, h.typ = http.StatusTooManyRequests, "rate_limit_error"
			}
		}
		if e.RetryAfterMs != nil {
			h.retryAfter = time.Duration(*e.RetryAfterMs) * time.Millisecond
		}
	}
	return h
}

// finalText is the answer as streamed: the deltas, plus what the final text
// adds after them (a provider that did not stream). When the final differs
// from what was streamed (text before a tool call), the stream stands.
func finalText(streamed string, f *core.RunFinal) (text, rest string) {
	switch {
	case f == nil:
		return streamed, ""
	case strings.HasPrefix(f.Text, streamed):
		rest = f.Text[len(streamed):]
		text = f.Text
	default:
		text = streamed
	}
	if text == "" {
		return noResponse, noResponse
	}
	return text, rest
}

// noResponse stands in for an empty answer (as the reference does).
const noResponse = "No response from OpenClaw."

func totalTokens(f *core.RunFinal) (in, out, total int) {
	if f == nil {
		return 0, 0, 0
	}
	in, out = max(f.Usage.Input, 0), max(f.Usage.Output, 0)
	return in, out, max(in+out, f.Usage.Total)
}
