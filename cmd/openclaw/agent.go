package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"openclaw/transport/protocol"
)

// AgentCmd runs one agent turn through the gateway and prints the reply as it
// streams.
type AgentCmd struct {
	Target
	Message    string  `required:"" short:"m" help:"What to say to the agent."`
	Agent      string  `help:"Agent id (default: the gateway's default agent)."`
	SessionKey string  `help:"Session to continue (default agent:<agent>:main)."`
	To         string  `help:"A channel chat (a Telegram chat id): the turn continues that chat's session (agent:<agent>:<channel>:dm:<to>)."`
	Channel    string  `help:"The channel of --to (default telegram)."`
	Deliver    bool    `help:"Also send the reply to --to through its channel."`
	RunTimeout float64 `name:"run-timeout" help:"Seconds the turn may take (default: agents.defaults.timeoutSeconds)."`
	JSON       bool    `name:"json" help:"Print the final response as JSON instead of streaming the text."`
}

func (c *AgentCmd) Run(g *Globals) error {
	if c.Timeout < 600 {
		// The connection must outlive the turn; the turn's own deadline is
		// the gateway's to enforce.
		c.Timeout = 600
	}
	cl, err := dial(g, c.Target)
	if err != nil {
		return reportError(err, c.JSON)
	}
	defer cl.Close()
	key := uuid.NewString()
	params := map[string]any{"message": c.Message, "idempotencyKey": key}
	if c.Agent != "" {
		params["agentId"] = c.Agent
	}
	if c.SessionKey != "" {
		params["sessionKey"] = c.SessionKey
	}
	if c.Deliver && c.To == "" {
		return fail(exitUsage, "--deliver needs --to <chat id>")
	}
	if c.To != "" {
		params["to"] = c.To
		if c.Channel != "" {
			params["channel"] = c.Channel
		}
		if c.Deliver {
			params["deliver"] = true
		}
	}
	if c.RunTimeout > 0 {
		params["timeout"] = c.RunTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.Timeout)*time.Second)
	defer cancel()
	type outcome struct {
		res json.RawMessage
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := cl.CallFinal(ctx, "agent", params)
		done <- outcome{res, err}
	}()
	streamed := false
	for {
		select {
		case ev := <-cl.Events():
			if c.JSON || ev.Event != "agent" {
				continue
			}
			var p struct {
				RunID  string `json:"runId"`
				Stream string `json:"stream"`
				Data   struct {
					Delta string `json:"delta"`
				} `json:"data"`
			}
			if json.Unmarshal(ev.Payload, &p) == nil && p.RunID == key && p.Stream == "assistant" {
				fmt.Print(p.Data.Delta)
				streamed = true
			}
		case o := <-done:
			if o.err != nil {
				if streamed {
					fmt.Println()
				}
				var es *protocol.ErrorShape
				if errors.As(o.err, &es) {
					if c.JSON {
						_ = printJSON(o.res)
					}
					return fail(exitFailure, "agent run failed: %s (%s)", es.Message, es.Code)
				}
				return fail(exitFailure, "agent run failed: %v", o.err)
			}
			if c.JSON {
				return printJSON(o.res)
			}
			if !streamed {
				// Events were missed (no read scope, or dropped): print the
				// final text instead.
				var f struct {
					Result struct {
						Payloads []struct{ Text string } `json:"payloads"`
					} `json:"result"`
				}
				_ = json.Unmarshal(o.res, &f)
				for _, p := range f.Result.Payloads {
					fmt.Print(p.Text)
				}
			}
			fmt.Println()
			return nil
		}
	}
}
