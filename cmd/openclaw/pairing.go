package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// PairingCmd groups the DM pairing commands (gateway methods
// channels.pairing.*).
type PairingCmd struct {
	List    PairingListCmd    `cmd:"" help:"List pending pairing requests."`
	Approve PairingApproveCmd `cmd:"" help:"Approve a pairing code and allow that sender."`
}

// PairingListCmd lists pending DM pairing requests.
type PairingListCmd struct {
	Target
	ChannelArg string `arg:"" optional:"" name:"channel" help:"Channel, e.g. telegram (default: every pairing channel)."`
	Channel    string `help:"Channel, e.g. telegram (default: every pairing channel)."`
	Account    string `help:"Account id (for multi-account channels)." placeholder:"ID"`
	JSON       bool   `name:"json" help:"Print {\"channel\",\"requests\"} as JSON."`
}

func (c *PairingListCmd) Run(g *Globals) error {
	channel, err := listChannel(c.Channel, c.ChannelArg)
	if err != nil {
		return err
	}
	params := map[string]any{}
	putOptional(params, "channel", channel)
	putOptional(params, "accountId", c.Account)
	return callRender(g, c.Target, "channels.pairing.list", params, c.JSON, func(res json.RawMessage) error {
		return writePairingList(os.Stdout, channel, res, c.JSON)
	})
}

// listChannel is the channel of `pairing list`: --channel or the
// positional one ("" for all); both must agree when both are given.
func listChannel(flag, arg string) (string, error) {
	var ch []string
	for _, raw := range []string{flag, arg} {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		c, err := parseChannel(raw)
		if err != nil {
			return "", err
		}
		ch = append(ch, c)
	}
	switch {
	case len(ch) == 0:
		return "", nil
	case len(ch) == 2 && ch[0] != ch[1]:
		return "", fail(exitUsage, "conflicting pairing channels: %q and %q; pass the channel either positionally or with --channel", ch[0], ch[1])
	}
	return ch[0], nil
}

// pairingList is the payload of channels.pairing.list, as far as the CLI
// reads it.
type pairingList struct {
	Accounts []struct {
		Channel string `json:"channel"`
	} `json:"accounts"`
	Requests []json.RawMessage `json:"requests"`
}

// pairingRequest is the part of one request the table shows.
type pairingRequest struct {
	Code        string          `json:"code"`
	Channel     string          `json:"channel"`
	SenderID    string          `json:"senderId"`
	SenderLabel string          `json:"senderLabel"`
	Metadata    json.RawMessage `json:"metadata"`
	CreatedAt   string          `json:"createdAt"`
}

// writePairingList prints the reference's `pairing list` output: with
// asJSON {"channel": c, "requests": [...]} (the gateway's request objects),
// else a heading and a table, or a line saying there are none.
func writePairingList(w io.Writer, channel string, res json.RawMessage, asJSON bool) error {
	var l pairingList
	if err := json.Unmarshal(res, &l); err != nil {
		return fail(exitFailure, "channels.pairing.list: unexpected result: %v", err)
	}
	reqs := make([]pairingRequest, len(l.Requests))
	seen := map[string]bool{}
	for i, raw := range l.Requests {
		_ = json.Unmarshal(raw, &reqs[i])
		seen[reqs[i].Channel] = true
	}
	for _, a := range l.Accounts {
		seen[a.Channel] = true
	}
	if channel == "" && len(seen) == 1 {
		for ch := range seen {
			channel = ch
		}
	}
	if asJSON {
		if l.Requests == nil {
			l.Requests = []json.RawMessage{}
		}
		out := map[string]any{"channel": nil, "requests": l.Requests}
		if channel != "" {
			out["channel"] = channel
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if len(reqs) == 0 {
		if channel != "" {
			channel += " "
		}
		_, err := fmt.Fprintf(w, "No pending %spairing requests.\n", channel)
		return err
	}
	idLabel := "userId"
	rows := make([][]string, len(reqs))
	for i, r := range reqs {
		if r.SenderLabel != "" && i == 0 {
			idLabel = r.SenderLabel
		}
		meta := ""
		if len(r.Metadata) > 0 && string(r.Metadata) != "null" {
			var b bytes.Buffer
			if json.Compact(&b, r.Metadata) == nil {
				meta = b.String()
			}
		}
		rows[i] = []string{r.Code, r.SenderID, meta, r.CreatedAt}
	}
	cols := []tableColumn{{"Code", 10, false}, {idLabel, 12, true}, {"Meta", 8, true}, {"Requested", 12, false}}
	_, err := fmt.Fprintf(w, "Pairing requests (%d)\n%s", len(reqs), renderTable(cols, rows, 120))
	return err
}

// PairingApproveCmd approves a pairing code:
// `approve <channel> <code>`, `approve --channel <channel> <code>` or
// `approve <code>` (telegram).
type PairingApproveCmd struct {
	Target
	First   string `arg:"" name:"code-or-channel" help:"Pairing code (or the channel when a code follows)."`
	Code    string `arg:"" optional:"" name:"code" help:"Pairing code, when the channel is the first argument."`
	Channel string `help:"Channel (default: telegram)."`
	Account string `help:"Account id (for multi-account channels)." placeholder:"ID"`
	Notify  bool   `help:"Tell the requester on the same channel that they were approved."`
	JSON    bool   `name:"json" help:"Print the gateway's result as JSON."`
}

func (c *PairingApproveCmd) Run(g *Globals) error {
	params, err := approveParams(c.Channel, c.First, c.Code, c.Account, c.Notify)
	if err != nil {
		return err
	}
	channel := params["channel"].(string)
	return callRender(g, c.Target, "channels.pairing.approve", params, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		return writeApproved(os.Stdout, channel, res)
	})
}

// approveParams resolves the channel and code of `pairing approve` the way
// the reference CLI does, with telegram as the default channel.
func approveParams(flagChannel, first, second, account string, notify bool) (map[string]any, error) {
	const usage = "usage: openclaw pairing approve <channel> <code> (or: openclaw pairing approve --channel <channel> <code>)"
	rawChannel, code := "telegram", first
	switch {
	case flagChannel != "" && second != "":
		return nil, fail(exitUsage, "too many arguments; use: openclaw pairing approve --channel <channel> <code>")
	case flagChannel != "":
		rawChannel = flagChannel
	case second != "":
		rawChannel, code = first, second
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return nil, fail(exitUsage, "%s", usage)
	}
	channel, err := parseChannel(rawChannel)
	if err != nil {
		return nil, err
	}
	p := map[string]any{"channel": channel, "code": code}
	putOptional(p, "accountId", account)
	putOptional(p, "notify", notify)
	return p, nil
}

// writeApproved prints "Approved telegram sender 123." and what became of
// the notification and the command-owner bootstrap.
func writeApproved(w io.Writer, channel string, res json.RawMessage) error {
	var r struct {
		SenderID              string `json:"senderId"`
		Notification          string `json:"notification"`
		CommandOwnerBootstrap string `json:"commandOwnerBootstrap"`
	}
	_ = json.Unmarshal(res, &r)
	lines := []string{fmt.Sprintf("Approved %s sender %s.", channel, r.SenderID)}
	if r.CommandOwnerBootstrap == "configured" {
		lines = append(lines, "Command owner configured (commands.ownerAllowFrom was empty).")
	}
	switch r.Notification {
	case "failed":
		lines = append(lines, "Failed to notify requester (see the gateway log).")
	case "unsupported":
		lines = append(lines, "Failed to notify requester: "+channel+" does not support approval notifications.")
	}
	_, err := fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}

// tableColumn is one column of renderTable.
type tableColumn struct {
	header   string
	minWidth int
	flex     bool // takes a share of the room left up to the table's width
}

// renderTable draws rows in the reference CLI's box table: each column as
// wide as its widest cell plus a space either side (at least minWidth), the
// flex columns widened until the table is width wide. Cells are not
// wrapped: a longer row makes a wider table.
func renderTable(cols []tableColumn, rows [][]string, width int) string {
	widths := make([]int, len(cols))
	total := len(cols) + 1
	var flex []int
	for i, c := range cols {
		w := utf8.RuneCountInString(c.header)
		for _, r := range rows {
			w = max(w, utf8.RuneCountInString(r[i]))
		}
		widths[i] = max(c.minWidth, w+2)
		total += widths[i]
		if c.flex {
			flex = append(flex, i)
		}
	}
	for extra := width - total; extra > 0 && len(flex) > 0; {
		step := max(1, extra/len(flex))
		for _, i := range flex {
			n := min(step, extra)
			widths[i] += n
			if extra -= n; extra == 0 {
				break
			}
		}
	}
	var b strings.Builder
	line := func(l, m, r string) {
		b.WriteString(l)
		for i, w := range widths {
			if i > 0 {
				b.WriteString(m)
			}
			b.WriteString(strings.Repeat("─", w))
		}
		b.WriteString(r + "\n")
	}
	row := func(cells []string) {
		for i, w := range widths {
			b.WriteString("│ " + cells[i] + strings.Repeat(" ", max(0, w-2-utf8.RuneCountInString(cells[i]))) + " ")
		}
		b.WriteString("│\n")
	}
	line("┌", "┬", "┐")
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	row(headers)
	line("├", "┼", "┤")
	for _, r := range rows {
		row(r)
	}
	line("└", "┴", "┘")
	return b.String()
}
