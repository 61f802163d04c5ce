package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// Follow polling: logs.tail is a request, not a stream.
const (
	// logsPollInterval is how often --follow asks for new lines.
	logsPollInterval = 500 * time.Millisecond
	// logsPageLimit is the most lines one follow request returns (the
	// method's maximum); a busier log is read in several pages, none lost.
	logsPageLimit = 5000
)

// LogsCmd prints the gateway's log file over RPC (logs.tail), so it works
// for a gateway under a supervisor or on another host alike.
type LogsCmd struct {
	Target
	Follow bool `short:"f" help:"Keep printing lines as the gateway writes them, until Ctrl-C (exit 0)."`
	JSON   bool `name:"json" help:"Print the records as the JSON lines the gateway wrote."`
	Plain  bool `help:"Plain text without colours (the default when stdout is not a terminal)."`
	Limit  int  `default:"200" help:"How many of the newest lines to print first (1-5000)."`
}

func (c *LogsCmd) Run(g *Globals) error {
	if c.Limit < 1 || c.Limit > logsPageLimit {
		return fail(exitUsage, "--limit %d: use 1 to %d", c.Limit, logsPageLimit)
	}
	rt, err := resolveTarget(g, c.Target)
	if err != nil {
		return err
	}
	// Ctrl-C (or SIGTERM) ends a follow cleanly: what was printed is
	// complete lines, and the exit code is 0.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := logPrinter{w: os.Stdout, json: c.JSON, color: !c.Plain && !c.JSON && isTerminal(os.Stdout)}

	cl, err := dialTarget(rt, c.Timeout)
	if err != nil {
		return reportError(err, c.JSON)
	}
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	res, err := tail(ctx, cl, c.Timeout, protocol.LogsTailParams{Limit: c.Limit})
	if err != nil {
		return reportError(err, c.JSON)
	}
	p.print(res.Lines)
	if !c.Follow {
		return nil
	}
	cursor, file := res.Cursor, res.File
	lost := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(logsPollInterval):
		}
		if cl == nil {
			if cl, err = dialTarget(rt, c.Timeout); err != nil {
				cl = nil
				continue
			}
			fmt.Fprintln(os.Stderr, "openclaw logs: reconnected")
			lost = false
		}
		res, err := tail(ctx, cl, c.Timeout, protocol.LogsTailParams{Cursor: &cursor, Limit: logsPageLimit})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The gateway restarted or the network dropped: keep the
			// cursor and reconnect, so no line is printed twice or lost.
			if !lost {
				fmt.Fprintf(os.Stderr, "openclaw logs: lost the gateway (%s); reconnecting\n", oneLine(err.Error()))
				lost = true
			}
			cl.Close()
			cl = nil
			continue
		}
		if res.File != file {
			// A new day's file: the cursor was into the old one.
			zero := int64(0)
			if res, err = tail(ctx, cl, c.Timeout, protocol.LogsTailParams{Cursor: &zero, Limit: logsPageLimit}); err != nil {
				continue
			}
			file = res.File
		} else if res.Reset && res.SkippedBytes > 0 {
			fmt.Fprintf(os.Stderr, "openclaw logs: fell behind; skipped %d bytes\n", res.SkippedBytes)
		}
		p.print(res.Lines)
		cursor = res.Cursor
	}
}

func tail(ctx context.Context, cl *client.Client, timeoutSec int, params protocol.LogsTailParams) (*protocol.LogsTail, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutSec)*time.Second)
	defer cancel()
	raw, err := cl.Call(ctx, "logs.tail", params)
	if err != nil {
		ce := &callError{stage: "logs.tail", err: err}
		errors.As(err, &ce.shape)
		return nil, ce
	}
	var res protocol.LogsTail
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("logs.tail: unexpected result: %v", err)
	}
	return &res, nil
}

// logPrinter renders log records: as written (--json), or as
// "15:04:05 INFO  [subsystem] message".
type logPrinter struct {
	w           io.Writer
	json, color bool
}

var levelColors = map[string]string{"DEBUG": "\x1b[2m", "INFO": "\x1b[36m", "WARN": "\x1b[33m", "ERROR": "\x1b[31m"}

func (p logPrinter) print(lines []string) {
	for _, l := range lines {
		if p.json {
			fmt.Fprintln(p.w, l)
			continue
		}
		var r struct {
			Time      time.Time `json:"time"`
			Level     string    `json:"level"`
			Message   string    `json:"message"`
			Msg       string    `json:"msg"`
			Subsystem string    `json:"subsystem"`
		}
		if json.Unmarshal([]byte(l), &r) != nil || r.Level == "" {
			fmt.Fprintln(p.w, l) // not a record: as it is
			continue
		}
		level := fmt.Sprintf("%-5s", r.Level)
		if c, ok := levelColors[r.Level]; ok && p.color {
			level = c + level + "\x1b[0m"
		}
		sub := ""
		if r.Subsystem != "" {
			sub = "[" + r.Subsystem + "] "
		}
		fmt.Fprintf(p.w, "%s %s %s%s\n", r.Time.Local().Format(time.TimeOnly), level, sub, firstSet(r.Message, r.Msg))
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
