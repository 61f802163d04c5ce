package cron

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // a job's tz resolves on hosts without a zoneinfo database

	robfig "github.com/robfig/cron/v3"

	"openclaw/transport/protocol"
)

// maxCatchUp bounds the slots walked to find the latest missed one after a
// long stop (a cron expression every second, down for hours).
const maxCatchUp = 100_000

// parser reads cron expressions of 5 fields, or 6 with seconds first, and
// the descriptors (@hourly, @every 1h, ...): the reference's syntax.
var parser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month |
	robfig.Dow | robfig.Descriptor)

// schedule gives a job's slots: the times it is due.
type schedule interface {
	// next is the first slot strictly after t (zero: there is none).
	next(t time.Time) time.Time
}

type every struct {
	anchor time.Time
	period time.Duration
}

func (e every) next(t time.Time) time.Time {
	if t.Before(e.anchor) {
		return e.anchor
	}
	k := t.Sub(e.anchor)/e.period + 1
	return e.anchor.Add(k * e.period)
}

type cronExpr struct{ s robfig.Schedule }

func (c cronExpr) next(t time.Time) time.Time { return c.s.Next(t) }

type at struct{ t time.Time }

func (a at) next(t time.Time) time.Time {
	if a.t.After(t) {
		return a.t
	}
	return time.Time{}
}

// compile checks a schedule and builds it; created is the job's creation
// (the default anchor of "every").
func compile(s protocol.CronSchedule, created time.Time) (schedule, error) {
	switch s.Kind {
	case "every":
		if s.EveryMs <= 0 {
			return nil, errors.New("schedule.everyMs must be positive")
		}
		anchor := created
		if s.AnchorMs != nil {
			anchor = time.UnixMilli(*s.AnchorMs)
		}
		return every{anchor: anchor, period: time.Duration(s.EveryMs) * time.Millisecond}, nil
	case "cron":
		expr := strings.TrimSpace(s.Expr)
		if expr == "" {
			return nil, errors.New("schedule.expr is required for a cron schedule")
		}
		if s.TZ != "" {
			if _, err := time.LoadLocation(s.TZ); err != nil {
				return nil, fmt.Errorf("schedule.tz: unknown time zone %q", s.TZ)
			}
			expr = "CRON_TZ=" + s.TZ + " " + expr
		}
		sched, err := parser.Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("schedule.expr: %v", err)
		}
		return cronExpr{sched}, nil
	case "at":
		t, err := time.Parse(time.RFC3339Nano, s.At)
		if err != nil {
			return nil, fmt.Errorf("schedule.at: %q is not an RFC 3339 time", s.At)
		}
		return at{t}, nil
	}
	return nil, fmt.Errorf("schedule kind %q is not supported here (at, every, cron are)", s.Kind)
}

// normalizeAt turns an "at" given as a duration ("20m") into the time it
// names, from now; RFC 3339 times stay.
func normalizeAt(s *protocol.CronSchedule, now time.Time) error {
	if s.Kind != "at" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s.At); err == nil {
		return nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s.At, "+"))
	if err != nil || d <= 0 {
		return fmt.Errorf("schedule.at: %q is neither an RFC 3339 time nor a duration such as 20m", s.At)
	}
	s.At = now.Add(d).UTC().Format(time.RFC3339Nano)
	return nil
}

// latestDue is the latest slot after base that is not after now (zero when
// none is due): after a stop, a job that missed slots runs once, for the
// last of them.
func latestDue(s schedule, base, now time.Time) time.Time {
	n := s.next(base)
	if n.IsZero() || n.After(now) {
		return time.Time{}
	}
	if e, ok := s.(every); ok {
		// Arithmetic: the last multiple of the period not after now.
		k := now.Sub(e.anchor) / e.period
		return e.anchor.Add(k * e.period)
	}
	for range maxCatchUp {
		m := s.next(n)
		if m.IsZero() || m.After(now) {
			break
		}
		n = m
	}
	return n
}
