// Package provider is the gateway's client for LLM providers: it sends one
// chat request and streams the assistant's reply back as it arrives.
//
// NewOpenAICompatible speaks the OpenAI chat-completions API (models.providers
// api "openai-completions": OpenAI, Ollama, vLLM, llama.cpp server,
// OpenRouter, ...) through the official SDK github.com/openai/openai-go/v3.
// Every failure the provider causes is an *Error, which the gateway reports
// as UNAVAILABLE; a cancelled context is returned as ctx.Err() itself.
package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Message is one conversation entry sent to the model.
type Message struct {
	Role       string // system | user | assistant | tool
	Content    string
	ToolCalls  []ToolCall // assistant messages: the calls the model made
	ToolCallID string     // tool messages: the call this result answers
}

// ToolCall is one function call the model asked for.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text; "{}" when the model sent none
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema of the arguments object; nil: none
}

// Request is one chat completion.
type Request struct {
	Model     string
	Messages  []Message
	Tools     []Tool
	MaxTokens int // 0: the provider's default
	// ReasoningEffort is sent as reasoning_effort (minimal, low, medium,
	// high) to models that think before answering; "" sends none.
	ReasoningEffort string
}

// Usage counts tokens. It is zero when the provider reported none.
type Usage struct {
	Input  int
	Output int
	Total  int
}

// Result is the completed reply.
type Result struct {
	Text         string
	ToolCalls    []ToolCall
	FinishReason string // stop | length | tool_calls | content_filter | ...
	Usage        Usage
	Model        string // the model the provider says answered
}

// Error is a provider failure the gateway reports as UNAVAILABLE.
type Error struct {
	Provider string // Config.ID
	// Status is the HTTP status of a rejected request, the status the
	// provider put in an error event mid-stream, or 0 for transport
	// failures (refused, reset, stalled, broken stream) and bad streams.
	Status  int
	Message string
	// Code and Type are the provider's error code and type, when it sent
	// an OpenAI-style error body.
	Code string
	Type string
	// Retryable tells whether the same request may succeed later (rate
	// limits, server errors, transport failures). Deltas already delivered
	// to onDelta are not taken back: a caller that retries must discard them.
	Retryable bool
	// RetryAfter is how long the provider asked to wait (Retry-After or
	// Retry-After-Ms header); 0 when it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := "provider"
	if e.Provider != "" {
		s += " " + e.Provider
	}
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return s + ": " + msg
}

// Provider streams one chat completion. onDelta gets each new piece of
// assistant text, in order, as it arrives; it runs on the caller's goroutine
// and must not block long. Stream returns when the stream ends, fails, or ctx
// is cancelled (then it returns ctx.Err() promptly and leaks no goroutine).
type Provider interface {
	Stream(ctx context.Context, req Request, onDelta func(text string)) (*Result, error)
}

// Config configures a provider.
type Config struct {
	// ID names the provider in errors (models.providers.<id>).
	ID string
	// BaseURL is the API root, e.g. http://127.0.0.1:11434/v1; requests go
	// to BaseURL + "/chat/completions". Default: https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>"; empty sends no
	// Authorization header (local servers). The OPENAI_* environment is
	// never consulted.
	APIKey string
	// HTTPClient sends the requests. Its Timeout must be 0 (it would cut
	// long streams); use ctx and StallTimeout instead. Default: a client
	// with its own copy of http.DefaultTransport.
	HTTPClient *http.Client
	// StallTimeout fails a stream when no bytes arrive for this long after
	// the response headers. Default: 60 s.
	StallTimeout time.Duration
	// MaxTokensField is the request field Request.MaxTokens goes in:
	// "max_completion_tokens" or "max_tokens". Default:
	// max_completion_tokens for api.openai.com (its reasoning models reject
	// max_tokens), max_tokens for everything else (what Ollama, vLLM,
	// llama.cpp and OpenRouter all accept).
	MaxTokensField string
}

// DefaultStallTimeout is Config.StallTimeout's default.
const DefaultStallTimeout = 60 * time.Second
