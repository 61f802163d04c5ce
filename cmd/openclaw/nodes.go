package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// NodesCmd groups the node commands (gateway methods node.*): the node
// hosts paired with the gateway, their command surface waiting for
// approval, and invoking their commands.
type NodesCmd struct {
	List     NodesListCmd     `cmd:"" help:"List pending and paired nodes."`
	Pending  NodesPendingCmd  `cmd:"" help:"List node command surfaces waiting for approval."`
	Approve  NodesApproveCmd  `cmd:"" help:"Approve a pending request (the node's commands become invocable)."`
	Reject   NodesRejectCmd   `cmd:"" help:"Reject a pending request."`
	Status   NodesStatusCmd   `cmd:"" help:"List known nodes with connection status and capabilities."`
	Describe NodesDescribeCmd `cmd:"" help:"Describe a node: capabilities and the commands it can be sent."`
	Invoke   NodesInvokeCmd   `cmd:"" help:"Invoke a command on a node and print its answer as JSON."`
	Rename   NodesRenameCmd   `cmd:"" help:"Rename a paired node (a display name override)."`
	Remove   NodesRemoveCmd   `cmd:"" help:"Remove a paired node: it is disconnected and forgotten."`
}

// NodeRef names a node by id, id prefix, display name or IP.
type NodeRef struct {
	Node string `required:"" help:"Node id (or a unique prefix), name, or IP." placeholder:"ID|NAME|IP"`
}

// NodesListCmd is `nodes list`.
type NodesListCmd struct {
	Target
	Connected bool `help:"Only connected nodes."`
	JSON      bool `name:"json" help:"Print {pending, paired} as JSON."`
}

func (c *NodesListCmd) Run(g *Globals) error {
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		var pl protocol.NodePairList
		var nl protocol.NodeList
		if err := s.call("node.pair.list", nil, &pl); err != nil {
			return err
		}
		if err := s.call("node.list", nil, &nl); err != nil {
			return err
		}
		paired := []protocol.NodeInfo{}
		for _, n := range nl.Nodes {
			if n.Paired && (!c.Connected || n.Connected) {
				paired = append(paired, n)
			}
		}
		if c.JSON {
			return writeJSON(os.Stdout, map[string]any{"pending": pl.Pending, "paired": paired})
		}
		fmt.Printf("Pending: %d · Paired: %d\n", len(pl.Pending), len(paired))
		if len(pl.Pending) > 0 {
			fmt.Printf("\nPending\n%s", pendingTable(pl.Pending))
		}
		if len(paired) > 0 {
			rows := make([][]string, len(paired))
			for i, n := range paired {
				rows[i] = []string{nodeName(n), n.NodeID, n.RemoteIP, ago(time.Now(), n.LastConnectedAtMs)}
			}
			fmt.Printf("\nPaired\n%s", renderTable([]tableColumn{{"Node", 12, true}, {"ID", 10, false}, {"IP", 10, false},
				{"Last Connect", 14, false}}, rows, 120))
		}
		return nil
	})
}

// NodesPendingCmd is `nodes pending`.
type NodesPendingCmd struct {
	Target
	JSON bool `name:"json" help:"Print the pending requests as a JSON array."`
}

func (c *NodesPendingCmd) Run(g *Globals) error {
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		var pl protocol.NodePairList
		if err := s.call("node.pair.list", nil, &pl); err != nil {
			return err
		}
		if c.JSON {
			return writeJSON(os.Stdout, pl.Pending)
		}
		if len(pl.Pending) == 0 {
			fmt.Println("No pending pairing requests.")
			return nil
		}
		fmt.Printf("Pending\n%s", pendingTable(pl.Pending))
		return nil
	})
}

func pendingTable(pending []protocol.NodePairRequest) string {
	rows := make([][]string, len(pending))
	for i, p := range pending {
		name := p.DisplayName
		if name == "" {
			name = p.NodeID
		}
		rows[i] = []string{p.RequestID, name, p.RemoteIP, ago(time.Now(), p.TS)}
	}
	return renderTable([]tableColumn{{"Request", 10, false}, {"Node", 12, true}, {"IP", 10, false}, {"Requested", 12, false}}, rows, 120)
}

// NodesApproveCmd is `nodes approve <requestId>`: it prints the gateway's
// answer as JSON, as the reference does.
type NodesApproveCmd struct {
	Target
	RequestID string `arg:"" name:"requestId" help:"Pending request id (openclaw nodes pending)."`
	JSON      bool   `name:"json" help:"Print JSON (the default output is JSON too)."`
}

func (c *NodesApproveCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "node.pair.approve", map[string]any{"requestId": strings.TrimSpace(c.RequestID)}, c.JSON, printJSON)
}

// NodesRejectCmd is `nodes reject <requestId>`.
type NodesRejectCmd struct {
	Target
	RequestID string `arg:"" name:"requestId" help:"Pending request id (openclaw nodes pending)."`
	JSON      bool   `name:"json" help:"Print JSON (the default output is JSON too)."`
}

func (c *NodesRejectCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "node.pair.reject", map[string]any{"requestId": strings.TrimSpace(c.RequestID)}, c.JSON, printJSON)
}

// NodesStatusCmd is `nodes status`.
type NodesStatusCmd struct {
	Target
	Connected bool `help:"Only connected nodes."`
	JSON      bool `name:"json" help:"Print node.list's answer as JSON."`
}

func (c *NodesStatusCmd) Run(g *Globals) error {
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		var nl protocol.NodeList
		if err := s.call("node.list", nil, &nl); err != nil {
			return err
		}
		if c.Connected {
			kept := nl.Nodes[:0]
			for _, n := range nl.Nodes {
				if n.Connected {
					kept = append(kept, n)
				}
			}
			nl.Nodes = kept
		}
		if c.JSON {
			return writeJSON(os.Stdout, nl)
		}
		return writeNodeStatus(os.Stdout, nl.Nodes)
	})
}

// writeNodeStatus prints the counts and one row per node.
func writeNodeStatus(w io.Writer, nodes []protocol.NodeInfo) error {
	paired, connected := 0, 0
	rows := make([][]string, len(nodes))
	for i, n := range nodes {
		if n.Paired {
			paired++
		}
		if n.Connected {
			connected++
		}
		state := []string{}
		if n.Paired {
			state = append(state, "paired")
		}
		if n.Connected {
			state = append(state, "connected ("+ago(time.Now(), n.ConnectedAtMs)+")")
		} else {
			state = append(state, "offline")
		}
		if n.ApprovalState == "approved" {
			state = append(state, "approved")
		} else {
			state = append(state, "approval pending")
		}
		detail := fmt.Sprintf("%s/%s · %s", n.ClientID, n.ClientMode, n.Platform)
		if n.Version != "" {
			detail += " · v" + n.Version
		}
		rows[i] = []string{nodeName(n), n.NodeID, n.RemoteIP, detail, strings.Join(state, " · "), strings.Join(n.Caps, ", ")}
	}
	fmt.Fprintf(w, "Known: %d · Paired: %d · Connected: %d\n", len(nodes), paired, connected)
	if len(nodes) == 0 {
		return nil
	}
	_, err := io.WriteString(w, renderTable([]tableColumn{{"Node", 8, true}, {"ID", 10, false}, {"IP", 8, false},
		{"Detail", 10, false}, {"Status", 10, false}, {"Caps", 6, false}}, rows, 120))
	for _, n := range nodes {
		if n.ApprovalState != "approved" && n.PendingRequestID != "" {
			fmt.Fprintf(w, "Approval pending for %s. Run openclaw nodes approve %s\n", nodeName(n), n.PendingRequestID)
		}
	}
	return err
}

// NodesDescribeCmd is `nodes describe --node X`.
type NodesDescribeCmd struct {
	Target
	NodeRef
	JSON bool `name:"json" help:"Print node.describe's answer as JSON."`
}

func (c *NodesDescribeCmd) Run(g *Globals) error {
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		id, err := s.resolveNode(c.Node)
		if err != nil {
			return err
		}
		var d protocol.NodeDescription
		if err := s.call("node.describe", map[string]any{"nodeId": id}, &d); err != nil {
			return err
		}
		if c.JSON {
			return writeJSON(os.Stdout, d)
		}
		status := []string{}
		if d.Paired {
			status = append(status, "paired")
		}
		if d.Connected {
			status = append(status, "connected")
		} else {
			status = append(status, "offline")
		}
		fields := [][]string{{"ID", d.NodeID}, {"Name", nodeName(d.NodeInfo)}, {"Client", d.ClientID + "/" + d.ClientMode},
			{"Platform", d.Platform}, {"Device", d.DeviceFamily}, {"Version", d.Version}, {"IP", d.RemoteIP},
			{"PATH", d.PathEnv}, {"Status", strings.Join(status, " · ")}, {"Approval", d.ApprovalState},
			{"Caps", strings.Join(d.Caps, ", ")}}
		rows := [][]string{}
		for _, f := range fields {
			if f[1] != "" {
				rows = append(rows, f)
			}
		}
		fmt.Printf("Node\n%s", renderTable([]tableColumn{{"Field", 8, false}, {"Value", 10, true}}, rows, 120))
		fmt.Println("\nCommands")
		if len(d.Commands) == 0 {
			fmt.Println("- (none)")
		}
		for _, cmd := range d.Commands {
			fmt.Println("- " + cmd)
		}
		if len(d.PendingDeclaredCommands) > 0 {
			fmt.Printf("\nPending approval (%s)\n", d.PendingRequestID)
			for _, cmd := range d.PendingDeclaredCommands {
				fmt.Println("- " + cmd)
			}
		}
		return nil
	})
}

// NodesInvokeCmd is `nodes invoke --node X --command C`.
type NodesInvokeCmd struct {
	Target
	NodeRef
	Command        string `required:"" help:"Command, e.g. system.which."`
	Params         string `help:"Params as a JSON object." default:"{}"`
	InvokeTimeout  int64  `help:"How long the node may take, in milliseconds." default:"15000" placeholder:"MS"`
	IdempotencyKey string `help:"Idempotency key (default: a fresh one)." placeholder:"KEY"`
	JSON           bool   `name:"json" help:"Print JSON (the default output is JSON too)."`
}

func (c *NodesInvokeCmd) Run(g *Globals) error {
	command := strings.TrimSpace(c.Command)
	if command == "" {
		return fail(2, "--command must not be empty")
	}
	var params map[string]any
	if err := json.Unmarshal([]byte(c.Params), &params); err != nil || params == nil {
		return fail(2, "--params must be a JSON object")
	}
	if c.InvokeTimeout <= 0 {
		return fail(2, "--invoke-timeout must be a positive number of milliseconds")
	}
	key := c.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	// The call waits as long as the node may take.
	if need := int((c.InvokeTimeout+999)/1000) + 5; c.Timeout < need {
		c.Timeout = need
	}
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		id, err := s.resolveNode(c.Node)
		if err != nil {
			return err
		}
		var res json.RawMessage
		if err := s.call("node.invoke", map[string]any{"nodeId": id, "command": command, "params": params,
			"timeoutMs": c.InvokeTimeout, "idempotencyKey": key}, &res); err != nil {
			return err
		}
		return printJSON(res)
	})
}

// NodesRenameCmd is `nodes rename --node X --name N`.
type NodesRenameCmd struct {
	Target
	NodeRef
	Name string `required:"" help:"New display name."`
	JSON bool   `name:"json" help:"Print node.rename's answer as JSON."`
}

func (c *NodesRenameCmd) Run(g *Globals) error {
	name := strings.TrimSpace(c.Name)
	if name == "" {
		return fail(2, "--name must not be empty")
	}
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		id, err := s.resolveNode(c.Node)
		if err != nil {
			return err
		}
		var res json.RawMessage
		if err := s.call("node.rename", map[string]any{"nodeId": id, "displayName": name}, &res); err != nil {
			return err
		}
		if c.JSON {
			return printJSON(res)
		}
		fmt.Printf("node rename ok: %s -> %s\n", id, name)
		return nil
	})
}

// NodesRemoveCmd is `nodes remove --node X`.
type NodesRemoveCmd struct {
	Target
	NodeRef
	JSON bool `name:"json" help:"Print node.pair.remove's answer as JSON."`
}

func (c *NodesRemoveCmd) Run(g *Globals) error {
	return withGateway(g, c.Target, c.JSON, func(s *session) error {
		id, err := s.resolveNode(c.Node)
		if err != nil {
			return err
		}
		var res json.RawMessage
		if err := s.call("node.pair.remove", map[string]any{"nodeId": id}, &res); err != nil {
			return err
		}
		if c.JSON {
			return printJSON(res)
		}
		fmt.Printf("Removed paired node %s\n", id)
		return nil
	})
}

// session is one connection for a command that makes several calls.
type session struct {
	cl      *client.Client
	timeout time.Duration
}

// withGateway connects, runs fn, and reports a failure the way
// reportError does: one line on stderr (and the error object on stdout
// with --json), exit 1.
func withGateway(g *Globals, t Target, asJSON bool, fn func(*session) error) error {
	cl, err := dial(g, t)
	if err != nil {
		return reportError(err, asJSON)
	}
	defer cl.Close()
	err = fn(&session{cl: cl, timeout: time.Duration(t.Timeout) * time.Second})
	var ce *callError
	if errors.As(err, &ce) {
		return reportError(err, asJSON)
	}
	return err
}

// call calls method and decodes its payload into out.
func (s *session) call(method string, params any, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if params == nil {
		params = map[string]any{}
	}
	res, err := s.cl.Call(ctx, method, params)
	if err != nil {
		ce := &callError{stage: method, err: err}
		errors.As(err, &ce.shape)
		return ce
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = res
		return nil
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fail(1, "%s: unexpected answer: %v", method, err)
	}
	return nil
}

// resolveNode finds a node by id, unique id prefix, display name or IP.
func (s *session) resolveNode(query string) (string, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return "", fail(2, "--node must not be empty")
	}
	var nl protocol.NodeList
	if err := s.call("node.list", nil, &nl); err != nil {
		return "", err
	}
	var byName, byPrefix []string
	for _, n := range nl.Nodes {
		switch {
		case n.NodeID == q:
			return n.NodeID, nil
		case strings.EqualFold(nodeName(n), q) || (n.RemoteIP != "" && n.RemoteIP == q):
			byName = append(byName, n.NodeID)
		case strings.HasPrefix(n.NodeID, q):
			byPrefix = append(byPrefix, n.NodeID)
		}
	}
	for _, matches := range [][]string{byName, byPrefix} {
		switch len(matches) {
		case 0:
			continue
		case 1:
			return matches[0], nil
		default:
			sort.Strings(matches)
			return "", fail(1, "node %q is ambiguous: it matches %s; pass the node id", q, strings.Join(matches, ", "))
		}
	}
	return "", fail(1, "unknown node %q (openclaw nodes status lists them)", q)
}

func nodeName(n protocol.NodeInfo) string {
	if n.DisplayName != "" {
		return n.DisplayName
	}
	return n.NodeID
}

// writeJSON prints v indented, as the reference CLI prints JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
