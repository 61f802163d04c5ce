package gateway_test

import (
	"os"
	"runtime"
	"testing"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// TestStatus: status reports what is true (a session recorded by a turn,
// the connections, this process), in the reference's shape, and hides store
// paths and session rows from callers without operator.admin as the
// reference does.
func TestStatus(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("ok", 1))
	gw := agentGateway(t, fp, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm.Call("a", "agent", map[string]any{"message": "hi", "idempotencyKey": "s1"})
	if f := adm.Res("a"); !f.OK {
		t.Fatalf("agent final: %s", f.Raw)
	}

	f := adm.Call("s", "status", map[string]any{"includeCliProjection": true})
	if !f.OK {
		t.Fatalf("status: %s", f.Raw)
	}
	s := gatewaytest.Decode[protocol.Status](t, f.Payload)
	if s.RuntimeVersion != gateway.Version || s.PID != os.Getpid() || s.Connections.Operators < 2 {
		t.Errorf("runtimeVersion %q (want %q), pid %d (want %d), operators %d", s.RuntimeVersion, gateway.Version,
			s.PID, os.Getpid(), s.Connections.Operators)
	}
	if runtime.GOOS == "linux" && s.ProcessMemory.RSSBytes <= 0 {
		t.Errorf("processMemory.rssBytes = %d", s.ProcessMemory.RSSBytes)
	}
	if s.Sessions.Count != 1 || len(s.Sessions.Paths) != 1 || len(s.Sessions.Recent) != 1 {
		t.Fatalf("sessions = %+v", s.Sessions)
	}
	r := s.Sessions.Recent[0]
	if r.Key != "agent:main:main" || r.AgentID != "main" || r.Kind != "direct" || r.SessionID == "" ||
		r.ConfiguredModel != "fake/mock-1" || r.Model == nil || *r.Model != "mock-1" {
		t.Errorf("recent[0] = %+v", r)
	}
	// The turn's usage, as the session recorded it.
	if r.InputTokens == nil || *r.InputTokens <= 0 || r.TotalTokens == nil || !r.TotalTokensFresh {
		t.Errorf("recent[0] tokens = in %v total %v fresh %v", r.InputTokens, r.TotalTokens, r.TotalTokensFresh)
	}
	if d := s.Sessions.Defaults; d.Model == nil || *d.Model != "mock-1" {
		t.Errorf("sessions.defaults = %+v", d)
	}
	if len(s.Sessions.ByAgent) != 1 || s.Sessions.ByAgent[0].Count != 1 || s.Sessions.ByAgent[0].Path != s.Sessions.Paths[0] {
		t.Errorf("byAgent = %+v", s.Sessions.ByAgent)
	}
	if p := s.CLIProjection; p == nil || p.Agents.DefaultID != "main" || len(p.Agents.Rows) != 1 || p.Agents.Rows[0].ID != "main" {
		t.Errorf("cliProjection = %+v", p)
	}

	f = rd.Call("s", "status", nil)
	if !f.OK {
		t.Fatalf("status as reader: %s", f.Raw)
	}
	s = gatewaytest.Decode[protocol.Status](t, f.Payload)
	if s.Sessions.Count != 1 || len(s.Sessions.Paths) != 0 || len(s.Sessions.Recent) != 0 ||
		s.Sessions.ByAgent[0].Path != "[redacted]" || len(s.Sessions.ByAgent[0].Recent) != 0 || s.CLIProjection != nil {
		t.Errorf("a reader sees %+v", s.Sessions)
	}
}
