package protocol

import (
	"encoding/json"
	"strconv"
)

// Version is the protocol version this gateway speaks; hello-ok always says 4.
const Version = 4

// Request is a decoded, validated request frame.
type Request struct {
	ID     string
	Method string
	// Params is the decoded params value (numbers as float64), or an
	// empty map when the frame had none.
	Params any
}

// Bind decodes the request's params into v (a pointer to a struct). The params
// were validated against the method's schema already, so a failure here means
// the schema and the struct disagree.
func (r *Request) Bind(v any) error {
	b, err := json.Marshal(r.Params)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ErrorShape is the closed error object carried by failed responses.
type ErrorShape struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Details      any    `json:"details,omitempty"`
	Retryable    *bool  `json:"retryable,omitempty"`
	RetryAfterMs *int64 `json:"retryAfterMs,omitempty"`
}

func (e *ErrorShape) Error() string { return e.Code + ": " + e.Message }

// Error codes (docs/PROTOCOL.md §2).
const (
	CodeInvalidRequest   = "INVALID_REQUEST"
	CodeForbidden        = "FORBIDDEN"
	CodeUnavailable      = "UNAVAILABLE"
	CodeNotPaired        = "NOT_PAIRED"
	CodeNotLinked        = "NOT_LINKED"
	CodeAgentTimeout     = "AGENT_TIMEOUT"
	CodeApprovalNotFound = "APPROVAL_NOT_FOUND"
)

// NewError builds an ErrorShape with the given code, message and optional details.
func NewError(code, message string, details any) *ErrorShape {
	return &ErrorShape{Code: code, Message: message, Details: details}
}

// WithRetry marks the error retryable after d milliseconds.
func (e *ErrorShape) WithRetry(afterMs int64) *ErrorShape {
	t := true
	e.Retryable = &t
	e.RetryAfterMs = &afterMs
	return e
}

// Response is a response frame.
type Response struct {
	Type    string      `json:"type"`
	ID      string      `json:"id"`
	OK      bool        `json:"ok"`
	Payload any         `json:"payload,omitempty"`
	Error   *ErrorShape `json:"error,omitempty"`
}

// OK encodes a successful response frame.
func OK(id string, payload any) []byte {
	return mustMarshal(Response{Type: "res", ID: id, OK: true, Payload: payload})
}

// FailWithPayload encodes a failed response that carries a payload too (the
// agent method's error final does).
func FailWithPayload(id string, payload any, e *ErrorShape) []byte {
	return mustMarshal(Response{Type: "res", ID: id, OK: false, Payload: payload, Error: e})
}

// Fail encodes a failed response frame.
func Fail(id string, e *ErrorShape) []byte {
	return mustMarshal(Response{Type: "res", ID: id, OK: false, Error: e})
}

// FailRawID encodes a failed response to a frame whose id was not a valid
// string id: the id is echoed as the client sent it (the reference echoes a
// numeric id), or "invalid" when there was none.
func FailRawID(rawID any, e *ErrorShape) []byte {
	id := rawID
	if id == nil {
		id = "invalid"
	}
	return mustMarshal(struct {
		Type  string      `json:"type"`
		ID    any         `json:"id"`
		OK    bool        `json:"ok"`
		Error *ErrorShape `json:"error"`
	}{"res", id, false, e})
}

// StateVersion is the pair of global counters carried by presence and health
// events and by the hello-ok snapshot.
type StateVersion struct {
	Presence int64 `json:"presence"`
	Health   int64 `json:"health"`
}

// Event is an event frame as a whole, for the rare events that are sent to
// one socket only (connect.challenge) and carry no seq.
type Event struct {
	Type    string `json:"type"`
	Event   string `json:"event"`
	Payload any    `json:"payload,omitempty"`
}

// EncodeEvent encodes a seq-less event frame.
func EncodeEvent(event string, payload any) []byte {
	return mustMarshal(Event{Type: "event", Event: event, Payload: payload})
}

// Broadcast is an event encoded once for many recipients. The frame is written
// as Head, then the recipient's own `,"seq":N`, then Tail, so the payload is
// never re-encoded per socket (docs/ARCHITECTURE.md, "Broadcast").
type Broadcast struct {
	Event string
	Head  []byte // {"type":"event","event":"<e>","payload":<p>
	Tail  []byte // ,"stateVersion":{...}}  or just }
	// Droppable events may be skipped for a socket over its backlog limit
	// (docs/PROTOCOL.md §6.2); the socket's seq still advances.
	Droppable bool
	// Scope, when set, is the operator scope a socket needs to receive it.
	Scope string
	// NodesToo sends the event to node-role sockets as well as operators.
	NodesToo bool
	// Topic, when set, limits the event to sockets that subscribed to it
	// (sessions.subscribe subscribes to "sessions").
	Topic string
	// Run is the agent run an agent or chat event belongs to ("" for
	// other events): a socket never merges a run's deltas across its other
	// events.
	Run string
	// Session is the session key of an agent or chat event: a socket that
	// asked for session-scoped events gets it only when subscribed to it.
	Session string
	// Delta is set on a text delta, which a socket that still holds the
	// run's previous delta of the same event unsent merges into it instead
	// of queuing another frame (Merge).
	Delta *Delta
}

// NewBroadcast encodes payload once into a Broadcast.
func NewBroadcast(event string, payload any, sv *StateVersion) *Broadcast {
	p := mustMarshal(payload)
	head := make([]byte, 0, len(p)+len(event)+40)
	head = append(head, `{"type":"event","event":`...)
	head = strconv.AppendQuote(head, event)
	head = append(head, `,"payload":`...)
	head = append(head, p...)
	tail := []byte("}")
	if sv != nil {
		tail = append(append([]byte(`,"stateVersion":`), mustMarshal(sv)...), '}')
	}
	return &Broadcast{Event: event, Head: head, Tail: tail}
}

// Size is the number of bytes one recipient's frame takes, near enough for
// backlog accounting.
func (b *Broadcast) Size() int { return len(b.Head) + len(b.Tail) + 20 }

// AppendSeq appends the per-recipient middle part of a broadcast frame.
func AppendSeq(dst []byte, seq int64) []byte {
	dst = append(dst, `,"seq":`...)
	return strconv.AppendInt(dst, seq, 10)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value we encode is built by this program from plain data;
		// failing here is a programming error, not bad input.
		panic("protocol: encode: " + err.Error())
	}
	return b
}

// RequestFrame is the request frame's shape, for its schema
// (schemas/frame.request.json); DecodeRequest checks the common case
// directly (plainFrame).
type RequestFrame struct {
	Type        string          `json:"type" const:"req"`
	ID          string          `json:"id" minLength:"1"`
	Method      string          `json:"method" minLength:"1"`
	Params      json.RawMessage `json:"params,omitempty"`
	Traceparent string          `json:"traceparent,omitempty" maxLength:"128"`
}
