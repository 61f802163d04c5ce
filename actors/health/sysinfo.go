package health

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"openclaw/transport/protocol"
)

// systemInfo is system.info: the host (from /proc where there is one) and
// this process.
func systemInfo(p Process) protocol.SystemInfo {
	host, _ := os.Hostname()
	release := strings.TrimSpace(readFile("/proc/sys/kernel/osrelease"))
	s := protocol.SystemInfo{MachineName: host, Hostname: host, Platform: runtime.GOOS, Release: release,
		Arch: nodeArch(runtime.GOARCH), OSLabel: osLabel(runtime.GOOS, release), GoVersion: runtime.Version(),
		PID: p.PID, ProcessInstanceID: p.InstanceID, UptimeMs: time.Since(p.Started).Milliseconds(),
		CPUCount: runtime.NumCPU(), CPUModel: cpuModel(), LoadAverage: loadAverage(), Disks: []protocol.DiskInfo{},
		DiskPath: p.StateDir}
	if p.Port != nil {
		s.Port = p.Port()
	}
	s.MemoryTotalBytes, s.MemoryFreeBytes = meminfo()
	s.ProcessMemory = processMemory()
	if d, ok := disk(p.StateDir); ok {
		s.Disks = append(s.Disks, d)
		s.DiskTotalBytes, s.DiskAvailableBytes = d.TotalBytes, d.AvailableBytes
	}
	return s
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// nodeArch names an architecture as the reference (Node's process.arch) does.
func nodeArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "ia32"
	}
	return goarch
}

func osLabel(goos, release string) string {
	name := map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows", "freebsd": "FreeBSD"}[goos]
	if name == "" {
		name = goos
	}
	return strings.TrimSpace(name + " " + release)
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the 1, 5 and 15 minute load (zeros where /proc has none).
func loadAverage() []float64 {
	out := []float64{0, 0, 0}
	f := strings.Fields(readFile("/proc/loadavg"))
	for i := 0; i < 3 && i < len(f); i++ {
		out[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return out
}

// meminfo is the machine's memory and what is available to new work
// (MemAvailable, as Node's os.freemem reports on Linux).
func meminfo() (total, free int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "MemTotal:":
			total = kb * 1024
		case "MemAvailable:":
			free = kb * 1024
		}
	}
	return total, free
}

// mountPoint is the mount point of the file system holding path: the
// longest mount point of /proc/self/mounts that contains it.
func mountPoint(path string) string {
	best := ""
	for _, l := range strings.Split(readFile("/proc/self/mounts"), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		mp := f[1]
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return path
	}
	return best
}
