package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"openclaw/transport/protocol"
)

// SessionsCmd groups the session commands (gateway methods sessions.*);
// a bare `openclaw sessions` lists them.
type SessionsCmd struct {
	List    SessionsListCmd    `cmd:"" default:"withargs" help:"List the gateway's sessions, newest first (the default)."`
	Compact SessionsCompactCmd `cmd:"" help:"Summarise a session's older turns into one message (or keep only the newest --max-lines)."`
	Reset   SessionsResetCmd   `cmd:"" help:"Start a session over: an empty transcript, a new session id."`
	Delete  SessionsDeleteCmd  `cmd:"" help:"Delete a session and its transcript."`
}

// SessionsListCmd lists sessions.
type SessionsListCmd struct {
	Target
	Limit  int    `help:"Sessions to show." default:"100"`
	Agent  string `help:"Only this agent's sessions." placeholder:"ID"`
	Active int    `help:"Only sessions updated within the past N minutes." placeholder:"MINUTES"`
	Search string `help:"Only sessions whose key or label contains this."`
	JSON   bool   `name:"json" help:"Print sessions.list's result as JSON."`
}

func (c *SessionsListCmd) Run(g *Globals) error {
	if c.Limit < 1 {
		return fail(2, "--limit must be at least 1")
	}
	params := map[string]any{"limit": c.Limit, "includeLastMessage": !c.JSON}
	putOptional(params, "agentId", c.Agent)
	putOptional(params, "search", c.Search)
	if c.Active > 0 {
		params["activeMinutes"] = c.Active
	}
	return callRender(g, c.Target, "sessions.list", params, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		return writeSessions(os.Stdout, res, time.Now())
	})
}

// writeSessions prints sessions.list's rows as a table.
func writeSessions(w io.Writer, res json.RawMessage, now time.Time) error {
	var l protocol.SessionsList
	if err := json.Unmarshal(res, &l); err != nil {
		return fmt.Errorf("unexpected sessions.list result: %w", err)
	}
	if len(l.Sessions) == 0 {
		_, err := fmt.Fprintln(w, "No sessions.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tKIND\tUPDATED\tMESSAGES\tTOKENS\tMODEL\tLABEL")
	for _, s := range l.Sessions {
		model := "-"
		if s.Model != nil {
			model = *s.Model
		}
		tokens := "-"
		if s.InputTokens+s.OutputTokens > 0 {
			tokens = fmt.Sprintf("%d in / %d out", s.InputTokens, s.OutputTokens)
		}
		label := s.Label
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Key, s.Kind, ago(now, s.UpdatedAt), s.MessageCount, tokens, model, label)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l.HasMore {
		_, err := fmt.Fprintf(w, "%d of %d sessions shown (--limit).\n", len(l.Sessions), l.TotalCount)
		return err
	}
	return nil
}

// ago words how long ago a time (ms) was: "just now", "5m ago", "3h ago";
// "" for no time (ms <= 0).
func ago(now time.Time, ms int64) string {
	if ms <= 0 {
		return ""
	}
	d := now.Sub(time.UnixMilli(ms))
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// SessionsCompactCmd compacts one session.
type SessionsCompactCmd struct {
	Target
	Key      string `arg:"" help:"Session key, e.g. agent:main:main."`
	MaxLines int    `help:"Keep only the newest N messages instead of summarising." placeholder:"N"`
	JSON     bool   `name:"json" help:"Print the result as JSON."`
}

func (c *SessionsCompactCmd) Run(g *Globals) error {
	params := map[string]any{"key": strings.TrimSpace(c.Key)}
	if c.MaxLines > 0 {
		params["maxLines"] = c.MaxLines
	}
	return callRender(g, c.Target, "sessions.compact", params, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var r protocol.SessionsCompacted
		_ = json.Unmarshal(res, &r)
		switch {
		case !r.Compacted:
			fmt.Printf("Nothing to compact in %s (%s).\n", r.Key, r.Reason)
		case r.Result != nil:
			fmt.Printf("Compacted %s: %d messages summarised, %d kept.\n", r.Key, r.Result.Summarized, r.Result.Kept)
		case r.Kept != nil:
			fmt.Printf("Compacted %s: kept the newest %d messages.\n", r.Key, *r.Kept)
		}
		return nil
	})
}

// sessionKeyArgs are reset's and delete's: one session by key.
type sessionKeyArgs struct {
	Target
	Key  string `arg:"" help:"Session key, e.g. agent:main:main."`
	JSON bool   `name:"json" help:"Print the result as JSON."`
}

// SessionsResetCmd starts a session over.
type SessionsResetCmd struct{ sessionKeyArgs }

func (c *SessionsResetCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "sessions.reset", map[string]any{"key": strings.TrimSpace(c.Key)}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var r protocol.SessionsPatched
		_ = json.Unmarshal(res, &r)
		fmt.Printf("Reset %s (new session id %s).\n", c.Key, r.Entry.SessionID)
		return nil
	})
}

// SessionsDeleteCmd deletes a session.
type SessionsDeleteCmd struct{ sessionKeyArgs }

func (c *SessionsDeleteCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "sessions.delete", map[string]any{"key": strings.TrimSpace(c.Key)}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var r protocol.SessionsDeleted
		_ = json.Unmarshal(res, &r)
		if !r.Deleted {
			return fail(1, "no session %s", c.Key)
		}
		fmt.Printf("Deleted %s.\n", c.Key)
		return nil
	})
}
