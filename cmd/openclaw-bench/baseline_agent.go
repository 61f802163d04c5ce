package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lxzan/gws"
)

// The floor's agent method: the same fan-out as a gateway's, done as
// simply as a bare server can. It streams the reply from the model
// provider of its config (the one agent-fanout writes) and, per piece of
// text, sends every socket the agent and the chat event with that socket's
// seq, both frames in one write (gws's Async queue, one system call), as a
// gateway that wants the least per delivery would. No actors, no schemas,
// no merging: a socket that falls behind is sent everything.

// baselineProvider is the provider an agent run streams from.
type baselineProvider struct {
	url, model string
	client     *http.Client
}

// loadBaselineProvider reads <stateDir>/openclaw.json (plain JSON): the
// first provider's baseUrl and the model of agents.defaults.model.primary.
func loadBaselineProvider(stateDir string) *baselineProvider {
	if stateDir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(stateDir, "openclaw.json"))
	if err != nil {
		return nil
	}
	var cfg struct {
		Models struct {
			Providers map[string]struct {
				BaseURL string `json:"baseUrl"`
			} `json:"providers"`
		} `json:"models"`
		Agents struct {
			Defaults struct {
				Model struct {
					Primary string `json:"primary"`
				} `json:"model"`
			} `json:"defaults"`
		} `json:"agents"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return nil
	}
	for name, p := range cfg.Models.Providers {
		model := strings.TrimPrefix(cfg.Agents.Defaults.Model.Primary, name+"/")
		return &baselineProvider{url: strings.TrimSuffix(p.BaseURL, "/"), model: model, client: &http.Client{}}
	}
	return nil
}

// agent answers accepted, streams the reply to every socket, then answers
// the final on the caller's socket.
func (g *baselineGateway) agent(s *gws.Conn, id, runID, session, message string) {
	if g.provider == nil {
		_ = s.WriteString(`{"type":"res","id":` + id + `,"ok":false,"error":{"code":"UNAVAILABLE","message":"no model provider configured"}}`)
		return
	}
	if session == "" {
		session = "agent:main:main"
	}
	run, _ := json.Marshal(runID)
	_ = s.WriteString(`{"type":"res","id":` + id + `,"ok":true,"payload":{"runId":` + string(run) + `,"status":"accepted"}}`)
	go func() {
		text, err := g.stream(runID, session, message)
		if err != nil {
			msg, _ := json.Marshal(err.Error())
			_ = s.WriteString(`{"type":"res","id":` + id + `,"ok":false,"error":{"code":"UNAVAILABLE","message":` + string(msg) + `}}`)
			return
		}
		t, _ := json.Marshal(text)
		_ = s.WriteString(`{"type":"res","id":` + id + `,"ok":true,"payload":{"runId":` + string(run) +
			`,"status":"ok","summary":"completed","result":{"payloads":[{"text":` + string(t) + `}]}}}`)
	}()
}

// stream calls the provider and fans each piece out as it comes.
func (g *baselineGateway) stream(runID, session, message string) (string, error) {
	p := g.provider
	body, _ := json.Marshal(map[string]any{"model": p.model, "stream": true,
		"messages": []map[string]string{{"role": "user", "content": message}}})
	resp, err := p.client.Post(p.url+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	type agentData struct {
		Text  string `json:"text,omitempty"`
		Delta string `json:"delta,omitempty"`
		Phase string `json:"phase,omitempty"`
	}
	type agentEv struct {
		RunID      string    `json:"runId"`
		Seq        int64     `json:"seq"`
		Stream     string    `json:"stream"`
		TS         int64     `json:"ts"`
		SessionKey string    `json:"sessionKey"`
		Data       agentData `json:"data"`
	}
	type chatEv struct {
		RunID      string `json:"runId"`
		SessionKey string `json:"sessionKey"`
		Seq        int64  `json:"seq"`
		State      string `json:"state"`
		DeltaText  string `json:"deltaText,omitempty"`
	}
	var agentSeq, chatSeq int64
	emit := func(a *agentEv, c *chatEv) {
		var frames [][]byte
		if a != nil {
			agentSeq++
			a.RunID, a.Seq, a.TS, a.SessionKey = runID, agentSeq, time.Now().UnixMilli(), session
			b, _ := json.Marshal(a)
			frames = append(frames, b)
		}
		if c != nil {
			chatSeq++
			c.RunID, c.SessionKey, c.Seq = runID, session, chatSeq
			b, _ := json.Marshal(c)
			frames = append(frames, []byte(`{"type":"event","event":"chat","payload":`+string(b)))
		}
		if a != nil {
			frames[0] = append([]byte(`{"type":"event","event":"agent","payload":`), frames[0]...)
		}
		g.fanOut(session, frames)
	}
	emit(&agentEv{Stream: "lifecycle", Data: agentData{Phase: "start"}}, nil)
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(line), &chunk) != nil || len(chunk.Choices) == 0 || chunk.Choices[0].Delta.Content == nil ||
			*chunk.Choices[0].Delta.Content == "" {
			continue
		}
		piece := *chunk.Choices[0].Delta.Content
		text.WriteString(piece)
		emit(&agentEv{Stream: "assistant", Data: agentData{Text: text.String(), Delta: piece}}, &chatEv{State: "delta", DeltaText: piece})
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	emit(nil, &chatEv{State: "final"})
	emit(&agentEv{Stream: "lifecycle", Data: agentData{Phase: "end"}}, nil)
	return text.String(), nil
}

// fanOut sends every socket that gets the session's events the frames
// (each "…payload":<p> without its end), each with the socket's next seq,
// in one write.
func (g *baselineGateway) fanOut(session string, frames [][]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s, bs := range g.socks {
		if bs.scoped && !bs.subs[session] {
			continue
		}
		var out []byte
		for _, f := range frames {
			bs.seq++
			tail := `,"seq":` + strconv.FormatInt(bs.seq, 10) + `}`
			out = wsTextHeader(out, len(f)+len(tail))
			out = append(append(out, f...), tail...)
		}
		s.Async(func() { _, _ = s.NetConn().Write(out) })
	}
}

// wsTextHeader appends the header of an unmasked final text frame of n
// bytes (RFC 6455 §5.2).
func wsTextHeader(b []byte, n int) []byte {
	b = append(b, 0x81)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}
