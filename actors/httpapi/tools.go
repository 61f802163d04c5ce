package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"openclaw/actors/tools"
	"openclaw/config"
)

// ---- POST /tools/invoke ----

type invokeRequest struct {
	Tool           string          `json:"tool"`
	Name           string          `json:"name"`
	Action         string          `json:"action"`
	Args           json.RawMessage `json:"args"`
	SessionKey     string          `json:"sessionKey"`
	AgentID        string          `json:"agentId"`
	IdempotencyKey string          `json:"idempotencyKey"`
}

type invokeError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type invokeResult struct {
	Content []textContent   `json:"content"`
	Details json.RawMessage `json:"details,omitempty"`
}

type invokeFailure struct {
	OK    bool        `json:"ok"`
	Error invokeError `json:"error"`
}

type invokeSuccess struct {
	OK     bool         `json:"ok"`
	Result invokeResult `json:"result"`
}

func toolFail(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, invokeFailure{OK: false, Error: invokeError{Type: typ, Message: msg}})
}

func (a *api) toolsInvoke(w http.ResponseWriter, r *http.Request, cfg *config.Config) {
	var req invokeRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			toolFail(w, http.StatusRequestEntityTooLarge, "invalid_request", "Payload too large")
			return
		}
		toolFail(w, http.StatusBadRequest, "invalid_request", "invalid JSON body: "+err.Error())
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = strings.TrimSpace(req.Tool)
	}
	if name == "" {
		toolFail(w, http.StatusBadRequest, "invalid_request", "tools.invoke requires name")
		return
	}
	if id := strings.TrimSpace(req.AgentID); id != "" {
		agentID, herr := knownAgent(cfg, id)
		if herr != nil {
			toolFail(w, http.StatusBadRequest, "invalid_request", herr.msg)
			return
		}
		if k := strings.TrimSpace(req.SessionKey); strings.HasPrefix(k, "agent:") {
			if owner, _, _ := strings.Cut(strings.TrimPrefix(k, "agent:"), ":"); !strings.EqualFold(owner, agentID) {
				toolFail(w, http.StatusBadRequest, "invalid_request",
					`agent id "`+agentID+`" does not match session agent "`+owner+`"`)
				return
			}
		}
	}
	tool := a.d.Tools[name]
	if tool == nil || !tools.Allowed(cfg, name, true) {
		toolFail(w, http.StatusNotFound, "not_found", "Tool not available: "+name)
		return
	}
	args := map[string]json.RawMessage{}
	if len(req.Args) > 0 && json.Unmarshal(req.Args, &args) != nil {
		args = map[string]json.RawMessage{} // not an object: no arguments
	}
	if args == nil {
		args = map[string]json.RawMessage{}
	}
	if action := strings.TrimSpace(req.Action); action != "" && args["action"] == nil && hasProperty(tool.Parameters, "action") {
		args["action"], _ = json.Marshal(action)
	}
	argsJSON, _ := json.Marshal(args)
	out, err := tool.Invoke(r.Context(), argsJSON)
	if r.Context().Err() != nil {
		return // the client went away
	}
	var argErr *tools.ArgumentError
	if errors.As(err, &argErr) {
		toolFail(w, http.StatusBadRequest, "invalid_request", argErr.Msg)
		return
	}
	if err != nil {
		toolFail(w, http.StatusInternalServerError, "tool_error", err.Error())
		return
	}
	res := invokeResult{Content: []textContent{{Type: "text", Text: out}}}
	if t := strings.TrimSpace(out); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		res.Details = json.RawMessage(t)
	}
	writeJSON(w, http.StatusOK, invokeSuccess{OK: true, Result: res})
}

// hasProperty reports whether a JSON schema object declares property p.
func hasProperty(schema json.RawMessage, p string) bool {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	return json.Unmarshal(schema, &s) == nil && s.Properties[p] != nil
}
