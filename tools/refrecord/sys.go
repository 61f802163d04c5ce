package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"openclaw/transport/auth"
)

// nodeVersion is the version of the reference's Node, without the "v".
func nodeVersion(ref *reference) (string, error) {
	out, err := exec.Command(filepath.Join(ref.nodeBin, "node"), "--version").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), nil
}

// hostIPs are this machine's non-loopback addresses (the reference puts
// them in its presence rows).
func hostIPs() []string {
	var ips []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			ips = append(ips, n.IP.String())
		}
	}
	return ips
}

// osRelease is the kernel release (Node's os.release()), which the
// reference reports in platform strings.
func osRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func encodeKey(id *auth.Identity) string { return base64.RawURLEncoding.EncodeToString(id.Public) }

// markerVar is set in the environment of every process the recorder
// starts, with a value unique to that process, so that anything it leaves
// behind (the reference CLI re-executes itself in a new process group for
// some commands) can be found and stopped afterwards, and nothing else.
const markerVar = "REFRECORD_RUN"

var markerSeq atomic.Int64

// newMarker returns a fresh "REFRECORD_RUN=<value>" environment entry.
func newMarker() string {
	return fmt.Sprintf("%s=%d-%d", markerVar, os.Getpid(), markerSeq.Add(1))
}

// killMarked SIGKILLs every process whose environment holds marker (an
// entry from newMarker) and returns how many it found.
func killMarked(marker string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, append([]byte(marker), 0)) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		n++
	}
	return n
}

// addHost registers the host name with a scrubber: as a whole value, and
// inside the JSON text of log records (a short name like "vm" is not
// replaced inside other words).
func addHost(sc *scrubber) {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return
	}
	sc.add(h, "<hostname>")
	sc.add(`"hostname":"`+h+`"`, `"hostname":"<hostname>"`)
	sc.add(`\"hostname\":\"`+h+`\"`, `\"hostname\":\"<hostname>\"`)
}
