// Package takeover frees a busy TCP port for `openclaw gateway --force`: it
// finds the processes LISTENING on the port, sends them SIGTERM, waits for the
// port to become free and, if it does not, sends SIGKILL once.
//
// On Linux the listeners come from procfs: /proc/net/tcp and /proc/net/tcp6
// give the listening sockets' inodes, and /proc/<pid>/fd/* map the inodes to
// processes. Elsewhere (no /proc) the package runs
// `lsof -nP -iTCP:<port> -sTCP:LISTEN -Fpcn`; with neither available, every
// call fails with a one-line error saying so.
//
// Only listeners of the given port are ever signalled, never the calling
// process itself and never PID 1.
package takeover

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Process is one process listening on the port, once per listening address
// (a process bound to 127.0.0.1 and ::1 appears twice).
type Process struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`           // /proc/<pid>/comm, or lsof's command name
	CmdLine string `json:"cmdline,omitempty"` // /proc/<pid>/cmdline with NULs as spaces (procfs only)
	Address string `json:"address"`           // e.g. 127.0.0.1:18789, [::1]:18789, *:18789 (lsof wildcard)
}

func (p Process) String() string {
	s := fmt.Sprintf("pid %d (%s)", p.PID, p.Command)
	if p.Address != "" {
		s += " on " + p.Address
	}
	return s
}

// Report is everything Scan learned about a port.
type Report struct {
	Port      int
	Source    string    // "procfs" or "lsof"
	Processes []Process // sorted by PID, then address
	// Unowned are addresses listening on the port whose process could not be
	// identified (typically another user's process, unreadable without root).
	Unowned []string
	// Warnings say what could not be inspected (e.g. "/proc/123/fd:
	// permission denied"). They matter only when Unowned is not empty.
	Warnings []string
}

// Busy reports whether anything listens on the port.
func (r Report) Busy() bool { return len(r.Processes) > 0 || len(r.Unowned) > 0 }

// PIDs are the distinct PIDs of r.Processes, ascending.
func (r Report) PIDs() []int {
	var out []int
	for _, p := range r.Processes {
		if !slices.Contains(out, p.PID) {
			out = append(out, p.PID)
		}
	}
	slices.Sort(out)
	return out
}

// ErrUnsupported is returned (wrapped) when neither procfs nor lsof can list
// a port's listeners.
var ErrUnsupported = errors.New("cannot find listening processes: no /proc/net/tcp and lsof is not installed")

// Listeners returns the processes listening on TCP port on any local address,
// IPv4 and IPv6. An empty list and nil error mean nothing listens there.
// Processes that cannot be inspected are skipped; when the port is in use but
// no listener at all could be identified, the error says so (see Scan for
// the details).
func Listeners(port int) ([]Process, error) {
	r, err := Scan(port)
	if err != nil {
		return nil, err
	}
	if len(r.Processes) == 0 && len(r.Unowned) > 0 {
		return nil, r.unownedError()
	}
	return r.Processes, nil
}

// Scan is Listeners with the details: listening addresses without a known
// owner and what could not be inspected.
func Scan(port int) (Report, error) {
	if port < 1 || port > 65535 {
		return Report{Port: port}, fmt.Errorf("takeover: invalid port %d", port)
	}
	return defaultBackend().scan(port)
}

func (r Report) unownedError() error {
	msg := fmt.Sprintf("port %d is in use (%s) but the listening process could not be identified",
		r.Port, strings.Join(r.Unowned, ", "))
	if len(r.Warnings) > 0 {
		w := r.Warnings[0]
		if len(r.Warnings) > 1 {
			w += fmt.Sprintf(" and %d more", len(r.Warnings)-1)
		}
		msg += " (cannot inspect " + w + "; run as the owning user or root)"
	}
	return errors.New(msg)
}

// sortProcesses sorts by PID then address and drops exact duplicates.
func sortProcesses(ps []Process) []Process {
	slices.SortFunc(ps, func(a, b Process) int {
		return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.Address, b.Address))
	})
	return slices.Compact(ps)
}

// describe lists processes for an error or log line, one entry per PID.
func describe(ps []Process) string {
	var parts []string
	for _, g := range groupByPID(ps) {
		parts = append(parts, g.String())
	}
	return strings.Join(parts, ", ")
}

// groupByPID merges the entries of one PID, joining their addresses.
func groupByPID(ps []Process) []Process {
	var out []Process
	for _, p := range ps {
		i := slices.IndexFunc(out, func(q Process) bool { return q.PID == p.PID })
		if i < 0 {
			out = append(out, p)
			continue
		}
		if p.Address != "" && !slices.Contains(strings.Split(out[i].Address, ","), p.Address) {
			if out[i].Address == "" {
				out[i].Address = p.Address
			} else {
				out[i].Address += "," + p.Address
			}
		}
	}
	return out
}
