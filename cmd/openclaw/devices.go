package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"openclaw/transport/protocol"
)

// DevicesCmd groups the device commands (gateway methods device.pair.* and
// device.token.*): devices paired with the gateway, pairing requests, and
// the tokens each role of a device holds.
type DevicesCmd struct {
	List    DevicesListCmd    `cmd:"" help:"List pending and paired devices."`
	Approve DevicesApproveCmd `cmd:"" help:"Approve a pending device pairing request."`
	Reject  DevicesRejectCmd  `cmd:"" help:"Reject a pending device pairing request."`
	Remove  DevicesRemoveCmd  `cmd:"" help:"Remove a paired device: its sockets close and it must pair again."`
	Revoke  DevicesRevokeCmd  `cmd:"" help:"Revoke a device's token for a role: its sockets of that role close."`
	Rotate  DevicesRotateCmd  `cmd:"" help:"Rotate a device's token for a role."`
}

// DevicesListCmd is `devices list`.
type DevicesListCmd struct {
	Target
	JSON bool `name:"json" help:"Print device.pair.list's answer as JSON."`
}

func (c *DevicesListCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "device.pair.list", map[string]any{}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var l protocol.DevicePairList
		if err := json.Unmarshal(res, &l); err != nil {
			return fail(1, "device.pair.list: unexpected answer: %v", err)
		}
		return writeDeviceList(os.Stdout, l)
	})
}

// writeDeviceList prints the pending requests and the paired devices as
// the reference does: two tables, then the full ids (the tables wrap them).
func writeDeviceList(w io.Writer, l protocol.DevicePairList) error {
	if len(l.Pending) == 0 && len(l.Paired) == 0 {
		_, err := fmt.Fprintln(w, "No devices.")
		return err
	}
	none := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	if len(l.Pending) > 0 {
		rows := make([][]string, len(l.Pending))
		for i, p := range l.Pending {
			status := "new pairing"
			if p.IsRepair {
				status = "re-pairing"
			}
			rows[i] = []string{p.RequestID, deviceLabel(p.DisplayName, p.DeviceID, p.RemoteIP),
				"roles: " + none(p.Roles) + "; scopes: " + none(p.Scopes), ago(time.Now(), p.TS), status}
		}
		fmt.Fprintf(w, "Pending (%d)\n%s", len(l.Pending), renderTable([]tableColumn{{"Request", 10, false},
			{"Device", 10, true}, {"Requested", 12, false}, {"Age", 8, false}, {"Status", 8, false}}, rows, 120))
	}
	if len(l.Paired) > 0 {
		rows := make([][]string, len(l.Paired))
		for i, d := range l.Paired {
			tokens := []string{}
			for _, t := range d.Tokens {
				if t.RevokedAtMs == 0 {
					tokens = append(tokens, t.Role)
				} else {
					tokens = append(tokens, t.Role+" (revoked)")
				}
			}
			rows[i] = []string{deviceLabel(d.DisplayName, d.ClientID, ""), d.DeviceID, strings.Join(d.Roles, ", "),
				strings.Join(d.Scopes, ", "), strings.Join(tokens, ", "), d.RemoteIP}
		}
		fmt.Fprintf(w, "Paired (%d)\n%s", len(l.Paired), renderTable([]tableColumn{{"Device", 10, true}, {"Device ID", 10, false},
			{"Roles", 8, false}, {"Scopes", 8, false}, {"Tokens", 8, false}, {"IP", 6, false}}, rows, 120))
	}
	return nil
}

func deviceLabel(name, fallback, ip string) string {
	label := name
	if label == "" {
		label = fallback
	}
	if ip != "" {
		label += " · " + ip
	}
	return label
}

// DevicesApproveCmd is `devices approve <requestId>` (or --latest, which
// shows the newest request without approving it).
type DevicesApproveCmd struct {
	Target
	RequestID string `arg:"" optional:"" name:"requestId" help:"Pending request id (openclaw devices list)."`
	Latest    bool   `help:"Show the most recent pending request, to approve it explicitly."`
	JSON      bool   `name:"json" help:"Print device.pair.approve's answer as JSON."`
}

func (c *DevicesApproveCmd) Run(g *Globals) error {
	id := strings.TrimSpace(c.RequestID)
	if id == "" && !c.Latest {
		return fail(2, "a request id is required: openclaw devices approve <requestId> (openclaw devices list shows them)")
	}
	if id == "" {
		return callRender(g, c.Target, "device.pair.list", map[string]any{}, c.JSON, func(res json.RawMessage) error {
			var l protocol.DevicePairList
			_ = json.Unmarshal(res, &l)
			if len(l.Pending) == 0 {
				return fail(1, "no pending device pairing requests")
			}
			p := l.Pending[0]
			if c.JSON {
				return writeJSON(os.Stdout, p)
			}
			fmt.Printf("Latest request %s: %s wants roles %s, scopes %s.\nApprove it with: openclaw devices approve %s\n",
				p.RequestID, deviceLabel(p.DisplayName, p.DeviceID, p.RemoteIP), strings.Join(p.Roles, ", "),
				strings.Join(p.Scopes, ", "), p.RequestID)
			return nil
		})
	}
	return callRender(g, c.Target, "device.pair.approve", map[string]any{"requestId": id}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var a protocol.DevicePairApproved
		_ = json.Unmarshal(res, &a)
		fmt.Printf("Approved %s (%s)\n", a.Device.DeviceID, a.RequestID)
		return nil
	})
}

// DevicesRejectCmd is `devices reject <requestId>`.
type DevicesRejectCmd struct {
	Target
	RequestID string `arg:"" name:"requestId" help:"Pending request id (openclaw devices list)."`
	JSON      bool   `name:"json" help:"Print device.pair.reject's answer as JSON."`
}

func (c *DevicesRejectCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "device.pair.reject", map[string]any{"requestId": strings.TrimSpace(c.RequestID)}, c.JSON,
		func(res json.RawMessage) error {
			if c.JSON {
				return printJSON(res)
			}
			var r protocol.DevicePairRejected
			_ = json.Unmarshal(res, &r)
			fmt.Printf("Rejected %s (%s)\n", r.DeviceID, r.RequestID)
			return nil
		})
}

// DevicesRemoveCmd is `devices remove <deviceId>`.
type DevicesRemoveCmd struct {
	Target
	DeviceID string `arg:"" name:"deviceId" help:"Paired device id."`
	JSON     bool   `name:"json" help:"Print device.pair.remove's answer as JSON."`
}

func (c *DevicesRemoveCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "device.pair.remove", map[string]any{"deviceId": strings.TrimSpace(c.DeviceID)}, c.JSON,
		func(res json.RawMessage) error {
			if c.JSON {
				return printJSON(res)
			}
			fmt.Printf("Removed %s\n", strings.TrimSpace(c.DeviceID))
			return nil
		})
}

// DeviceRole names a device and one of its roles.
type DeviceRole struct {
	Device string `required:"" help:"Device id." placeholder:"ID"`
	Role   string `required:"" help:"Role: operator or node." enum:"operator,node"`
}

// DevicesRevokeCmd is `devices revoke --device ID --role R`.
type DevicesRevokeCmd struct {
	Target
	DeviceRole
	JSON bool `name:"json" help:"Print device.token.revoke's answer as JSON."`
}

func (c *DevicesRevokeCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "device.token.revoke", map[string]any{"deviceId": strings.TrimSpace(c.Device), "role": c.Role}, c.JSON,
		func(res json.RawMessage) error {
			if c.JSON {
				return printJSON(res)
			}
			fmt.Printf("Revoked the %s token of %s; its %s sockets were closed.\n", c.Role, strings.TrimSpace(c.Device), c.Role)
			return nil
		})
}

// DevicesRotateCmd is `devices rotate --device ID --role R [--scope S]...`.
type DevicesRotateCmd struct {
	Target
	DeviceRole
	Scope    []string `help:"Scopes of the new token (repeatable; default: the current ones)." placeholder:"SCOPE"`
	NoScopes bool     `help:"Rotate with no scopes."`
	JSON     bool     `name:"json" help:"Print device.token.rotate's answer as JSON."`
}

func (c *DevicesRotateCmd) Run(g *Globals) error {
	p := map[string]any{"deviceId": strings.TrimSpace(c.Device), "role": c.Role}
	switch {
	case c.NoScopes && len(c.Scope) > 0:
		return fail(2, "--scope and --no-scopes exclude each other")
	case c.NoScopes:
		p["scopes"] = []string{}
	case len(c.Scope) > 0:
		p["scopes"] = c.Scope
	}
	return callRender(g, c.Target, "device.token.rotate", p, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var r protocol.DeviceTokenRotated
		_ = json.Unmarshal(res, &r)
		fmt.Printf("Rotated the %s token of %s (scopes: %s).\n", r.Role, r.DeviceID, strings.Join(r.Scopes, ", "))
		if r.Token != "" {
			fmt.Printf("New token: %s\n", r.Token)
		} else {
			fmt.Println("The new token is not shown here: the device gets it the next time it connects with the gateway secret.")
		}
		return nil
	})
}
