package takeover

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// lsofBackend runs lsof, for systems without procfs (macOS, the BSDs).
type lsofBackend struct{ path string }

func (b lsofBackend) scan(port int) (Report, error) {
	rep := Report{Port: port, Source: "lsof"}
	cmd := exec.Command(b.path, "-nP", "-iTCP:"+strconv.Itoa(port), "-sTCP:LISTEN", "-Fpcn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// lsof exits 1 when nothing matches (and prints nothing).
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || len(bytes.TrimSpace(out)) > 0 {
			msg := strings.TrimSpace(stderr.String())
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			if msg != "" {
				return rep, fmt.Errorf("takeover: lsof: %v: %s", err, msg)
			}
			return rep, fmt.Errorf("takeover: lsof: %w", err)
		}
	}
	for line := range strings.Lines(stderr.String()) {
		if line = strings.TrimSpace(line); line != "" {
			rep.Warnings = append(rep.Warnings, line)
		}
	}
	rep.Processes, err = parseLsof(out)
	if err != nil {
		return rep, err
	}
	rep.Processes = sortProcesses(rep.Processes)
	return rep, nil
}

func (b lsofBackend) sockets(port int) ([]string, error) {
	rep, err := b.scan(port)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, p := range rep.Processes {
		keys = append(keys, strconv.Itoa(p.PID)+" "+p.Address)
	}
	return keys, nil
}

// parseLsof parses lsof's field output (-F): one field per line, the first
// character naming it: p (PID, starts a process set), c (command), f (file
// descriptor, starts a file set), n (name: the socket's local address, e.g.
// 127.0.0.1:18789, [::1]:18789 or *:18789). Other fields are ignored. A
// process without any n field (e.g. -Fpc) yields one entry with no address.
func parseLsof(out []byte) ([]Process, error) {
	var (
		procs   []Process
		cur     *Process
		curAddr bool
	)
	flush := func() {
		if cur != nil && !curAddr {
			procs = append(procs, *cur)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		val := line[1:]
		switch line[0] {
		case 'p':
			flush()
			pid, err := strconv.Atoi(val)
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("takeover: lsof: bad pid line %q", line)
			}
			cur, curAddr = &Process{PID: pid}, false
		case 'c':
			if cur != nil {
				cur.Command = val
			}
		case 'n':
			if cur == nil || strings.Contains(val, "->") {
				continue // not a process set, or a connection rather than a listener
			}
			p := *cur
			p.Address = val
			procs = append(procs, p)
			curAddr = true
		}
	}
	flush()
	return procs, sc.Err()
}
