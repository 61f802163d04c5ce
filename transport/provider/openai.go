package provider

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// defaultHTTPClient is used when Config.HTTPClient is nil: no overall
// Timeout, and its own copy of http.DefaultTransport (when that is still an
// *http.Transport; a wrapped one, e.g. for tracing, is used as is).
var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return &http.Client{Transport: t.Clone()}
	}
	return &http.Client{Transport: http.DefaultTransport}
})

type openAICompatible struct {
	cfg            Config
	configErr      error
	maxTokensField string
	completions    openai.ChatCompletionService
}

// NewOpenAICompatible returns a Provider for the OpenAI chat-completions API
// (api "openai-completions"). It sends stream=true with
// stream_options.include_usage=true, makes exactly one attempt (no SDK
// retries: the gateway decides), and reads no OPENAI_* environment variables.
// A malformed Config is reported by Stream as a non-retryable *Error.
func NewOpenAICompatible(cfg Config) Provider {
	p := &openAICompatible{cfg: cfg}
	if p.cfg.BaseURL == "" {
		p.cfg.BaseURL = "https://api.openai.com/v1"
	}
	if p.cfg.StallTimeout <= 0 {
		p.cfg.StallTimeout = DefaultStallTimeout
	}
	if p.cfg.HTTPClient == nil {
		p.cfg.HTTPClient = defaultHTTPClient()
	}
	u, err := url.Parse(p.cfg.BaseURL)
	switch {
	case err != nil:
		p.configErr = fmt.Errorf("invalid base URL %q: %v", p.cfg.BaseURL, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.configErr = fmt.Errorf("invalid base URL %q: want http(s)://host[/path]", p.cfg.BaseURL)
	}
	switch p.cfg.MaxTokensField {
	case "max_tokens", "max_completion_tokens":
		p.maxTokensField = p.cfg.MaxTokensField
	case "":
		p.maxTokensField = "max_tokens"
		if u != nil && strings.EqualFold(u.Hostname(), "api.openai.com") {
			p.maxTokensField = "max_completion_tokens"
		}
	default:
		p.configErr = fmt.Errorf("invalid MaxTokensField %q", p.cfg.MaxTokensField)
	}

	// openai.NewClient would add options from OPENAI_API_KEY, OPENAI_BASE_URL,
	// OPENAI_ORG_ID, OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS: with an empty
	// APIKey, the gateway's OpenAI key would go to a local server. The service
	// constructor takes only the options given here.
	opts := []option.RequestOption{
		option.WithBaseURL(p.cfg.BaseURL),
		option.WithHTTPClient(p.cfg.HTTPClient),
		option.WithMaxRetries(0),
	}
	if p.cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(p.cfg.APIKey))
	}
	p.completions = openai.NewChatCompletionService(opts...)
	return p
}

// errStalled is the cancellation cause when the stall watchdog fires.
var errStalled = errors.New("provider stream stalled")

func (p *openAICompatible) Stream(ctx context.Context, req Request, onDelta func(text string)) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.configErr != nil {
		return nil, &Error{Provider: p.cfg.ID, Message: p.configErr.Error()}
	}
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	if onDelta == nil {
		onDelta = func(string) {}
	}

	// reqCtx carries the request; the stall watchdog cancels it with
	// errStalled, which aborts the body read in progress.
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var body *watchedBody
	watch := func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(r)
		if err != nil {
			return nil, err
		}
		wb := watchBody(res.Body, p.cfg.StallTimeout, func() { cancel(errStalled) })
		res.Body = wb
		if e := p.checkResponse(res); e != nil {
			_ = wb.Close()
			return nil, e
		}
		body = wb
		return res, nil
	}

	stream := p.completions.NewStreaming(reqCtx, params, option.WithMiddleware(watch))
	defer stream.Close()

	acc := accumulator{}
	for stream.Next() {
		chunk := stream.Current()
		if d := acc.add(&chunk); d != "" {
			onDelta(d)
		}
	}
	err = stream.Err()

	// Cancellation wins over whatever the aborted read reported.
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if err != nil {
		return nil, p.streamError(err, reqCtx, body)
	}
	if acc.finish == "" {
		// The SDK ends a stream without error on a clean EOF, [DONE] or not.
		// Minimal servers (some llama.cpp builds, small proxies) never send a
		// finish_reason but do end with [DONE]: that reply is complete, and it
		// gets the reason a full server would have sent. Without either, the
		// stream was cut short.
		if body == nil || !body.sawDone() {
			return nil, &Error{Provider: p.cfg.ID, Retryable: true,
				Message: "provider stream ended before the reply finished (no finish_reason, no [DONE])"}
		}
		acc.finish = "stop"
		if len(acc.calls) > 0 {
			acc.finish = "tool_calls"
		}
	}
	return acc.result(), nil
}

// streamError maps what stream.Err returned (ctx is not cancelled).
func (p *openAICompatible) streamError(err error, reqCtx context.Context, body *watchedBody) error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe // from checkResponse
	}
	if errors.Is(context.Cause(reqCtx), errStalled) {
		return &Error{Provider: p.cfg.ID, Retryable: true, Message: errStalled.Error() +
			fmt.Sprintf(" (no data for %s)", p.cfg.StallTimeout)}
	}
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		return p.eventError(se)
	}
	if body == nil {
		// No response: connection refused, DNS, TLS, reset before headers.
		// A certificate the client rejects will be rejected again.
		var certErr *tls.CertificateVerificationError
		return &Error{Provider: p.cfg.ID, Retryable: !errors.As(err, &certErr),
			Message: "provider request failed: " + unwrapURLError(err).Error()}
	}
	if rerr := body.readErr(); rerr != nil {
		// The body read failed: the connection broke mid-stream.
		return &Error{Provider: p.cfg.ID, Retryable: true, Message: "provider stream broken: " + rerr.Error()}
	}
	// The bytes arrived but did not decode: malformed SSE JSON, an event
	// over the SDK's line limit, ...
	return &Error{Provider: p.cfg.ID, Message: "provider sent a malformed stream: " + err.Error()}
}

// eventError maps an in-stream error event (data: {"error": {...}}), which
// OpenRouter and vLLM send after a 200 when generation fails.
func (p *openAICompatible) eventError(se *ssestream.StreamError) *Error {
	var ev struct {
		Error json.RawMessage `json:"error"`
	}
	e := &Error{Provider: p.cfg.ID, Retryable: true}
	if json.Unmarshal(se.Event.Data, &ev) == nil {
		b := parseErrorBody(ev.Error)
		e.Message, e.Code, e.Type = b.message, b.code, b.typ
		if b.status != 0 {
			e.Status = b.status
			e.Retryable = retryableStatus(b.status)
		}
	}
	if e.Message == "" {
		e.Message = se.Error()
	}
	return e
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// params builds the SDK request. Errors are the caller's (a bad Request),
// not the provider's, so they are plain errors.
func (p *openAICompatible) params(req Request) (openai.ChatCompletionNewParams, error) {
	params := openai.ChatCompletionNewParams{
		Model: shared.ChatModel(req.Model),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{
			IncludeUsage: openai.Bool(true),
		},
	}
	if req.Model == "" {
		return params, errors.New("provider: request has no model")
	}
	if req.ReasoningEffort != "" {
		params.ReasoningEffort = shared.ReasoningEffort(req.ReasoningEffort)
	}
	if req.MaxTokens > 0 {
		if p.maxTokensField == "max_completion_tokens" {
			params.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		} else {
			params.MaxTokens = openai.Int(int64(req.MaxTokens))
		}
	}
	for i, m := range req.Messages {
		msg, err := messageParam(m)
		if err != nil {
			return params, fmt.Errorf("provider: message %d: %w", i, err)
		}
		params.Messages = append(params.Messages, msg)
	}
	for _, t := range req.Tools {
		tool, err := toolParam(t)
		if err != nil {
			return params, err
		}
		params.Tools = append(params.Tools, tool)
	}
	return params, nil
}

func messageParam(m Message) (openai.ChatCompletionMessageParamUnion, error) {
	switch m.Role {
	case "system":
		return openai.SystemMessage(m.Content), nil
	case "user":
		return openai.UserMessage(m.Content), nil
	case "tool":
		if m.ToolCallID == "" {
			return openai.ChatCompletionMessageParamUnion{}, errors.New("tool message without ToolCallID")
		}
		return openai.ToolMessage(m.Content, m.ToolCallID), nil
	case "assistant":
		var a openai.ChatCompletionAssistantMessageParam
		// An assistant turn that only called tools is sent without content
		// (omitted, which OpenAI reads as null); "" trips some servers.
		if m.Content != "" || len(m.ToolCalls) == 0 {
			a.Content.OfString = openai.String(m.Content)
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       tc.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: args},
				},
			})
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
	default:
		return openai.ChatCompletionMessageParamUnion{}, fmt.Errorf("unknown role %q", m.Role)
	}
}

// emptyObjectSchema is sent for a tool without Parameters: OpenAI accepts a
// missing "parameters", but llama.cpp and some vLLM versions do not.
var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

func toolParam(t Tool) (openai.ChatCompletionToolUnionParam, error) {
	if t.Name == "" {
		return openai.ChatCompletionToolUnionParam{}, errors.New("provider: tool without a name")
	}
	schema := t.Parameters
	if len(schema) == 0 {
		schema = emptyObjectSchema
	}
	if !json.Valid(schema) {
		return openai.ChatCompletionToolUnionParam{}, fmt.Errorf("provider: tool %q: parameters are not valid JSON", t.Name)
	}
	// The SDK types parameters as map[string]any, which would re-order the
	// schema's keys and round numbers through float64; Override sends the
	// function definition as these exact bytes instead.
	def, err := json.Marshal(struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
	}{t.Name, t.Description, schema})
	if err != nil {
		return openai.ChatCompletionToolUnionParam{}, fmt.Errorf("provider: tool %q: %w", t.Name, err)
	}
	return openai.ChatCompletionFunctionTool(param.Override[shared.FunctionDefinitionParam](json.RawMessage(def))), nil
}

// accumulator builds the Result from chunks. It is not the SDK's
// ChatCompletionAccumulator, which sums usage over chunks (servers that
// repeat cumulative usage on every chunk, like vLLM with
// continuous_usage_stats, would be over-counted) and silently rejects a
// chunk whose id differs from the first one's.
type accumulator struct {
	text   strings.Builder
	calls  []ToolCall
	slot   map[int64]int // tool-call index on the wire -> position in calls
	finish string
	usage  Usage
	model  string
}

// add folds one chunk in and returns its new assistant text.
func (a *accumulator) add(c *openai.ChatCompletionChunk) string {
	if c.Model != "" {
		a.model = c.Model
	}
	if c.JSON.Usage.Valid() {
		// The last usage wins: it is the whole request's.
		a.usage = Usage{
			Input:  int(c.Usage.PromptTokens),
			Output: int(c.Usage.CompletionTokens),
			Total:  int(c.Usage.TotalTokens),
		}
		if a.usage.Total == 0 {
			a.usage.Total = a.usage.Input + a.usage.Output
		}
	}
	var delta string
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // n is 1: other choices are not ours
		}
		if ch.Delta.Content != "" {
			a.text.WriteString(ch.Delta.Content)
			delta += ch.Delta.Content
		}
		for j := range ch.Delta.ToolCalls {
			a.addToolCall(&ch.Delta.ToolCalls[j])
		}
		if ch.FinishReason != "" {
			a.finish = ch.FinishReason
		}
	}
	return delta
}

// addToolCall appends a tool-call fragment. Fragments are keyed by their
// index; a fragment with a new id at a known index starts another call
// (some servers number every call 0).
func (a *accumulator) addToolCall(tc *openai.ChatCompletionChunkChoiceDeltaToolCall) {
	if a.slot == nil {
		a.slot = map[int64]int{}
	}
	pos, ok := a.slot[tc.Index]
	if !ok || (tc.ID != "" && a.calls[pos].ID != "" && a.calls[pos].ID != tc.ID) {
		a.calls = append(a.calls, ToolCall{})
		pos = len(a.calls) - 1
		a.slot[tc.Index] = pos
	}
	call := &a.calls[pos]
	if tc.ID != "" {
		call.ID = tc.ID
	}
	if tc.Function.Name != "" {
		// Sent once by OpenAI; some servers repeat it on every fragment.
		call.Name = tc.Function.Name
	}
	call.Arguments += tc.Function.Arguments
}

func (a *accumulator) result() *Result {
	r := &Result{
		Text:         a.text.String(),
		FinishReason: a.finish,
		Usage:        a.usage,
		Model:        a.model,
	}
	for _, c := range a.calls {
		if strings.TrimSpace(c.Arguments) == "" {
			c.Arguments = "{}"
		}
		r.ToolCalls = append(r.ToolCalls, c)
	}
	return r
}
