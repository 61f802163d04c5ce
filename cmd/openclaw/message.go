package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// MessageCmd groups the outbound message commands.
type MessageCmd struct {
	Send MessageSendCmd `cmd:"" help:"Send a message through a channel of the gateway (gateway method send)."`
}

// MessageSendCmd sends one text message through the gateway.
type MessageSendCmd struct {
	Target
	Channel string `help:"Channel to send through." default:"telegram"`
	To      string `name:"target" short:"t" required:"" help:"Recipient: a chat id or @username." placeholder:"ID|@USERNAME"`
	Message string `short:"m" required:"" help:"Message body."`
	Account string `help:"Channel account id (for multi-account channels)." placeholder:"ID"`
	ReplyTo string `name:"reply-to" help:"Message id to reply to." placeholder:"MESSAGE-ID"`
	Silent  bool   `help:"Send without a notification (Telegram)."`
	JSON    bool   `name:"json" help:"Print the gateway's result as JSON."`
}

func (c *MessageSendCmd) Run(g *Globals) error {
	channel, err := parseChannel(c.Channel)
	if err != nil {
		return err
	}
	params, err := sendParams(channel, c.To, c.Message, c.Account, c.ReplyTo, c.Silent)
	if err != nil {
		return err
	}
	return callRender(g, c.Target, "send", params, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		return writeSent(os.Stdout, channel, res)
	})
}

// sendParams builds the params of gateway method send; blank optional
// values are left out, and each call gets a fresh idempotency key.
func sendParams(channel, to, message, account, replyTo string, silent bool) (map[string]any, error) {
	to = strings.TrimSpace(to)
	if to == "" {
		return nil, fail(exitUsage, "--target must not be empty")
	}
	if strings.TrimSpace(message) == "" {
		return nil, fail(exitUsage, "--message must not be empty")
	}
	p := map[string]any{"to": to, "message": message, "channel": channel, "idempotencyKey": uuid.NewString()}
	putOptional(p, "accountId", account)
	putOptional(p, "replyToId", replyTo)
	putOptional(p, "silent", silent)
	return p, nil
}

// putOptional sets p[key] to v when v is a non-blank string (trimmed) or
// true; the gateway reads a missing key as the default.
func putOptional(p map[string]any, key string, v any) {
	switch v := v.(type) {
	case string:
		if v = strings.TrimSpace(v); v != "" {
			p[key] = v
		}
	case bool:
		if v {
			p[key] = true
		}
	}
}

// writeSent prints the reference CLI's summary of a send through the
// gateway: "✅ Sent via gateway (telegram). Message ID: 42".
func writeSent(w io.Writer, channel string, res json.RawMessage) error {
	var r struct {
		MessageID json.RawMessage `json:"messageId"`
		Channel   string          `json:"channel"`
	}
	_ = json.Unmarshal(res, &r)
	id := "unknown"
	var s string
	switch {
	case json.Unmarshal(r.MessageID, &s) == nil && s != "":
		id = s
	case len(r.MessageID) > 0 && string(r.MessageID) != "null" && string(r.MessageID) != `""`:
		id = string(r.MessageID) // a number
	}
	_, err := fmt.Fprintf(w, "✅ Sent via gateway (%s). Message ID: %s\n", firstSet(r.Channel, channel), id)
	return err
}

// callRender calls one method; a failure is reported like `gateway call`
// does (one stderr line, exit 1, the {"ok":false,...} shape with --json),
// a success goes to render.
func callRender(g *Globals, t Target, method string, params any, asJSON bool, render func(json.RawMessage) error) error {
	res, err := call(g, t, method, params)
	if err != nil {
		return reportError(err, asJSON)
	}
	return render(res)
}

var channelIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// parseChannel normalizes a channel id (trimmed, lowercase) and rejects
// one that cannot be a channel id, as the reference CLI does.
func parseChannel(raw string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(raw))
	if !channelIDPattern.MatchString(v) {
		return "", fail(exitUsage, "invalid channel %q: use lowercase letters, numbers, \"_\" or \"-\", for example \"telegram\"", raw)
	}
	return v, nil
}
