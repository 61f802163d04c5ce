// Package fakeprovider is an in-process LLM provider that speaks the OpenAI
// chat-completions wire format: POST /v1/chat/completions answered with a
// server-sent-event stream of chat.completion.chunk objects (text deltas,
// fragmented tool calls, a finish chunk, the usage chunk when
// stream_options.include_usage is set, then data: [DONE]) or, for errors, a
// JSON body {"error":{"message","type","param","code"}} with the HTTP status.
//
// Tests script replies (Reply) and fault modes (Stall, Break, Truncate) and
// inspect what the server received (Requests). It has no dependency on the
// testing package: New takes the small TB interface, and Start returns an
// error, so non-test code (the load tool's "instant provider") can run it too.
//
// Without a scripted reply or responder the server echoes the last user
// message ("echo: <text>"), one delta per word, immediately.
package fakeprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB that New uses.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// ToolCall is a function call the fake streams (in a Reply) or received (in a
// Message of a recorded Request).
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text
}

// Usage is the token usage a Reply reports.
type Usage struct {
	Prompt     int
	Completion int
}

// Fault makes a streamed reply misbehave after Reply.FaultAfter events.
type Fault int

const (
	// NoFault streams the reply to the end.
	NoFault Fault = iota
	// Stall stops writing and holds the connection open until the client
	// goes away or the server closes.
	Stall
	// Break aborts the connection without ending the chunked body, so the
	// client reads an unexpected EOF.
	Break
	// Truncate ends the HTTP response cleanly, with no finish chunk and no
	// [DONE].
	Truncate
)

// Reply scripts the answer to one request.
//
// A reply with Status >= 400 is an error: the JSON error body (or Body
// verbatim) with that status, no stream. A reply with Raw set writes the Raw
// elements verbatim as the event-stream body. Otherwise the stream is, in
// order: a role chunk ({"role":"assistant","content":""}); Text as Deltas
// content chunks; for each tool call a header chunk (index, id,
// type "function", name, arguments "") and ArgFragments argument chunks; the
// finish chunk (empty delta, finish_reason; unless NoFinish); the usage chunk (empty choices)
// when the request set stream_options.include_usage and NoUsage is false;
// data: [DONE]. Each of these is one "event" for FaultAfter.
type Reply struct {
	Text string
	// Deltas splits Text into this many pieces of about equal length (in
	// runes). 0 splits it into words, each piece carrying its leading space.
	Deltas int
	// ToolCalls are streamed after the text. Empty IDs become call_<n>.
	ToolCalls []ToolCall
	// ArgFragments splits each tool call's arguments into this many
	// pieces. Default 3.
	ArgFragments int
	// FinishReason defaults to "tool_calls" with tool calls, else "stop".
	FinishReason string
	// NoFinish leaves the finish chunk out, so no chunk carries a
	// finish_reason; the stream still ends with data: [DONE], as minimal
	// OpenAI-compatible servers (some llama.cpp builds) do.
	NoFinish bool
	// Usage defaults to Prompt = words in all request messages, Completion =
	// content chunks + argument chunks.
	Usage *Usage
	// NoUsage omits the usage chunk even when the request asked for it.
	NoUsage bool
	// Model is the model the chunks name. Default: the request's model.
	Model string

	// Delay waits before the response headers.
	Delay time.Duration
	// ChunkDelay waits before every event after the first.
	ChunkDelay time.Duration

	// Fault happens after FaultAfter events have been written and flushed.
	Fault      Fault
	FaultAfter int

	// Hold, when set, pauses the stream after HoldAfter events until it is
	// closed: a test sees the reply half streamed, for as long as it
	// needs, then lets it finish.
	Hold      <-chan struct{}
	HoldAfter int

	// NoStream answers with one chat.completion JSON body even when the
	// request asked to stream, as a server ignoring stream=true does.
	NoStream bool

	// Raw, when set, is the whole event-stream body: each element is
	// written verbatim (include the "data: " prefix and blank line) and
	// flushed. Fault and FaultAfter count elements.
	Raw []string

	// Status >= 400 makes this an error reply.
	Status int
	// ErrorMessage, ErrorType and ErrorCode fill the OpenAI error body;
	// type and code default from Status.
	ErrorMessage string
	ErrorType    string
	ErrorCode    string
	// Body, when set, is sent verbatim instead of the JSON error body.
	Body string
	// Header is added to the response (any reply), e.g. Retry-After.
	Header http.Header
}

// Text is a reply streaming text in the given number of deltas (0: one per
// word).
func Text(text string, deltas int) Reply { return Reply{Text: text, Deltas: deltas} }

// ToolCalls is a reply that calls tools (finish_reason "tool_calls").
func ToolCalls(calls ...ToolCall) Reply { return Reply{ToolCalls: calls} }

// Error is an error reply with the OpenAI error body for status and message.
func Error(status int, message string) Reply {
	return Reply{Status: status, ErrorMessage: message}
}

// Request is what the server received, decoded from the JSON body.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Body is the raw JSON request body.
	Body json.RawMessage

	Model               string
	Messages            []Message
	Tools               []Tool
	Stream              bool
	IncludeUsage        bool // stream_options.include_usage
	MaxTokens           int  // max_tokens, 0 when absent
	MaxCompletionTokens int  // max_completion_tokens, 0 when absent
}

// LastUser is the content of the request's last user message ("" when it
// has none): what an echoing responder answers to.
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// Message is one entry of the request's messages. Content is the string
// content, or the concatenated text parts of an array content.
type Message struct {
	Role       string
	Content    string
	ToolCalls  []ToolCall
	ToolCallID string
}

// Tool is one entry of the request's tools.
type Tool struct {
	Type        string
	Name        string
	Description string
	Parameters  json.RawMessage
}

// Server is a running fake provider.
type Server struct {
	// URL is the base URL to configure clients with, ending in /v1.
	URL string

	srv      *http.Server
	ln       net.Listener
	served   chan struct{}
	done     chan struct{}
	closeOne sync.Once
	handlers sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	replies     []Reply
	respond     func(Request) Reply
	def         *Reply
	apiKey      string
	requests    []Request
	keep        int // most requests kept; < 0: all
	disconnects int
	seq         int
	onChunk     func(seq, index int, at time.Time)
}

// New starts a server on a loopback port and closes it when the test ends.
// Replies are answered in order; see Script.
func New(t TB, replies ...Reply) *Server {
	t.Helper()
	s, err := Start("", replies...)
	if err != nil {
		t.Fatalf("fakeprovider: %v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server listening on addr ("" means 127.0.0.1:0). The caller
// must Close it.
func Start(addr string, replies ...Reply) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String() + "/v1",
		ln:      ln,
		served:  make(chan struct{}),
		done:    make(chan struct{}),
		replies: append([]Reply(nil), replies...),
		keep:    -1,
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server: it closes every connection, ends the responses in
// progress (stalled ones included) and waits for their handlers to return.
func (s *Server) Close() {
	s.closeOne.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		// Not Shutdown: it waits up to 5 s for connections a client opened
		// but never used.
		_ = s.srv.Close()
		s.handlers.Wait()
		<-s.served
	})
}

// Script queues replies; each request takes the next one.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, replies...)
	s.mu.Unlock()
}

// SetResponder answers requests when no scripted reply is queued. It runs on
// the request's goroutine and may be called concurrently.
func (s *Server) SetResponder(f func(Request) Reply) {
	s.mu.Lock()
	s.respond = f
	s.mu.Unlock()
}

// SetDefault is the reply used when no scripted reply is queued and no
// responder is set (instead of the echo).
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	s.def = &r
	s.mu.Unlock()
}

// RequireAPIKey makes requests without "Authorization: Bearer <key>" fail
// with OpenAI's 401 invalid_api_key error. Empty disables the check.
func (s *Server) RequireAPIKey(key string) {
	s.mu.Lock()
	s.apiKey = key
	s.mu.Unlock()
}

// KeepRequests bounds the record Requests returns to the last n requests
// (0 keeps none; negative, the default, keeps all). A long-running server,
// like the load tool's, should set it.
func (s *Server) KeepRequests(n int) {
	s.mu.Lock()
	s.keep = n
	s.trim()
	s.mu.Unlock()
}

func (s *Server) trim() {
	if s.keep >= 0 && len(s.requests) > s.keep {
		s.requests = append([]Request(nil), s.requests[len(s.requests)-s.keep:]...)
	}
}

// OnChunk sets f (nil removes it) to be called right after each content
// (text delta) chunk of a streamed, non-Raw reply has been written and
// flushed: seq is the request's number (1-based, as Served counts), index
// the chunk's position among the reply's content chunks (0-based) and at
// the time its write began (taken before the write, so a peer reading the
// chunk never sees it before at, even when the call itself comes late). f runs on the request's goroutine and may be
// called concurrently for different requests.
func (s *Server) OnChunk(f func(seq, index int, at time.Time)) {
	s.mu.Lock()
	s.onChunk = f
	s.mu.Unlock()
}

// Served counts the chat-completions requests received, recorded or not.
func (s *Server) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Requests returns the requests received so far (see KeepRequests), in
// arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trim()
	return append([]Request(nil), s.requests...)
}

// Disconnects counts responses the client abandoned before they were
// complete (observed while the server was waiting or writing).
func (s *Server) Disconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disconnects
}

func (s *Server) noteDisconnect() {
	s.mu.Lock()
	s.disconnects++
	s.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.handlers.Add(1) // under mu, so never concurrent with Close's Wait
	s.mu.Unlock()
	defer s.handlers.Done()
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		writeError(w, Reply{Status: http.StatusNotFound,
			ErrorMessage: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	req, err := decodeRequest(body)
	req.Method, req.Path, req.Header = r.Method, r.URL.Path, r.Header.Clone()
	req.Body = json.RawMessage(body)

	s.mu.Lock()
	if s.keep != 0 {
		s.requests = append(s.requests, req)
		if s.keep > 0 && len(s.requests) > 2*s.keep {
			s.trim() // amortized: copy once per keep appends
		}
	}
	s.seq++
	seq := s.seq
	apiKey := s.apiKey
	s.mu.Unlock()

	if err != nil {
		writeError(w, Reply{Status: http.StatusBadRequest, ErrorCode: "invalid_json",
			ErrorMessage: "We could not parse the JSON body of your request: " + err.Error()})
		return
	}
	if apiKey != "" && r.Header.Get("Authorization") != "Bearer "+apiKey {
		writeError(w, Reply{Status: http.StatusUnauthorized,
			ErrorMessage: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."})
		return
	}

	reply := s.next(req)
	for k, vs := range reply.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if !s.wait(r.Context(), reply.Delay) {
		return
	}
	switch {
	case reply.Status >= 400:
		writeError(w, reply)
	case (!req.Stream || reply.NoStream) && reply.Raw == nil:
		writeCompletion(w, req, reply, seq)
	default:
		s.stream(w, r, req, reply, seq)
	}
}

func (s *Server) next(req Request) Reply {
	s.mu.Lock()
	if len(s.replies) > 0 {
		r := s.replies[0]
		s.replies = s.replies[1:]
		s.mu.Unlock()
		return r
	}
	respond, def := s.respond, s.def
	s.mu.Unlock()
	switch {
	case respond != nil:
		return respond(req)
	case def != nil:
		return *def
	default:
		return echo(req)
	}
}

func echo(req Request) Reply {
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = m.Content
		}
	}
	return Reply{Text: "echo: " + last}
}

// wait sleeps d and reports whether the request should go on: false when the
// client went away (counted as a disconnect) or the server is closing.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ctx.Done():
			s.noteDisconnect()
			return false
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		s.noteDisconnect()
		return false
	case <-s.done:
		return false
	}
}

// hold waits until gate is closed; false when the client went away or the
// server is closing.
func (s *Server) hold(ctx context.Context, gate <-chan struct{}) bool {
	select {
	case <-gate:
		return true
	case <-ctx.Done():
		s.noteDisconnect()
		return false
	case <-s.done:
		return false
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req Request, reply Reply, seq int) {
	events := reply.Raw
	contentEnd := 0 // events[1:contentEnd] are the content chunks
	if events == nil {
		events = buildEvents(req, reply, seq)
		contentEnd = 1 + len(Split(reply.Text, reply.Deltas))
	}
	s.mu.Lock()
	onChunk := s.onChunk
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	fault := reply.Fault
	for i, ev := range events {
		if fault != NoFault && i == reply.FaultAfter {
			break
		}
		if i > 0 && !s.wait(r.Context(), reply.ChunkDelay) {
			return
		}
		if reply.Hold != nil && i == reply.HoldAfter && !s.hold(r.Context(), reply.Hold) {
			return
		}
		var at time.Time
		if onChunk != nil {
			at = time.Now()
		}
		if _, err := io.WriteString(w, ev); err != nil {
			s.noteDisconnect()
			return
		}
		if err := rc.Flush(); err != nil {
			s.noteDisconnect()
			return
		}
		if onChunk != nil && i >= 1 && i < contentEnd {
			onChunk(seq, i-1, at)
		}
	}
	if fault == NoFault || reply.FaultAfter >= len(events) {
		return
	}
	switch fault {
	case Stall:
		select {
		case <-r.Context().Done():
			s.noteDisconnect()
		case <-s.done:
		}
	case Break:
		// net/http closes the connection without the terminating chunk and
		// does not log ErrAbortHandler.
		panic(http.ErrAbortHandler)
	case Truncate:
		// Return: the server ends the chunked body cleanly.
	}
}

// Wire types of the chat-completions stream.

type wireChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []wireChoice    `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type wireChoice struct {
	Index        int             `json:"index"`
	Delta        wireDelta       `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type wireDelta struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
}

type wireToolCall struct {
	Index    int          `json:"index"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

var null = json.RawMessage("null")

func buildEvents(req Request, reply Reply, seq int) []string {
	model := reply.Model
	if model == "" {
		model = req.Model
	}
	id := fmt.Sprintf("chatcmpl-fake%06d", seq)
	created := time.Now().Unix()
	var usageField json.RawMessage
	if req.IncludeUsage {
		usageField = null // OpenAI sends "usage": null on every chunk but the last
	}
	chunk := func(choices []wireChoice, usage json.RawMessage) string {
		b, err := json.Marshal(wireChunk{ID: id, Object: "chat.completion.chunk", Created: created,
			Model: model, SystemFingerprint: "fp_fake", Choices: choices, Usage: usage})
		if err != nil {
			panic(err) // static types: cannot happen
		}
		return "data: " + string(b) + "\n\n"
	}
	delta := func(d wireDelta) string {
		return chunk([]wireChoice{{Delta: d, Logprobs: null}}, usageField)
	}

	empty := ""
	events := []string{delta(wireDelta{Role: "assistant", Content: &empty})}
	completion := 0
	for _, piece := range Split(reply.Text, reply.Deltas) {
		events = append(events, delta(wireDelta{Content: &piece}))
		completion++
	}
	frags := reply.ArgFragments
	if frags <= 0 {
		frags = 3
	}
	for i, tc := range reply.ToolCalls {
		callID := tc.ID
		if callID == "" {
			callID = fmt.Sprintf("call_%d", i)
		}
		events = append(events, delta(wireDelta{ToolCalls: []wireToolCall{{
			Index: i, ID: callID, Type: "function", Function: wireFunction{Name: tc.Name}}}}))
		for _, frag := range Split(tc.Arguments, frags) {
			events = append(events, delta(wireDelta{ToolCalls: []wireToolCall{{
				Index: i, Function: wireFunction{Arguments: frag}}}}))
			completion++
		}
	}
	if !reply.NoFinish {
		finish := finishReason(reply)
		events = append(events, chunk([]wireChoice{{Delta: wireDelta{}, Logprobs: null, FinishReason: &finish}}, usageField))
	}
	if req.IncludeUsage && !reply.NoUsage {
		u := usageOf(req, reply, completion)
		b, _ := json.Marshal(u)
		events = append(events, chunk([]wireChoice{}, b))
	}
	return append(events, "data: [DONE]\n\n")
}

func finishReason(reply Reply) string {
	switch {
	case reply.FinishReason != "":
		return reply.FinishReason
	case len(reply.ToolCalls) > 0:
		return "tool_calls"
	default:
		return "stop"
	}
}

func usageOf(req Request, reply Reply, completion int) wireUsage {
	if reply.Usage != nil {
		return wireUsage{reply.Usage.Prompt, reply.Usage.Completion, reply.Usage.Prompt + reply.Usage.Completion}
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(strings.Fields(m.Content))
	}
	return wireUsage{prompt, completion, prompt + completion}
}

// Split cuts s into n pieces of about equal rune length (fewer when s is
// shorter), or, for n <= 0, into words with their leading whitespace. It
// returns nil for "".
func Split(s string, n int) []string {
	if s == "" {
		return nil
	}
	if n <= 0 {
		var out []string
		start := 0
		for i := 1; i < len(s); i++ {
			if isSpace(s[i]) && !isSpace(s[i-1]) {
				out = append(out, s[start:i])
				start = i
			}
		}
		return append(out, s[start:])
	}
	runes := []rune(s)
	if n > len(runes) {
		n = len(runes)
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, string(runes[i*len(runes)/n:(i+1)*len(runes)/n]))
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// writeCompletion answers a non-streaming request with one chat.completion.
func writeCompletion(w http.ResponseWriter, req Request, reply Reply, seq int) {
	model := reply.Model
	if model == "" {
		model = req.Model
	}
	type fn struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type call struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	msg := struct {
		Role      string  `json:"role"`
		Content   *string `json:"content"`
		Refusal   *string `json:"refusal"`
		ToolCalls []call  `json:"tool_calls,omitempty"`
	}{Role: "assistant"}
	if reply.Text != "" || len(reply.ToolCalls) == 0 {
		text := reply.Text
		msg.Content = &text
	}
	for i, tc := range reply.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		msg.ToolCalls = append(msg.ToolCalls, call{id, "function", fn{tc.Name, tc.Arguments}})
	}
	completion := len(Split(reply.Text, reply.Deltas))
	body := map[string]any{
		"id":                 fmt.Sprintf("chatcmpl-fake%06d", seq),
		"object":             "chat.completion",
		"created":            time.Now().Unix(),
		"model":              model,
		"system_fingerprint": "fp_fake",
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": finishReason(reply),
		}},
		"usage": usageOf(req, reply, completion),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// writeError sends reply's status with OpenAI's error body (or reply.Body).
func writeError(w http.ResponseWriter, reply Reply) {
	if reply.Body != "" {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
		return
	}
	typ, code := reply.ErrorType, reply.ErrorCode
	if typ == "" || code == "" {
		dt, dc := defaultErrorKind(reply.Status)
		if typ == "" {
			typ = dt
		}
		if code == "" {
			code = dc
		}
	}
	msg := reply.ErrorMessage
	if msg == "" {
		msg = http.StatusText(reply.Status)
	}
	var codeField any
	if code != "" {
		codeField = code
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": codeField,
	}})
}

func defaultErrorKind(status int) (typ, code string) {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key"
	case status == http.StatusForbidden:
		return "invalid_request_error", "unsupported_country_region_territory"
	case status == http.StatusNotFound:
		return "invalid_request_error", "model_not_found"
	case status == http.StatusTooManyRequests:
		return "requests", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", ""
	default:
		return "invalid_request_error", ""
	}
}

// Request decoding.

type wireRequest struct {
	Model         string        `json:"model"`
	Messages      []wireMessage `json:"messages"`
	Tools         []wireTool    `json:"tools"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function wireFunction `json:"function"`
	} `json:"tool_calls"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

func decodeRequest(body []byte) (Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return Request{}, err
	}
	req := Request{Model: w.Model, Stream: w.Stream, MaxTokens: w.MaxTokens,
		MaxCompletionTokens: w.MaxCompletionTokens}
	if w.StreamOptions != nil {
		req.IncludeUsage = w.StreamOptions.IncludeUsage
	}
	for _, m := range w.Messages {
		content, err := contentText(m.Content)
		if err != nil {
			return req, fmt.Errorf("message content: %w", err)
		}
		msg := Message{Role: m.Role, Content: content, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		req.Messages = append(req.Messages, msg)
	}
	for _, t := range w.Tools {
		req.Tools = append(req.Tools, Tool{Type: t.Type, Name: t.Function.Name,
			Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	return req, nil
}

// contentText reads a message content: a string, null, or an array of parts
// whose text parts are concatenated.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("content is neither a string nor an array of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// RetryAfter formats d as a Retry-After header value in whole seconds.
func RetryAfter(d time.Duration) http.Header {
	return http.Header{"Retry-After": {strconv.Itoa(int(d / time.Second))}}
}
