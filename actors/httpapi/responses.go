package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/config"
)

// ---- POST /v1/responses (OpenResponses) ----

// SessionNamespace is the store KV namespace mapping a response id to the
// session it ran in, for previous_response_id.
const SessionNamespace = "openresponses"

type responsesRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       string          `json:"instructions"`
	Stream             bool            `json:"stream"`
	User               string          `json:"user"`
	PreviousResponseID string          `json:"previous_response_id"`
}

type inputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// response is the OpenResponses response object, fields in the reference's
// order.
type response struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	CreatedAt         int64          `json:"created_at"`
	Status            string         `json:"status"`
	Model             string         `json:"model"`
	Output            []outputItem   `json:"output"`
	Usage             responsesUsage `json:"usage"`
	Error             *responseError `json:"error,omitempty"`
	IncompleteDetails *incomplete    `json:"incomplete_details,omitempty"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incomplete struct {
	Reason string `json:"reason"`
}

type outputItem struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
	Phase   string       `json:"phase,omitempty"`
	Status  string       `json:"status"`
}

type outputText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens     int `json:"cached_tokens"`
		CacheWriteTokens int `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// Stream events (sample_responses_stream.txt).
type (
	responseEvent struct {
		Type     string    `json:"type"`
		Response *response `json:"response"`
	}
	itemEvent struct {
		Type        string     `json:"type"`
		OutputIndex int        `json:"output_index"`
		Item        outputItem `json:"item"`
	}
	partEvent struct {
		Type         string     `json:"type"`
		ItemID       string     `json:"item_id"`
		OutputIndex  int        `json:"output_index"`
		ContentIndex int        `json:"content_index"`
		Part         outputText `json:"part"`
	}
	deltaEvent struct {
		Type         string `json:"type"`
		ItemID       string `json:"item_id"`
		OutputIndex  int    `json:"output_index"`
		ContentIndex int    `json:"content_index"`
		Delta        string `json:"delta"`
	}
	textDoneEvent struct {
		Type         string `json:"type"`
		ItemID       string `json:"item_id"`
		OutputIndex  int    `json:"output_index"`
		ContentIndex int    `json:"content_index"`
		Text         string `json:"text"`
	}
)

// storedSession is what previous_response_id finds.
type storedSession struct {
	SessionKey string `json:"sessionKey"`
	AgentID    string `json:"agentId"`
	// RequestedSessionKey is the request's x-openclaw-session-key ("" for none).
	RequestedSessionKey string `json:"requestedSessionKey,omitempty"`
	CreatedAt           int64  `json:"createdAt"`
}

func usageOf(f *core.RunFinal) responsesUsage {
	var u responsesUsage
	u.InputTokens, u.OutputTokens, u.TotalTokens = totalTokens(f)
	return u
}

func (a *api) responses(w http.ResponseWriter, r *http.Request, cfg *config.Config) {
	var req responsesRequest
	if e := readJSON(r, &req); e != nil {
		e.write(w)
		return
	}
	model := req.Model
	if strings.TrimSpace(model) == "" {
		model = "openclaw"
	}
	agentID, herr := resolveAgent(cfg, r, model)
	if herr != nil {
		herr.write(w)
		return
	}
	message, system, ok := responsesPrompt(req.Input)
	if !ok {
		invalid("input: expected a string or an array of input items").write(w)
		return
	}
	if strings.TrimSpace(message) == "" {
		invalid("Missing user message in `input`.").write(w)
		return
	}
	sessionKey, herr := resolveSession(r, agentID, req.User, "openresponses")
	if herr != nil {
		herr.write(w)
		return
	}
	// previous_response_id continues that response's session when it ran
	// for the same agent with the same x-openclaw-session-key (as the
	// reference scopes it); otherwise it is ignored.
	requested := strings.TrimSpace(r.Header.Get("x-openclaw-session-key"))
	if prev := strings.TrimSpace(req.PreviousResponseID); prev != "" {
		if s, ok := a.lookupResponse(r.Context(), prev); ok && s.AgentID == agentID && s.RequestedSessionKey == requested {
			sessionKey = s.SessionKey
		}
	}
	extra := strings.Join(nonEmpty(strings.TrimSpace(req.Instructions), system), "\n\n")

	id := "resp_" + uuid.NewString()
	itemID := "msg_" + uuid.NewString()
	created := time.Now().Unix()
	run, errShape := core.BeginRun(a.d.Root, a.d.Runs, core.RunParams{Message: message, IdempotencyKey: id, AgentID: agentID,
		SessionKey: sessionKey, ExtraSystemPrompt: extra})
	if errShape != nil {
		failure(errShape).write(w)
		return
	}
	resource := func(status string, output []outputItem, f *core.RunFinal) *response {
		res := &response{ID: id, Object: "response", CreatedAt: created, Status: status, Model: model,
			Output: output, Usage: usageOf(f)}
		if status == "incomplete" {
			res.IncompleteDetails = &incomplete{Reason: "max_output_tokens"}
		}
		return res
	}
	failed := func(o *core.RunOutcome) (*response, *httpError) {
		h := failure(o.Err)
		res := resource("failed", []outputItem{}, o.Final)
		res.Error = &responseError{Code: h.typ, Message: h.msg}
		return res, h
	}
	status := func(f *core.RunFinal) string {
		if f != nil && f.StopReason == "length" {
			return "incomplete"
		}
		return "completed"
	}

	if !req.Stream {
		o := run.Follow(r.Context(), nil)
		if o == nil {
			return
		}
		a.rememberResponse(id, storedSession{SessionKey: sessionKey, AgentID: agentID, RequestedSessionKey: requested})
		if o.Err != nil {
			res, h := failed(o)
			writeJSON(w, h.status, res)
			return
		}
		text, _ := finalText("", o.Final)
		st := status(o.Final)
		item := outputItem{Type: "message", ID: itemID, Role: "assistant",
			Content: []outputText{{Type: "output_text", Text: text}}, Phase: "final_answer", Status: st}
		writeJSON(w, http.StatusOK, resource(st, []outputItem{item}, o.Final))
		return
	}

	s := startSSE(w)
	send := func(typ string, v any) error { return s.event(typ, marshal(v)) }
	initial := resource("in_progress", []outputItem{}, nil)
	err := send("response.created", responseEvent{Type: "response.created", Response: initial})
	if err == nil {
		err = send("response.in_progress", responseEvent{Type: "response.in_progress", Response: initial})
	}
	if err == nil {
		err = send("response.output_item.added", itemEvent{Type: "response.output_item.added", OutputIndex: 0,
			Item: outputItem{Type: "message", ID: itemID, Role: "assistant", Content: []outputText{}, Status: "in_progress"}})
	}
	if err == nil {
		err = send("response.content_part.added", partEvent{Type: "response.content_part.added", ItemID: itemID,
			Part: outputText{Type: "output_text", Text: ""}})
	}
	if err != nil {
		run.Abort()
		return
	}
	delta := func(d string) error {
		return send("response.output_text.delta", deltaEvent{Type: "response.output_text.delta", ItemID: itemID, Delta: d})
	}
	var streamed strings.Builder
	o := run.Follow(r.Context(), func(d string) error {
		streamed.WriteString(d)
		return delta(d)
	})
	if o == nil {
		return
	}
	a.rememberResponse(id, storedSession{SessionKey: sessionKey, AgentID: agentID, RequestedSessionKey: requested})
	if o.Err != nil {
		res, _ := failed(o)
		_ = send("response.failed", responseEvent{Type: "response.failed", Response: res})
		_ = s.done()
		return
	}
	text, rest := finalText(streamed.String(), o.Final)
	if rest != "" {
		if delta(rest) != nil {
			return
		}
	}
	st := status(o.Final)
	part := outputText{Type: "output_text", Text: text}
	item := outputItem{Type: "message", ID: itemID, Role: "assistant", Content: []outputText{part}, Phase: "final_answer", Status: st}
	err = send("response.output_text.done", textDoneEvent{Type: "response.output_text.done", ItemID: itemID, Text: text})
	if err == nil {
		err = send("response.content_part.done", partEvent{Type: "response.content_part.done", ItemID: itemID, Part: part})
	}
	if err == nil {
		err = send("response.output_item.done", itemEvent{Type: "response.output_item.done", OutputIndex: 0, Item: item})
	}
	if err == nil {
		typ := "response." + st
		err = send(typ, responseEvent{Type: typ, Response: resource(st, []outputItem{item}, o.Final)})
	}
	if err == nil {
		_ = s.done()
	}
}

// responsesPrompt reads input: a string is the message; a list of items
// gives the last user message as the message and the system and developer
// messages as the extra system prompt. ok is false for any other input.
func responsesPrompt(raw json.RawMessage) (message, system string, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", "", true
	}
	if json.Unmarshal(raw, &message) == nil {
		return message, "", true
	}
	var items []inputItem
	if json.Unmarshal(raw, &items) != nil {
		return "", "", false
	}
	var sys []string
	for _, it := range items {
		if it.Type != "" && it.Type != "message" {
			continue // function_call, function_call_output, reasoning, item_reference
		}
		switch it.Role {
		case "system", "developer":
			if t := strings.TrimSpace(contentText(it.Content)); t != "" {
				sys = append(sys, t)
			}
		case "user":
			message = contentText(it.Content)
		}
	}
	return message, strings.Join(sys, "\n\n"), true
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rememberResponse records the session a response ran in, so that a later
// request naming it as previous_response_id continues that session.
// storeTimeout bounds reading or writing a response's session link.
const storeTimeout = 5 * time.Second

func (a *api) rememberResponse(id string, s storedSession) {
	if a.d.Store == nil {
		return
	}
	s.CreatedAt = time.Now().UnixMilli()
	b, _ := json.Marshal(s)
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := a.d.Store.Put(ctx, SessionNamespace, id, b); err != nil {
		a.logger().Warn("openresponses: remembering the response's session failed", "responseId", id, "err", err)
	}
}

func (a *api) lookupResponse(ctx context.Context, id string) (storedSession, bool) {
	var s storedSession
	if a.d.Store == nil {
		return s, false
	}
	b, ok, err := a.d.Store.Get(ctx, SessionNamespace, id)
	if err != nil || !ok || json.Unmarshal(b, &s) != nil || s.SessionKey == "" {
		return s, false
	}
	return s, true
}
