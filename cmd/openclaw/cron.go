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

// CronCmd groups the scheduled-job commands (gateway methods cron.*).
type CronCmd struct {
	List    CronListCmd    `cmd:"" default:"withargs" help:"List the scheduled jobs and heartbeats (the default)."`
	Status  CronStatusCmd  `cmd:"" help:"Show the scheduler's state."`
	Add     CronAddCmd     `cmd:"" help:"Add a job: an agent turn (--message) or a system event (--system-event) on a schedule."`
	Run     CronJobCmd     `cmd:"" help:"Run a job now."`
	Runs    CronRunsCmd    `cmd:"" help:"Show a job's runs (every job's without an id)."`
	Enable  CronEnableCmd  `cmd:"" help:"Enable a job."`
	Disable CronDisableCmd `cmd:"" help:"Disable a job."`
	Rm      CronRmCmd      `cmd:"" help:"Remove a job."`
}

// CronListCmd lists jobs.
type CronListCmd struct {
	Target
	All  bool `help:"Include disabled jobs."`
	JSON bool `name:"json" help:"Print cron.list's result as JSON."`
}

func (c *CronListCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "cron.list", map[string]any{"includeDisabled": c.All}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		return writeCronList(os.Stdout, res, time.Now())
	})
}

// writeCronList prints cron.list's jobs as a table.
func writeCronList(w io.Writer, res json.RawMessage, now time.Time) error {
	var l protocol.CronList
	if err := json.Unmarshal(res, &l); err != nil {
		return fmt.Errorf("unexpected cron.list result: %w", err)
	}
	if len(l.Jobs) == 0 {
		_, err := fmt.Fprintln(w, "No scheduled jobs.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCHEDULE\tNEXT\tLAST\tSTATUS\tTARGET\tAGENT")
	for _, j := range l.Jobs {
		next, last, status := "-", "-", "idle"
		if j.NextRunAtMs != nil {
			next = until(now, *j.NextRunAtMs)
		}
		if j.LastRunAtMs != nil {
			last, status = ago(now, *j.LastRunAtMs), j.LastRunStatus
		}
		if !j.Enabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, j.Schedule.String(), next, last, status,
			j.SessionTarget, j.EffectiveAgentID)
	}
	return tw.Flush()
}

func until(now time.Time, ms int64) string {
	d := time.UnixMilli(ms).Sub(now)
	switch {
	case d <= 0:
		return "due"
	case d < time.Minute:
		return fmt.Sprintf("in %ds", int(d.Seconds())+1)
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes())+1)
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh", int(d.Hours()))
	}
	return fmt.Sprintf("in %dd", int(d.Hours()/24))
}

// CronStatusCmd shows the scheduler's state.
type CronStatusCmd struct {
	Target
	JSON bool `name:"json" help:"Print JSON (the default output is JSON too)."`
}

func (c *CronStatusCmd) Run(g *Globals) error {
	return callAndPrint(g, c.Target, "cron.status", map[string]any{}, c.JSON)
}

// CronAddCmd adds a job.
type CronAddCmd struct {
	Target
	Name        string        `help:"Job name." required:""`
	Every       time.Duration `help:"Run every this long (e.g. 10m, 1h)."`
	Cron        string        `help:"Cron expression (5 fields, or 6 with seconds)." placeholder:"EXPR"`
	TZ          string        `help:"Time zone of --cron (IANA, e.g. Europe/Paris)." placeholder:"ZONE"`
	At          string        `help:"Run once: an RFC 3339 time or a duration from now (e.g. 20m)." placeholder:"WHEN"`
	Message     string        `help:"The agent turn's message."`
	SystemEvent string        `help:"A system event for the agent's next heartbeat, instead of a turn." placeholder:"TEXT"`
	Agent       string        `help:"Agent id (default: the default agent)." placeholder:"ID"`
	Session     string        `help:"Session: main, isolated (the job's own, default) or session:<key>." default:"isolated"`
	Wake        bool          `help:"With --system-event: run the heartbeat now rather than at its next slot."`
	Model       string        `help:"Model for the turn (<provider>/<model id>)."`
	Channel     string        `help:"Announce the reply on this channel (with --to)."`
	To          string        `help:"Announce the reply to this target (with --channel)."`
	Disabled    bool          `help:"Create the job disabled."`
	JSON        bool          `name:"json" help:"Print the job as JSON (the default output is JSON too)."`
}

func (c *CronAddCmd) Run(g *Globals) error {
	p, err := c.params()
	if err != nil {
		return err
	}
	return callAndPrint(g, c.Target, "cron.add", p, c.JSON)
}

// params builds cron.add's params from the flags, refusing a command that
// names no schedule, several, or no payload.
func (c *CronAddCmd) params() (map[string]any, error) {
	var schedules []map[string]any
	if c.Every > 0 {
		schedules = append(schedules, map[string]any{"kind": "every", "everyMs": c.Every.Milliseconds()})
	}
	if c.Cron != "" {
		s := map[string]any{"kind": "cron", "expr": c.Cron}
		putOptional(s, "tz", c.TZ)
		schedules = append(schedules, s)
	}
	if c.At != "" {
		schedules = append(schedules, map[string]any{"kind": "at", "at": c.At})
	}
	if len(schedules) != 1 {
		return nil, fail(2, "give exactly one schedule: --every, --cron or --at")
	}
	if (c.Message == "") == (c.SystemEvent == "") {
		return nil, fail(2, "give what the job does: --message (an agent turn) or --system-event")
	}
	if (c.Channel == "") != (c.To == "") {
		return nil, fail(2, "--channel and --to go together")
	}
	p := map[string]any{"name": c.Name, "schedule": schedules[0], "sessionTarget": c.Session, "wakeMode": "next-heartbeat",
		"enabled": !c.Disabled}
	if c.Message != "" {
		payload := map[string]any{"kind": "agentTurn", "message": c.Message}
		putOptional(payload, "model", c.Model)
		p["payload"], p["wakeMode"] = payload, "now"
	} else {
		p["payload"] = map[string]any{"kind": "systemEvent", "text": c.SystemEvent}
		p["sessionTarget"] = "main"
		if c.Wake {
			p["wakeMode"] = "now"
		}
	}
	putOptional(p, "agentId", c.Agent)
	if c.Channel != "" {
		p["delivery"] = map[string]any{"mode": "announce", "channel": c.Channel, "to": c.To}
	}
	return p, nil
}

// CronJobCmd is a command on one job by id (run).
type CronJobCmd struct {
	Target
	ID   string `arg:"" help:"Job id (see openclaw cron list)."`
	JSON bool   `name:"json" help:"Print JSON (the default output is JSON too)."`
}

func (c *CronJobCmd) Run(g *Globals) error {
	return callAndPrint(g, c.Target, "cron.run", map[string]any{"id": c.ID, "mode": "force"}, c.JSON)
}

// CronRmCmd removes a job.
type CronRmCmd struct{ CronJobCmd }

func (c *CronRmCmd) Run(g *Globals) error {
	return callAndPrint(g, c.Target, "cron.remove", map[string]any{"id": c.ID}, c.JSON)
}

// CronEnableCmd enables a job.
type CronEnableCmd struct{ CronJobCmd }

func (c *CronEnableCmd) Run(g *Globals) error { return setEnabled(g, c.CronJobCmd, true) }

// CronDisableCmd disables a job.
type CronDisableCmd struct{ CronJobCmd }

func (c *CronDisableCmd) Run(g *Globals) error { return setEnabled(g, c.CronJobCmd, false) }

func setEnabled(g *Globals, c CronJobCmd, on bool) error {
	return callAndPrint(g, c.Target, "cron.update", map[string]any{"id": c.ID, "patch": map[string]any{"enabled": on}}, c.JSON)
}

// CronRunsCmd shows runs.
type CronRunsCmd struct {
	Target
	ID    string `arg:"" optional:"" help:"Job id (default: every job's runs)."`
	Limit int    `help:"Runs to show." default:"50"`
	JSON  bool   `name:"json" help:"Print cron.runs's result as JSON."`
}

func (c *CronRunsCmd) Run(g *Globals) error {
	params := map[string]any{"limit": c.Limit, "scope": "all"}
	if id := strings.TrimSpace(c.ID); id != "" {
		params["id"], params["scope"] = id, "job"
	}
	return callRender(g, c.Target, "cron.runs", params, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		var r protocol.CronRuns
		if err := json.Unmarshal(res, &r); err != nil {
			return fmt.Errorf("unexpected cron.runs result: %w", err)
		}
		if len(r.Entries) == 0 {
			fmt.Println("No runs.")
			return nil
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tJOB\tSTATUS\tTRIGGER\tSUMMARY")
		now := time.Now()
		for _, e := range r.Entries {
			what := e.Summary
			if e.Error != "" {
				what = e.Error
			}
			status := e.Status
			if e.Action == "running" {
				status = "running"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ago(now, e.RunAtMs), e.JobName, status, e.Trigger, oneLine(what))
		}
		return tw.Flush()
	})
}
