package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// baselineGateway is a bare gws server with just enough of the gateway
// protocol for the scenarios: challenge, connect → hello-ok (or a refusal
// for a wrong token), system-event → a presence broadcast (its text in the
// roster) to every authenticated socket with that socket's own seq, status
// → memory figures, agent → the reply streamed from the config's model
// provider as agent and chat events (baseline_agent.go),
// sessions.messages.subscribe, any other request → an ok response; SIGUSR1
// sends every socket the shutdown event and closes it 1012 as the real
// gateway's restart does. No actors, no schema validation, no JSON encoding per frame: run as
// its own process on the same machine it is the floor the load tool and the
// machine allow (what a gateway cannot beat), and the tests' fake gateway.
type baselineGateway struct {
	gws.BuiltinEventHandler
	token    string
	provider *baselineProvider // the model provider of the config, if any (agent)

	mu    sync.Mutex
	socks map[*gws.Conn]*baselineSock
}

type baselineSock struct {
	seq int64
	// scoped: connected with the session-scoped-events cap; it gets agent
	// and chat events only for the sessions in subs.
	scoped bool
	subs   map[string]bool
}

func newBaselineGateway(token string) *baselineGateway {
	return &baselineGateway{token: token, socks: map[*gws.Conn]*baselineSock{}}
}

func (g *baselineGateway) OnOpen(s *gws.Conn) {
	_ = s.WriteString(`{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}`)
}

func (g *baselineGateway) OnClose(s *gws.Conn, _ error) {
	g.mu.Lock()
	delete(g.socks, s)
	g.mu.Unlock()
}

func (g *baselineGateway) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }

// broadcast sends an event to every authenticated socket with its own seq.
// Writes go through each socket's async queue, so a socket that stopped
// reading delays no other.
func (g *baselineGateway) broadcast(event, payload string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s, bs := range g.socks {
		bs.seq++
		frame := `{"type":"event","event":"` + event + `","payload":` + payload + `,"seq":` + strconv.FormatInt(bs.seq, 10) + `}`
		s.WriteAsync(gws.OpcodeText, []byte(frame), nil)
	}
}

// restart is what SIGUSR1 does to the real gateway's sockets.
func (g *baselineGateway) restart() {
	g.broadcast("shutdown", `{"reason":"gateway restarting","restartExpectedMs":1500}`)
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.socks {
		s.Async(func() { _ = s.WriteClose(1012, []byte("service restart")) })
	}
}

func (g *baselineGateway) OnMessage(s *gws.Conn, m *gws.Message) {
	defer m.Close()
	var req struct {
		Type   string `json:"type"`
		ID     string `json:"id"`
		Method string `json:"method"`
		Params struct {
			Auth struct {
				Token string `json:"token"`
			} `json:"auth"`
			Caps           []string `json:"caps"`
			Text           string   `json:"text"`
			Host           string   `json:"host"`
			Key            string   `json:"key"`
			Message        string   `json:"message"`
			IdempotencyKey string   `json:"idempotencyKey"`
			SessionKey     string   `json:"sessionKey"`
		} `json:"params"`
	}
	if err := json.Unmarshal(m.Bytes(), &req); err != nil || req.Type != "req" {
		_ = s.WriteClose(1008, []byte("invalid request frame"))
		return
	}
	id, _ := json.Marshal(req.ID)
	switch req.Method {
	case "connect":
		if req.Params.Auth.Token != g.token {
			_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":false,"error":{"code":"INVALID_REQUEST","message":"unauthorized: gateway token mismatch"}}`)
			_ = s.WriteClose(1008, []byte("unauthorized"))
			return
		}
		// Registered before hello-ok goes out (no broadcast after it may
		// miss the socket), under the lock (none comes before the tick).
		g.mu.Lock()
		// Nested "id" and "type" members must not confuse the scanner.
		_ = s.WriteString(`{"payload":{"type":"hello-ok","protocol":4,"server":{"id":"x","connId":"c"},"features":{"methods":["health"]}},"type":"res","id":` + string(id) + `,"ok":true}`)
		_ = s.WritePing([]byte("p"))
		_ = s.WriteString(`{"type":"event","event":"tick","payload":{"ts":2},"seq":1}`)
		g.socks[s] = &baselineSock{seq: 1, scoped: slices.Contains(req.Params.Caps, "session-scoped-events")}
		g.mu.Unlock()
	case "sessions.messages.subscribe":
		g.mu.Lock()
		if bs := g.socks[s]; bs != nil {
			if bs.subs == nil {
				bs.subs = map[string]bool{}
			}
			bs.subs[req.Params.Key] = true
		}
		g.mu.Unlock()
		key, _ := json.Marshal(req.Params.Key)
		_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":true,"payload":{"subscribed":true,"key":` + string(key) + `}}`)
	case "agent":
		g.agent(s, string(id), req.Params.IdempotencyKey, req.Params.SessionKey, req.Params.Message)
	case "system-event":
		_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":true,"payload":{"ok":true}}`)
		text, _ := json.Marshal(req.Params.Text)
		host, _ := json.Marshal(req.Params.Host)
		g.broadcast("presence", `{"presence":[{"text":"Gateway: baseline · reason self","mode":"gateway","ts":1},{"text":`+string(text)+`,"host":`+string(host)+`,"ts":2}]}`)
	case "status":
		_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":true,"payload":{"processMemory":{"rssBytes":` +
			strconv.FormatInt(rssKB(os.Getpid())*1024, 10) + `},"goroutines":` + strconv.Itoa(runtime.NumGoroutine()) + `,"connections":{"total":1}}}`)
	default:
		_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":true,"payload":{"ok":true,"ts":3,"nested":{"id":"nope","list":[{"a":"}"}]}}}`)
	}
}

// serveBaseline serves the baseline gateway on ln until ctx ends.
func serveBaseline(ctx context.Context, ln net.Listener, g *baselineGateway) {
	up := gws.NewUpgrader(g, &gws.ServerOption{
		ReadBufferSize:     2048,
		ReadMaxPayloadSize: 25 << 20,
		NewSession:         func() gws.SessionStorage { return noSession{} },
	})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, err := up.Upgrade(w, r); err == nil {
			go s.ReadLoop()
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	_ = srv.Close()
	g.mu.Lock()
	for s := range g.socks {
		_ = s.NetConn().Close()
	}
	g.mu.Unlock()
}

// baselineMain runs the baseline gateway as a process, taking the gateway's
// arguments (--port P --allow-unconfigured --bind loopback) and its token
// from OPENCLAW_GATEWAY_TOKEN; SIGTERM stops it, SIGUSR1 restarts its
// sockets. It stops by itself after --max-life.
func baselineMain(args []string) int {
	fs := flag.NewFlagSet("baseline-gateway", flag.ContinueOnError)
	port := fs.Int("port", 0, "port on 127.0.0.1")
	fs.Bool("allow-unconfigured", false, "accepted for the gateway's command line")
	fs.String("bind", "loopback", "accepted for the gateway's command line (always 127.0.0.1)")
	life := fs.Duration("max-life", 30*time.Minute, "exit after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raiseNofile()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline-gateway:", err)
		return 1
	}
	g := newBaselineGateway(os.Getenv("OPENCLAW_GATEWAY_TOKEN"))
	g.provider = loadBaselineProvider(os.Getenv("OPENCLAW_STATE_DIR"))
	ctx, cancel := context.WithTimeout(context.Background(), *life)
	defer cancel()
	done := make(chan struct{})
	go func() { serveBaseline(ctx, ln, g); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
loop:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGUSR1 {
				g.restart()
				continue
			}
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	cancel()
	<-done
	return 0
}
