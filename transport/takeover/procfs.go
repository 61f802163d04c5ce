package takeover

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// backend lists a port's listeners one way or another.
type backend interface {
	// scan identifies the listeners of port.
	scan(port int) (Report, error)
	// sockets returns one key per listening socket of port (empty: the port
	// is free). It is what Free polls, so it should be cheap.
	sockets(port int) ([]string, error)
}

func defaultBackend() backend {
	if _, err := os.Stat("/proc/net/tcp"); err == nil {
		return procBackend{root: "/proc", order: binary.NativeEndian}
	}
	if path, err := exec.LookPath("lsof"); err == nil {
		return lsofBackend{path: path}
	}
	return noBackend{}
}

type noBackend struct{}

func (noBackend) scan(port int) (Report, error) {
	return Report{Port: port}, fmt.Errorf("takeover: port %d: %w", port, ErrUnsupported)
}

func (noBackend) sockets(port int) ([]string, error) {
	return nil, fmt.Errorf("takeover: port %d: %w", port, ErrUnsupported)
}

// tcpListen is the kernel's TCP_LISTEN state as /proc/net/tcp prints it (0A).
const tcpListen = 0x0A

// netSocket is one line of /proc/net/tcp or /proc/net/tcp6.
type netSocket struct {
	Local netip.AddrPort
	State uint8
	UID   int
	Inode uint64
}

// parseProcNet parses the /proc/net/tcp or /proc/net/tcp6 table. Addresses
// are hex words in the kernel's byte order (order: binary.NativeEndian for
// the running machine), the port is big-endian hex after the colon. The
// header line and malformed lines are skipped.
func parseProcNet(r io.Reader, order binary.ByteOrder) ([]netSocket, error) {
	var out []netSocket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		local, err := parseHexAddrPort(f[1], order)
		if err != nil {
			continue
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(f[7])
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, netSocket{Local: local, State: uint8(st), UID: uid, Inode: inode})
	}
	return out, sc.Err()
}

// parseHexAddrPort decodes "0100007F:4A05" or the 32-digit IPv6 form.
func parseHexAddrPort(s string, order binary.ByteOrder) (netip.AddrPort, error) {
	host, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	if len(host) != 8 && len(host) != 32 {
		return netip.AddrPort{}, fmt.Errorf("bad address in %q", s)
	}
	b := make([]byte, len(host)/2)
	for i := 0; i < len(host); i += 8 {
		w, err := strconv.ParseUint(host[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad address in %q", s)
		}
		order.PutUint32(b[i/2:], uint32(w))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// procBackend reads procfs under root (/proc; tests may point elsewhere).
type procBackend struct {
	root  string
	order binary.ByteOrder
}

// listening maps the inodes of the sockets listening on port to their local
// addresses. /proc/net/tcp must exist; tcp6 is missing when IPv6 is off.
func (b procBackend) listening(port int) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(b.root, "net", name))
		if err != nil {
			if name == "tcp6" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("takeover: %w", err)
		}
		socks, err := parseProcNet(f, b.order)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("takeover: read %s: %w", f.Name(), err)
		}
		for _, s := range socks {
			if s.State == tcpListen && int(s.Local.Port()) == port && s.Inode != 0 {
				out[s.Inode] = s.Local.String()
			}
		}
	}
	return out, nil
}

func (b procBackend) sockets(port int) ([]string, error) {
	m, err := b.listening(port)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for ino := range m {
		keys = append(keys, strconv.FormatUint(ino, 10))
	}
	slices.Sort(keys)
	return keys, nil
}

func (b procBackend) scan(port int) (Report, error) {
	rep := Report{Port: port, Source: "procfs"}
	socks, err := b.listening(port)
	if err != nil || len(socks) == 0 {
		return rep, err
	}
	owned := map[uint64]bool{}
	entries, err := os.ReadDir(b.root)
	if err != nil {
		return rep, fmt.Errorf("takeover: %w", err)
	}
	var denied []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		inodes, err := b.socketInodes(pid)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				denied = append(denied, pid)
			}
			continue // gone, or a kernel thread
		}
		var mine []uint64
		for _, ino := range inodes {
			if _, ok := socks[ino]; ok && !slices.Contains(mine, ino) {
				mine = append(mine, ino)
			}
		}
		if len(mine) == 0 {
			continue
		}
		comm, cmdline := b.describe(pid)
		for _, ino := range mine {
			owned[ino] = true
			rep.Processes = append(rep.Processes, Process{PID: pid, Command: comm, CmdLine: cmdline, Address: socks[ino]})
		}
	}
	rep.Processes = sortProcesses(rep.Processes)
	for ino, addr := range socks {
		if !owned[ino] && !slices.Contains(rep.Unowned, addr) {
			rep.Unowned = append(rep.Unowned, addr)
		}
	}
	slices.Sort(rep.Unowned)
	if len(denied) > 0 {
		const show = 10
		slices.Sort(denied)
		var shown []string
		for _, pid := range denied[:min(len(denied), show)] {
			shown = append(shown, strconv.Itoa(pid))
		}
		list := strings.Join(shown, ", ")
		if len(denied) > show {
			list += fmt.Sprintf(", ... (%d in all)", len(denied))
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the open files of pid %s: permission denied", list))
	}
	return rep, nil
}

// socketInodes lists the socket inodes among pid's open files.
func (b procBackend) socketInodes(pid int) ([]uint64, error) {
	dir := filepath.Join(b.root, strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := socketInode(link); ok {
			out = append(out, ino)
		}
	}
	return out, nil
}

// socketInode parses a /proc/<pid>/fd link target "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(s, 10, 64)
	return ino, err == nil
}

// describe reads pid's command name and command line (empty if unreadable).
func (b procBackend) describe(pid int) (comm, cmdline string) {
	dir := filepath.Join(b.root, strconv.Itoa(pid))
	if data, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		comm = strings.TrimRight(string(data), "\n")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		cmdline = strings.ReplaceAll(strings.TrimRight(string(data), "\x00"), "\x00", " ")
	}
	return comm, cmdline
}
