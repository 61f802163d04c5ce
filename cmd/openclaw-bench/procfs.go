package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// statusKB reads a "kB" field (VmRSS, VmHWM, ...) of /proc/<pid>/status.
func statusKB(pid int, name string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	prefix := name + ":"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line[len(prefix):])
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, name)
}

// rssKB is VmRSS of pid in KiB (0 if unreadable).
func rssKB(pid int) int64 {
	v, _ := statusKB(pid, "VmRSS")
	return v
}

func mb(kb int64) float64 { return round(float64(kb)/1024, 1) }

// fdCount counts the open descriptors of pid (-1 if unreadable).
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// threadCount is the Threads field of /proc/<pid>/status (0 if unreadable).
func threadCount(pid int) int64 {
	v, _ := statusKB(pid, "Threads")
	return v
}

// procStat returns the parent pid and the CPU time (user+system) of pid.
func procStat(pid int) (ppid int, cpu time.Duration, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// comm may contain spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0]=state f[1]=ppid ... f[11]=utime f[12]=stime (fields 3, 4, 14, 15)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux for everything /proc reports.
	return ppid, time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// cpuTime is the CPU time of pid so far (0 if unreadable).
func cpuTime(pid int) time.Duration {
	_, d, _ := procStat(pid)
	return d
}

// selfCPU is this process's CPU time (exact, from getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// descendants lists root and every process below it.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, _, err := procStat(pid)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeRSSKB sums VmRSS over root and its descendants (shared pages counted
// once per process, as ps does).
func treeRSSKB(root int) (kb int64, procs int) {
	for _, pid := range descendants(root) {
		kb += rssKB(pid)
		procs++
	}
	return kb, procs
}

// nofileLimit reads the soft "Max open files" of pid (0 if unknown).
func nofileLimit(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line[len("Max open files"):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// raiseNofile raises this process's soft RLIMIT_NOFILE to the hard limit and
// returns the resulting soft limit.
func raiseNofile() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		old := rl.Cur
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return old
		}
	}
	return rl.Cur
}

// loadAvg1 is the 1-minute load average (-1 if unreadable).
func loadAvg1() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
