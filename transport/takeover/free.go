package takeover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	pollInterval = 50 * time.Millisecond
	// defaultTermWait bounds the wait after SIGTERM when ctx has no deadline.
	defaultTermWait = 5 * time.Second
	// killWait is how long Free waits for the port after SIGKILL.
	killWait = 2 * time.Second
)

type freeOptions struct {
	poll, termWait, killWait time.Duration
	self                     int
	signal                   func(pid int, sig os.Signal) error
}

// Free makes TCP port free for the caller to bind: it finds the processes
// listening on it, sends each SIGTERM (logging PID, command and addresses),
// then polls every 50 ms until nothing listens on the port. The wait is
// bounded by ctx's deadline, or 5 s when ctx has none; if the port is still
// busy then, the remaining listeners get SIGKILL once and Free waits up to
// 2 s more. It returns the processes it signalled.
//
// Free never signals the calling process (if it listens on the port, Free
// fails without signalling anything), PID 1, or any process that is not
// listening on port. A listener whose process cannot be identified (another
// user's, without root) is an error before anything is signalled, since
// killing the others would not free the port. A cancelled ctx stops the wait
// without escalating. A nil log discards the messages; log takes slog-style
// key/value pairs.
func Free(ctx context.Context, port int, log func(msg string, args ...any)) ([]Process, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("takeover: invalid port %d", port)
	}
	return free(ctx, defaultBackend(), port, log, freeOptions{
		poll:     pollInterval,
		termWait: defaultTermWait,
		killWait: killWait,
		self:     os.Getpid(),
		signal:   signalPID,
	})
}

func free(ctx context.Context, b backend, port int, log func(string, ...any), o freeOptions) ([]Process, error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	// The socket keys first: one that appears between the two calls is new
	// to the poll below, which then scans again (harmlessly).
	seen, err := b.sockets(port)
	if err != nil {
		return nil, err
	}
	rep, err := b.scan(port)
	if err != nil {
		return nil, err
	}
	if !rep.Busy() {
		return nil, nil
	}
	if len(rep.Unowned) > 0 {
		// A socket bound between reading the table and the fd scan looks
		// unowned for a moment: look once more.
		time.Sleep(o.poll)
		if rep, err = b.scan(port); err != nil {
			return nil, err
		}
		if len(rep.Unowned) > 0 {
			return nil, fmt.Errorf("takeover: %w", rep.unownedError())
		}
	}
	if err := o.checkTargets(port, rep.Processes); err != nil {
		return nil, err
	}

	var killed []Process // every entry of every PID signalled
	signalled := map[int]bool{}
	term := func(ps []Process) error {
		for _, g := range groupByPID(ps) {
			if signalled[g.PID] {
				continue
			}
			log("takeover: sending SIGTERM to the process listening on the port",
				"port", port, "pid", g.PID, "command", g.Command, "address", g.Address)
			if err := o.signal(g.PID, syscall.SIGTERM); err != nil {
				return fmt.Errorf("takeover: cannot stop %s listening on port %d: %w", g, port, err)
			}
			signalled[g.PID] = true
		}
		for _, p := range ps {
			if signalled[p.PID] && !slices.Contains(killed, p) {
				killed = append(killed, p)
			}
		}
		return nil
	}
	if err := term(rep.Processes); err != nil {
		return killed, err
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.termWait)
		defer cancel()
	}
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return killed, fmt.Errorf("takeover: port %d: %w while waiting for %s to exit", port, ctx.Err(), describe(killed))
			}
			break wait
		case <-tick.C:
		}
		keys, err := b.sockets(port)
		if err != nil {
			return killed, err
		}
		if len(keys) == 0 {
			return killed, nil
		}
		if hasNew(keys, seen) {
			// Something new listens (a supervisor restarted it, or
			// another prefork child): stop that too.
			seen = keys
			rep, err := b.scan(port)
			if err != nil {
				return killed, err
			}
			if err := o.checkTargets(port, rep.Processes); err != nil {
				return killed, err
			}
			if err := term(rep.Processes); err != nil {
				return killed, err
			}
		}
	}

	// Still busy at the deadline: SIGKILL what listens now, once.
	rep, err = b.scan(port)
	if err != nil {
		return killed, err
	}
	if err := o.checkTargets(port, rep.Processes); err != nil {
		return killed, err
	}
	for _, g := range groupByPID(rep.Processes) {
		log("takeover: sending SIGKILL to the process still listening on the port",
			"port", port, "pid", g.PID, "command", g.Command, "address", g.Address)
		if err := o.signal(g.PID, syscall.SIGKILL); err != nil {
			return killed, fmt.Errorf("takeover: cannot kill %s listening on port %d: %w", g, port, err)
		}
		signalled[g.PID] = true
	}
	for _, p := range rep.Processes {
		if !slices.Contains(killed, p) {
			killed = append(killed, p)
		}
	}
	deadline := time.Now().Add(o.killWait)
	for time.Now().Before(deadline) {
		time.Sleep(o.poll)
		keys, err := b.sockets(port)
		if err != nil {
			return killed, err
		}
		if len(keys) == 0 {
			return killed, nil
		}
	}
	rep, _ = b.scan(port)
	still := describe(rep.Processes)
	if len(rep.Unowned) > 0 {
		if still != "" {
			still += ", "
		}
		still += strings.Join(rep.Unowned, ", ") + " (unknown process)"
	}
	if still == "" {
		still = "unknown process"
	}
	return killed, fmt.Errorf("takeover: port %d is still busy after SIGTERM and SIGKILL: %s", port, still)
}

// checkTargets refuses to go on when the port is held by this process or by
// PID 1 (an init or a container's main process).
func (o freeOptions) checkTargets(port int, ps []Process) error {
	for _, g := range groupByPID(ps) {
		switch {
		case g.PID == o.self:
			return fmt.Errorf("takeover: port %d is held by this process (pid %d on %s); not killing it", port, g.PID, g.Address)
		case g.PID <= 1:
			return fmt.Errorf("takeover: port %d is held by %s; refusing to kill pid 1", port, g)
		}
	}
	return nil
}

func hasNew(keys, seen []string) bool {
	for _, k := range keys {
		if !slices.Contains(seen, k) {
			return true
		}
	}
	return false
}

// signalPID sends sig to pid; a process that is already gone is no error.
func signalPID(pid int, sig os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer func() { _ = p.Release() }()
	if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
