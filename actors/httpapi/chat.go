package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/config"
)

// ---- POST /v1/chat/completions ----

type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	User string `json:"user"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   chatUsage    `json:"usage"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	FinishReason string         `json:"finish_reason"`
}

type chatOutMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chatUsage    `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

func (a *api) chatCompletions(w http.ResponseWriter, r *http.Request, cfg *config.Config) {
	var req chatRequest
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
	sessionKey, herr := resolveSession(r, agentID, req.User, "openai")
	if herr != nil {
		herr.write(w)
		return
	}
	message, system := chatPrompt(req.Messages)
	if strings.TrimSpace(message) == "" {
		invalid("Missing user message in `messages`.").write(w)
		return
	}
	id := "chatcmpl_" + uuid.NewString()
	created := time.Now().Unix()
	run, errShape := core.BeginRun(a.d.Root, a.d.Runs, core.RunParams{Message: message, IdempotencyKey: id, AgentID: agentID,
		SessionKey: sessionKey, ExtraSystemPrompt: system})
	if errShape != nil {
		failure(errShape).write(w)
		return
	}

	if !req.Stream {
		o := run.Follow(r.Context(), nil)
		if o == nil {
			return // the client went away; the run was aborted
		}
		if o.Err != nil {
			failure(o.Err).write(w)
			return
		}
		text, _ := finalText("", o.Final)
		in, out, total := totalTokens(o.Final)
		writeJSON(w, http.StatusOK, chatCompletion{ID: id, Object: "chat.completion", Created: created, Model: model,
			Choices: []chatChoice{{Index: 0, Message: chatOutMessage{Role: "assistant", Content: text},
				FinishReason: finishReason(o.Final)}},
			Usage: chatUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: total}})
		return
	}

	s := startSSE(w)
	chunk := func(choices []chunkChoice, usage *chatUsage) []byte {
		return marshal(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: choices, Usage: usage})
	}
	content := func(text string) []byte {
		return chunk([]chunkChoice{{Delta: chunkDelta{Content: &text}}}, nil)
	}
	if s.event("", chunk([]chunkChoice{{Delta: chunkDelta{Role: "assistant"}}}, nil)) != nil {
		run.Abort()
		return
	}
	var streamed strings.Builder
	o := run.Follow(r.Context(), func(d string) error {
		streamed.WriteString(d)
		return s.event("", content(d))
	})
	if o == nil {
		return
	}
	if o.Err != nil {
		f := failure(o.Err)
		_ = s.event("", marshal(errorBody{Error: errorDetail{Message: f.msg, Type: "api_error"}}))
		_ = s.done()
		return
	}
	if _, rest := finalText(streamed.String(), o.Final); rest != "" {
		if s.event("", content(rest)) != nil {
			return
		}
	}
	fr := finishReason(o.Final)
	if s.event("", chunk([]chunkChoice{{Delta: chunkDelta{}, FinishReason: &fr}}, nil)) != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		in, out, total := totalTokens(o.Final)
		if s.event("", chunk([]chunkChoice{}, &chatUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: total})) != nil {
			return
		}
	}
	_ = s.done()
}

func finishReason(f *core.RunFinal) string {
	if f != nil && f.StopReason == "length" {
		return "length"
	}
	return "stop"
}

// chatPrompt is the run's message (the last user message's text) and the
// extra system prompt (the system and developer messages).
func chatPrompt(msgs []chatMessage) (message, system string) {
	var sys []string
	for _, m := range msgs {
		switch m.Role {
		case "system", "developer":
			if t := strings.TrimSpace(contentText(m.Content)); t != "" {
				sys = append(sys, t)
			}
		case "user":
			message = contentText(m.Content)
		}
	}
	return message, strings.Join(sys, "\n\n")
}

// contentText reads a message content: a string, or the text of its parts
// ("text", "input_text" and "output_text" parts), one per line.
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type      string  `json:"type"`
		Text      *string `json:"text"`
		InputText *string `json:"input_text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var out []string
	for _, p := range parts {
		switch {
		case (p.Type == "text" || p.Type == "input_text" || p.Type == "output_text") && p.Text != nil:
			out = append(out, *p.Text)
		case p.InputText != nil:
			out = append(out, *p.InputText)
		}
	}
	return strings.Join(out, "\n")
}

// ---- GET /v1/models ----

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelIDs are the agent targets: openclaw, openclaw/default, and
// openclaw/<agentId> for every agent.
func modelIDs(cfg *config.Config) []string {
	ids := []string{"openclaw", "openclaw/default"}
	if len(cfg.Agents.List) == 0 {
		return append(ids, "openclaw/"+config.DefaultAgentID)
	}
	for _, ag := range cfg.Agents.List {
		ids = append(ids, "openclaw/"+ag.ID)
	}
	return ids
}

func (a *api) listModels(w http.ResponseWriter, r *http.Request, cfg *config.Config) {
	data := []modelEntry{}
	for _, id := range modelIDs(cfg) {
		data = append(data, modelEntry{ID: id, Object: "model", Created: 0, OwnedBy: "openclaw"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (a *api) getModel(w http.ResponseWriter, r *http.Request, cfg *config.Config) {
	id := r.PathValue("id")
	for _, m := range modelIDs(cfg) {
		if m == id {
			writeJSON(w, http.StatusOK, modelEntry{ID: id, Object: "model", Created: 0, OwnedBy: "openclaw"})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Message: "The model '" + id + "' does not exist",
		Type: "invalid_request_error", Code: "model_not_found"}})
}
