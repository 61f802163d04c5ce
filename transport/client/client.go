// Package client is a Go client for the gateway protocol: it waits for the
// challenge, sends connect (with a signed device identity when it has one),
// and then multiplexes requests and events over the socket. The CLI, the
// tests and the load tool use it.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"openclaw/transport/auth"
	"openclaw/transport/protocol"
)

// Options describe who connects and how.
type Options struct {
	URL      string // ws://127.0.0.1:18789
	Token    string
	Password string
	// DeviceToken authenticates a paired device without the shared secret.
	DeviceToken string
	Identity    *auth.Identity // nil: connect without a device

	ClientID, Mode, Version, Platform, DisplayName, DeviceFamily, InstanceID string
	Role                                                                     string
	Scopes                                                                   []string
	// Caps and Commands are what a node declares it serves; PathEnv its PATH.
	Caps, Commands           []string
	Permissions              map[string]bool
	PathEnv                  string
	MinProtocol, MaxProtocol int

	// Header is sent with the upgrade request.
	Header http.Header
	// EventBuffer is how many events are kept for Events(); further events
	// are dropped (the client counts them). 0 means 256.
	EventBuffer int
}

// Event is an event frame received after hello-ok.
type Event struct {
	Event        string                 `json:"event"`
	Payload      json.RawMessage        `json:"payload"`
	Seq          *int64                 `json:"seq"`
	StateVersion *protocol.StateVersion `json:"stateVersion"`
}

// Response is a response frame.
type Response struct {
	ID      string               `json:"id"`
	OK      bool                 `json:"ok"`
	Payload json.RawMessage      `json:"payload"`
	Error   *protocol.ErrorShape `json:"error"`
}

// CloseError reports that the server closed the socket.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("gateway closed the connection (%d %s)", e.Code, e.Reason)
}

// Client is one connection.
type Client struct {
	opts  Options
	conn  *gws.Conn
	Hello json.RawMessage // hello-ok payload

	mu      sync.Mutex
	pending map[string]chan *Response
	closed  chan struct{}
	closeMu sync.Mutex
	err     error

	events  chan *Event
	Dropped atomic.Int64
	nextID  atomic.Int64

	challenge chan string
}

// Dial connects and completes the handshake. A refused handshake returns the
// server's *protocol.ErrorShape.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.MinProtocol == 0 {
		opts.MinProtocol = protocol.Version
	}
	if opts.MaxProtocol == 0 {
		opts.MaxProtocol = protocol.Version
	}
	if opts.ClientID == "" {
		opts.ClientID = "cli"
	}
	if opts.Mode == "" {
		opts.Mode = "cli"
	}
	if opts.Platform == "" {
		opts.Platform = runtime.GOOS
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Role == "" {
		opts.Role = "operator"
	}
	if opts.EventBuffer == 0 {
		opts.EventBuffer = 256
	}
	c := &Client{opts: opts, pending: map[string]chan *Response{}, closed: make(chan struct{}),
		events: make(chan *Event, opts.EventBuffer), challenge: make(chan string, 1)}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(20 * time.Second)
	}
	dctx, cancel := context.WithDeadline(ctx, dl)
	defer cancel()
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr: opts.URL, RequestHeader: opts.Header, HandshakeTimeout: time.Until(dl),
		// gws's own dialer gives the TCP connect a fixed 5 s, whatever the
		// handshake's deadline: a client on a loaded machine (its connect
		// goroutine not run for 5 s while a thousand sockets reconnect)
		// failed its dial long before the caller's deadline.
		NewDialer:         func() (gws.Dialer, error) { return ctxDialer{dctx}, nil },
		PermessageDeflate: gws.PermessageDeflate{Enabled: false}, ReadMaxPayloadSize: 64 << 20, WriteMaxPayloadSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach the gateway at %s: %w", opts.URL, err)
	}
	c.conn = conn
	go conn.ReadLoop()

	var nonce string
	select {
	case nonce = <-c.challenge:
	case <-c.closed:
		return nil, c.err
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("no connect.challenge from the gateway: %w", ctx.Err())
	}
	res, err := c.roundTrip(ctx, "connect", c.connectParams(nonce))
	if err != nil {
		c.Close()
		return nil, err
	}
	if !res.OK {
		c.Close()
		return nil, res.Error
	}
	c.Hello = res.Payload
	return c, nil
}

// ctxDialer dials under the caller's context: its deadline and its
// cancellation bound the TCP connect, as they bound the rest of Dial.
type ctxDialer struct{ ctx context.Context }

func (d ctxDialer) Dial(network, addr string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(d.ctx, network, addr)
}

func (c *Client) connectParams(nonce string) map[string]any {
	o := c.opts
	client := map[string]any{"id": o.ClientID, "version": o.Version, "platform": o.Platform, "mode": o.Mode}
	if o.DisplayName != "" {
		client["displayName"] = o.DisplayName
	}
	if o.DeviceFamily != "" {
		client["deviceFamily"] = o.DeviceFamily
	}
	if o.InstanceID != "" {
		client["instanceId"] = o.InstanceID
	}
	scopes := o.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	caps := o.Caps
	if caps == nil {
		caps = []string{}
	}
	p := map[string]any{
		"minProtocol": o.MinProtocol, "maxProtocol": o.MaxProtocol, "client": client,
		"role": o.Role, "scopes": scopes, "caps": caps,
	}
	if o.Commands != nil {
		p["commands"] = o.Commands
	}
	if o.Permissions != nil {
		p["permissions"] = o.Permissions
	}
	if o.PathEnv != "" {
		p["pathEnv"] = o.PathEnv
	}
	a := map[string]any{}
	if o.Token != "" {
		a["token"] = o.Token
	}
	if o.Password != "" {
		a["password"] = o.Password
	}
	if o.DeviceToken != "" {
		a["deviceToken"] = o.DeviceToken
	}
	if len(a) > 0 {
		p["auth"] = a
	}
	if o.Identity != nil {
		tok := o.Token
		if tok == "" {
			tok = o.DeviceToken
		}
		p["device"] = o.Identity.Sign(auth.SignedFields{ClientID: o.ClientID, ClientMode: o.Mode, Role: o.Role,
			Scopes: scopes, SignedAtMs: time.Now().UnixMilli(), Token: tok, Nonce: nonce,
			Platform: o.Platform, DeviceFamily: o.DeviceFamily})
	}
	return p
}

// Call sends a request and waits for its response; a failed response is
// returned as *protocol.ErrorShape.
func (c *Client) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	res, err := c.roundTrip(ctx, method, params)
	if err != nil {
		return nil, err
	}
	if !res.OK {
		return res.Payload, res.Error
	}
	return res.Payload, nil
}

// CallFinal is Call for two-stage methods (agent): a first response whose
// payload says status "accepted" is skipped, and the call returns the final
// one with the same id.
func (c *Client) CallFinal(ctx context.Context, method string, params any) (json.RawMessage, error) {
	res, err := c.roundTripUntil(ctx, method, params, func(r *Response) bool {
		var p struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(r.Payload, &p)
		return !(r.OK && p.Status == "accepted")
	})
	if err != nil {
		return nil, err
	}
	if !res.OK {
		return res.Payload, res.Error
	}
	return res.Payload, nil
}

func (c *Client) roundTrip(ctx context.Context, method string, params any) (*Response, error) {
	return c.roundTripUntil(ctx, method, params, func(*Response) bool { return true })
}

func (c *Client) roundTripUntil(ctx context.Context, method string, params any, final func(*Response) bool) (*Response, error) {
	id := strconv.FormatInt(c.nextID.Add(1), 10)
	ch := make(chan *Response, 2)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	frame := map[string]any{"type": "req", "id": id, "method": method}
	if params != nil {
		frame["params"] = params
	}
	b, err := json.Marshal(frame)
	if err != nil {
		return nil, err
	}
	if err := c.conn.WriteMessage(gws.OpcodeText, b); err != nil {
		return nil, c.closeErr(err)
	}
	for {
		select {
		case r := <-ch:
			if final(r) {
				return r, nil
			}
		case <-c.closed:
			// A response and the close can arrive together.
			select {
			case r := <-ch:
				if final(r) {
					return r, nil
				}
			default:
			}
			return nil, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no response: %w", method, ctx.Err())
		}
	}
}

// Events delivers events received after hello-ok.
func (c *Client) Events() <-chan *Event { return c.events }

// Done is closed when the connection ends; Err says why.
func (c *Client) Done() <-chan struct{} { return c.closed }

// Err is why the connection ended (a *CloseError when the server closed it).
func (c *Client) Err() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.err
}

// Close closes the connection.
func (c *Client) Close() {
	if c.conn != nil {
		_ = c.conn.WriteClose(1000, nil)
	}
}

func (c *Client) closeErr(err error) error {
	select {
	case <-c.closed:
		return c.err
	default:
		return err
	}
}

// gws callbacks.

func (c *Client) OnOpen(*gws.Conn) {}

func (c *Client) OnClose(_ *gws.Conn, err error) {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	select {
	case <-c.closed:
		return
	default:
	}
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		c.err = &CloseError{Code: uint16(ce.Code), Reason: string(ce.Reason)}
	} else if err != nil {
		c.err = fmt.Errorf("connection lost: %w", err)
	} else {
		c.err = errors.New("connection closed")
	}
	close(c.closed)
}

func (c *Client) OnPing(conn *gws.Conn, p []byte) { _ = conn.WritePong(p) }
func (c *Client) OnPong(*gws.Conn, []byte)        {}

func (c *Client) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f struct {
		Type         string                 `json:"type"`
		ID           string                 `json:"id"`
		OK           bool                   `json:"ok"`
		Payload      json.RawMessage        `json:"payload"`
		Error        *protocol.ErrorShape   `json:"error"`
		Event        string                 `json:"event"`
		Seq          *int64                 `json:"seq"`
		StateVersion *protocol.StateVersion `json:"stateVersion"`
	}
	if err := json.Unmarshal(m.Bytes(), &f); err != nil {
		return
	}
	switch f.Type {
	case "res":
		c.mu.Lock()
		ch := c.pending[f.ID]
		c.mu.Unlock()
		if ch != nil {
			r := Response{ID: f.ID, OK: f.OK, Payload: f.Payload, Error: f.Error}
			select {
			case ch <- &r:
			default:
			}
		}
	case "event":
		if f.Event == "connect.challenge" {
			var p struct {
				Nonce string `json:"nonce"`
			}
			_ = json.Unmarshal(f.Payload, &p)
			select {
			case c.challenge <- p.Nonce:
			default:
			}
			return
		}
		e := Event{Event: f.Event, Payload: f.Payload, Seq: f.Seq, StateVersion: f.StateVersion}
		select {
		case c.events <- &e:
		default:
			c.Dropped.Add(1)
		}
	}
}
