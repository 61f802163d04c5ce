package takeover

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/loopback"
)

const (
	helperEnv       = "OPENCLAW_TAKEOVER_HELPER" // the address to listen on
	helperIgnoreEnv = "OPENCLAW_TAKEOVER_IGNORE_TERM"
)

// TestHelperProcess is not a test: it is the child process the other tests
// start (this binary re-executed) to listen on a port. It prints
// "ready <addr>" and then blocks until its stdin closes or a signal ends it.
func TestHelperProcess(t *testing.T) {
	addr := os.Getenv(helperEnv)
	if addr == "" {
		t.Skip("helper process only")
	}
	if os.Getenv(helperIgnoreEnv) != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("ready", ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

type child struct {
	cmd  *exec.Cmd
	addr string // as the child reports it: 127.0.0.1:port or [::1]:port
	port int
	done chan struct{} // closed when the child has exited
}

func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *child) waitExit(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		t.Fatalf("child %d still running after %v", c.cmd.Process.Pid, within)
	}
}

// startListener re-executes the test binary as a child listening on addr
// (port 0: a free port).
func startListener(t *testing.T, addr string, ignoreTerm bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+addr)
	if ignoreTerm {
		cmd.Env = append(cmd.Env, helperIgnoreEnv+"=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") || strings.HasPrefix(sc.Text(), "error ") {
				lines <- sc.Text()
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		<-c.done
	})
	select {
	case line := <-lines:
		a, ok := strings.CutPrefix(line, "ready ")
		if !ok {
			t.Skipf("helper cannot listen on %s: %s", addr, line)
		}
		c.addr = a
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			t.Fatal(err)
		}
		c.port = int(ap.Port())
	case <-c.done:
		t.Fatal("helper exited before listening")
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not become ready")
	}
	return c
}

// testComm is what /proc/<pid>/comm says for this test binary (15 bytes max).
func testComm() string {
	base := filepath.Base(os.Args[0])
	return base[:min(len(base), 15)]
}

func requireProcfs(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
}

func TestListenersFindsChild(t *testing.T) {
	requireProcfs(t)
	for _, tc := range []struct{ name, addr string }{
		{"ipv4", "127.0.0.1:0"},
		{"ipv6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startListener(t, tc.addr, false)
			ps, err := Listeners(c.port)
			if err != nil {
				t.Fatal(err)
			}
			want := Process{PID: c.cmd.Process.Pid, Command: testComm(), Address: c.addr}
			if len(ps) != 1 {
				t.Fatalf("Listeners(%d) = %+v, want just %+v", c.port, ps, want)
			}
			got := ps[0]
			if !strings.Contains(got.CmdLine, "-test.run=^TestHelperProcess$") || strings.Contains(got.CmdLine, "\x00") {
				t.Errorf("CmdLine = %q", got.CmdLine)
			}
			got.CmdLine = ""
			if got != want {
				t.Errorf("Listeners(%d) = %+v, want %+v", c.port, got, want)
			}
		})
	}
}

func TestListenersNothing(t *testing.T) {
	requireProcfs(t)
	port := freePort(t)
	ps, err := Listeners(port)
	if err != nil || len(ps) != 0 {
		t.Fatalf("Listeners(free port %d) = %v, %v; want nothing", port, ps, err)
	}
	if _, err := Listeners(0); err == nil {
		t.Error("Listeners(0): no error")
	}
	if _, err := Listeners(70000); err == nil {
		t.Error("Listeners(70000): no error")
	}
}

// TestListenersSelf: our own listener is found too (with our PID).
func TestListenersSelf(t *testing.T) {
	requireProcfs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ps, err := Listeners(port)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].PID != os.Getpid() || ps[0].Address != ln.Addr().String() {
		t.Fatalf("Listeners = %+v, want pid %d on %s", ps, os.Getpid(), ln.Addr())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(append([]any{msg}, args...)...))
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestFreeTerminatesListener(t *testing.T) {
	requireProcfs(t)
	victim := startListener(t, "127.0.0.1:0", false)
	bystander := startListener(t, "127.0.0.1:0", false) // another port: untouched
	var rec logRecorder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	killed, err := Free(ctx, victim.port, rec.log)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0].PID != victim.cmd.Process.Pid || killed[0].Address != victim.addr {
		t.Fatalf("Free killed %+v, want pid %d on %s", killed, victim.cmd.Process.Pid, victim.addr)
	}
	victim.waitExit(t, 5*time.Second)
	if ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && (!ws.Signaled() || ws.Signal() != syscall.SIGTERM) {
		t.Errorf("victim ended with %v, want SIGTERM", victim.cmd.ProcessState)
	}
	for _, want := range []string{"SIGTERM", strconv.Itoa(victim.cmd.Process.Pid), testComm(), victim.addr} {
		if !strings.Contains(rec.String(), want) {
			t.Errorf("log %q lacks %q", rec.String(), want)
		}
	}
	// The port is free: we can bind it.
	ln, err := net.Listen("tcp", victim.addr)
	if err != nil {
		t.Fatalf("port still busy after Free: %v", err)
	}
	ln.Close()

	if !bystander.alive() {
		t.Fatal("the process listening on another port was killed")
	}
	ps, err := Listeners(bystander.port)
	if err != nil || len(ps) != 1 || ps[0].PID != bystander.cmd.Process.Pid {
		t.Fatalf("bystander listeners = %+v, %v", ps, err)
	}
	conn, err := net.Dial("tcp", bystander.addr)
	if err != nil {
		t.Fatalf("bystander no longer accepts: %v", err)
	}
	conn.Close()
}

func TestFreeIPv6(t *testing.T) {
	requireProcfs(t)
	victim := startListener(t, "[::1]:0", false)
	killed, err := Free(context.Background(), victim.port, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0].Address != victim.addr {
		t.Fatalf("killed %+v", killed)
	}
	victim.waitExit(t, 5*time.Second)
}

func TestFreeEscalatesToSIGKILL(t *testing.T) {
	requireProcfs(t)
	victim := startListener(t, "127.0.0.1:0", true) // ignores SIGTERM
	var rec logRecorder
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	killed, err := Free(ctx, victim.port, rec.log)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("Free returned after %v, before the SIGTERM wait ended", time.Since(start))
	}
	if len(killed) != 1 || killed[0].PID != victim.cmd.Process.Pid {
		t.Fatalf("killed %+v", killed)
	}
	victim.waitExit(t, 5*time.Second)
	if ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL) {
		t.Errorf("victim ended with %v, want SIGKILL", victim.cmd.ProcessState)
	}
	if !strings.Contains(rec.String(), "SIGTERM") || !strings.Contains(rec.String(), "SIGKILL") {
		t.Errorf("log = %q, want SIGTERM then SIGKILL", rec.String())
	}
}

func TestFreeNeverKillsSelf(t *testing.T) {
	requireProcfs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	killed, err := Free(context.Background(), port, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "this process") {
		t.Fatalf("Free on our own port: %v, %v; want an error", killed, err)
	}
	if len(killed) != 0 {
		t.Fatalf("killed %+v", killed)
	}
	// Still listening, still us.
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestFreeNothingListening(t *testing.T) {
	requireProcfs(t)
	killed, err := Free(context.Background(), freePort(t), nil)
	if err != nil || killed != nil {
		t.Fatalf("Free(free port) = %v, %v", killed, err)
	}
}

func TestFreeCancelled(t *testing.T) {
	requireProcfs(t)
	victim := startListener(t, "127.0.0.1:0", true)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Free(ctx, victim.port, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Free with a cancelled ctx: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if !victim.alive() {
		t.Fatal("a cancelled Free escalated to SIGKILL")
	}
}

// --- parsers, against lines copied from a real machine (x86-64) ---

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseProcNet(t *testing.T) {
	type row struct {
		addr  string
		state uint8
		inode uint64
	}
	summarize := func(socks []netSocket) []row {
		var out []row
		for _, s := range socks {
			out = append(out, row{s.Local.String(), s.State, s.Inode})
		}
		return out
	}
	socks, err := parseProcNet(strings.NewReader(string(readFixture(t, "proc_net_tcp"))), binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	want := []row{
		{"127.0.0.1:6061", 0x0A, 332942},
		{"0.0.0.0:2024", 0x0A, 648},
		{"127.0.0.1:18950", 0x0A, 172932},
		{"127.0.0.1:18951", 0x0A, 341594},
		{"127.0.0.1:18900", 0x0A, 30154},
		{"127.0.0.1:18799", 0x0A, 344298},
		{"127.0.0.1:44735", 0x0A, 381508},
		{"127.0.0.1:18951", 0x01, 373808},
		{"127.0.0.1:18951", 0x01, 383059},
		{"127.0.0.1:45300", 0x06, 0},
	}
	if got := summarize(socks); !slices.Equal(got, want) {
		t.Errorf("tcp:\n got %v\nwant %v", got, want)
	}

	socks, err = parseProcNet(strings.NewReader(string(readFixture(t, "proc_net_tcp6"))), binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	want = []row{
		{"[::1]:18951", 0x0A, 341596},
		{"[::1]:18950", 0x0A, 172934},
		{"[::1]:18900", 0x0A, 30156},
		{"[::1]:18798", 0x0A, 344301},
		{"[::]:18797", 0x0A, 381842},
		{"[::1]:38464", 0x01, 403672},
		{"[::1]:18797", 0x01, 381868},
	}
	if got := summarize(socks); !slices.Equal(got, want) {
		t.Errorf("tcp6:\n got %v\nwant %v", got, want)
	}
}

func TestParseHexAddrPort(t *testing.T) {
	for _, tc := range []struct {
		in    string
		order binary.ByteOrder
		want  string
	}{
		{"0100007F:4A05", binary.LittleEndian, "127.0.0.1:18949"},
		{"7F000001:4A05", binary.BigEndian, "127.0.0.1:18949"},
		{"0000000000000000FFFF00000100007F:4A05", binary.LittleEndian, "[::ffff:127.0.0.1]:18949"},
		{"B80D01200000000000000000010000FE:0050", binary.LittleEndian, "[2001:db8::fe00:1]:80"},
	} {
		got, err := parseHexAddrPort(tc.in, tc.order)
		if err != nil || got.String() != tc.want {
			t.Errorf("parseHexAddrPort(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:", "0100007F:XYZ", "01007F:4A05", "0100007G:4A05", "0100007F:1FFFF"} {
		if _, err := parseHexAddrPort(bad, binary.LittleEndian); err == nil {
			t.Errorf("parseHexAddrPort(%q): no error", bad)
		}
	}
}

// TestParseProcNetThisMachine: the live tables parse, and our own listener
// shows up in them with the right address and port.
func TestParseProcNetThisMachine(t *testing.T) {
	requireProcfs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	socks, err := procBackend{root: "/proc", order: binary.NativeEndian}.listening(ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 {
		t.Fatalf("listening = %v", socks)
	}
	for _, addr := range socks {
		if addr != ln.Addr().String() {
			t.Errorf("address %s, want %s", addr, ln.Addr())
		}
	}
}

// fakeProc builds a procfs tree: net/tcp{,6} from the fixtures and the given
// processes with their socket inodes.
func fakeProc(t *testing.T, procs map[int][]uint64) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tcp", "tcp6"} {
		if err := os.WriteFile(filepath.Join(root, "net", name), readFixture(t, "proc_net_"+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for pid, inodes := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Symlink("/dev/null", filepath.Join(dir, "fd", "0"))
		_ = os.Symlink("pipe:[99]", filepath.Join(dir, "fd", "1"))
		for i, ino := range inodes {
			if err := os.Symlink(fmt.Sprintf("socket:[%d]", ino), filepath.Join(dir, "fd", strconv.Itoa(3+i))); err != nil {
				t.Fatal(err)
			}
		}
		_ = os.WriteFile(filepath.Join(dir, "comm"), []byte(fmt.Sprintf("proc%d\n", pid)), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "cmdline"), []byte(fmt.Sprintf("/bin/proc%d\x00--port\x0018951\x00", pid)), 0o644)
	}
	_ = os.MkdirAll(filepath.Join(root, "self"), 0o755) // not a PID
	return root
}

func TestProcBackendFakeTree(t *testing.T) {
	// 18951 listens on 127.0.0.1 (inode 341594) and ::1 (341596); pid 200
	// owns both, pid 300 shares the IPv4 one (a forked child), pid 400 holds
	// a connection only.
	root := fakeProc(t, map[int][]uint64{
		200: {341594, 341596, 373808},
		300: {341594},
		400: {383059},
	})
	b := procBackend{root: root, order: binary.LittleEndian}
	rep, err := b.scan(18951)
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{
		{PID: 200, Command: "proc200", CmdLine: "/bin/proc200 --port 18951", Address: "127.0.0.1:18951"},
		{PID: 200, Command: "proc200", CmdLine: "/bin/proc200 --port 18951", Address: "[::1]:18951"},
		{PID: 300, Command: "proc300", CmdLine: "/bin/proc300 --port 18951", Address: "127.0.0.1:18951"},
	}
	if !slices.Equal(rep.Processes, want) || len(rep.Unowned) != 0 {
		t.Fatalf("scan = %+v\nwant %+v", rep, want)
	}
	if got := rep.PIDs(); !slices.Equal(got, []int{200, 300}) {
		t.Errorf("PIDs = %v", got)
	}
	if got := describe(rep.Processes); got != "pid 200 (proc200) on 127.0.0.1:18951,[::1]:18951, pid 300 (proc300) on 127.0.0.1:18951" {
		t.Errorf("describe = %q", got)
	}
	keys, err := b.sockets(18951)
	if err != nil || !slices.Equal(keys, []string{"341594", "341596"}) {
		t.Errorf("sockets = %v, %v", keys, err)
	}

	// 2024 listens (inode 648) but no process in the tree holds it.
	rep, err = b.scan(2024)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Processes) != 0 || !slices.Equal(rep.Unowned, []string{"0.0.0.0:2024"}) {
		t.Fatalf("scan(2024) = %+v", rep)
	}
	if msg := rep.unownedError().Error(); !strings.Contains(msg, "0.0.0.0:2024") || strings.Contains(msg, "\n") {
		t.Errorf("unowned error = %q", msg)
	}

	// Nothing on 9 (nor a connection counted as a listener on 45300).
	for _, port := range []int{9, 45300, 38464} {
		if rep, err := b.scan(port); err != nil || rep.Busy() {
			t.Errorf("scan(%d) = %+v, %v; want nothing", port, rep, err)
		}
	}

	// No net/tcp: an error, not "free".
	if err := os.Remove(filepath.Join(root, "net", "tcp")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.scan(18951); err == nil {
		t.Error("scan without net/tcp: no error")
	}
}

func TestProcBackendPermissionWarning(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every fd directory")
	}
	root := fakeProc(t, map[int][]uint64{500: {648}})
	fd := filepath.Join(root, "500", "fd")
	if err := os.Chmod(fd, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(fd, 0o755) })
	rep, err := procBackend{root: root, order: binary.LittleEndian}.scan(2024)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unowned) != 1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "500") {
		t.Fatalf("scan = %+v", rep)
	}
}

func TestParseLsof(t *testing.T) {
	ps, err := parseLsof(readFixture(t, "lsof_all.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{
		{PID: 8619, Command: "openclaw", Address: "127.0.0.1:18950"},
		{PID: 8619, Command: "openclaw", Address: "[::1]:18950"},
		{PID: 10811, Command: "openclaw-goread", Address: "127.0.0.1:6061"},
		{PID: 10811, Command: "openclaw-goread", Address: "127.0.0.1:18951"},
		{PID: 10811, Command: "openclaw-goread", Address: "[::1]:18951"},
		{PID: 10828, Command: "python3", Address: "127.0.0.1:18799"},
		{PID: 10830, Command: "python3", Address: "[::1]:18798"},
		{PID: 15106, Command: "openclaw", Address: "127.0.0.1:18900"},
		{PID: 15106, Command: "openclaw", Address: "[::1]:18900"},
	}
	if !slices.Equal(ps, want) {
		t.Errorf("lsof_all:\n got %+v\nwant %+v", ps, want)
	}

	ps, err = parseLsof(readFixture(t, "lsof_18799.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Process{{PID: 10828, Command: "python3", Address: "127.0.0.1:18799"}}; !slices.Equal(ps, want) {
		t.Errorf("lsof_18799:\n got %+v\nwant %+v", ps, want)
	}

	ps, err = parseLsof(readFixture(t, "lsof_wildcard.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want = []Process{
		{PID: 11270, Command: "python3", Address: "*:18797"},
		{PID: 11272, Command: "python3", Address: "*:18796"},
	}
	if !slices.Equal(ps, want) {
		t.Errorf("lsof_wildcard:\n got %+v\nwant %+v", ps, want)
	}

	// -Fpc (no n field), an f field, CRLF, an empty result.
	ps, err = parseLsof([]byte("p42\r\ncnode\r\nf3\r\np43\ncnc\nf7\nn127.0.0.1:1->127.0.0.1:2\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = []Process{{PID: 42, Command: "node"}, {PID: 43, Command: "nc"}}
	if !slices.Equal(ps, want) {
		t.Errorf("-Fpc: got %+v, want %+v", ps, want)
	}
	if ps, err := parseLsof(nil); err != nil || len(ps) != 0 {
		t.Errorf("empty: %v, %v", ps, err)
	}
	if _, err := parseLsof([]byte("pabc\n")); err == nil {
		t.Error("bad pid: no error")
	}
}

// TestLsofBackendLive runs the real lsof against a child listener.
func TestLsofBackendLive(t *testing.T) {
	path, err := exec.LookPath("lsof")
	if err != nil {
		t.Skip("lsof not installed")
	}
	if runtime.GOOS == "windows" {
		t.Skip("no lsof on windows")
	}
	c := startListener(t, "127.0.0.1:0", false)
	b := lsofBackend{path: path}
	rep, err := b.scan(c.port)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Processes) != 1 || rep.Processes[0].PID != c.cmd.Process.Pid || rep.Processes[0].Address != c.addr {
		t.Fatalf("lsof scan = %+v, want pid %d on %s", rep, c.cmd.Process.Pid, c.addr)
	}
	if rep, err := b.scan(freePort(t)); err != nil || rep.Busy() {
		t.Fatalf("lsof scan of a free port = %+v, %v", rep, err)
	}
	// Free through lsof.
	killed, err := free(context.Background(), b, c.port, nil, freeOptions{
		poll: pollInterval, termWait: 5 * time.Second, killWait: time.Second, self: os.Getpid(), signal: signalPID,
	})
	if err != nil || len(killed) != 1 {
		t.Fatalf("free via lsof = %+v, %v", killed, err)
	}
	c.waitExit(t, 5*time.Second)
}

func TestNoBackend(t *testing.T) {
	_, err := noBackend{}.scan(18789)
	if !errors.Is(err, ErrUnsupported) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "lsof") {
		t.Fatalf("noBackend error = %v", err)
	}
}

// --- Free's logic against a scripted backend ---

type fakeBackend struct {
	mu    sync.Mutex
	procs []Process // listening now
}

func (f *fakeBackend) scan(port int) (Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Report{Port: port, Source: "fake", Processes: slices.Clone(f.procs)}, nil
}

func (f *fakeBackend) sockets(port int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for _, p := range f.procs {
		keys = append(keys, strconv.Itoa(p.PID)+" "+p.Address)
	}
	return keys, nil
}

func (f *fakeBackend) remove(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = slices.DeleteFunc(f.procs, func(p Process) bool { return p.PID == pid })
}

func (f *fakeBackend) add(p Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = append(f.procs, p)
}

type signalRecord struct {
	pid int
	sig os.Signal
}

func TestFreeLogic(t *testing.T) {
	opts := func(fb *fakeBackend, sent *[]signalRecord, onTerm func(pid int)) freeOptions {
		var mu sync.Mutex
		return freeOptions{
			poll: 5 * time.Millisecond, termWait: 100 * time.Millisecond, killWait: 50 * time.Millisecond,
			self: 1000,
			signal: func(pid int, sig os.Signal) error {
				mu.Lock()
				*sent = append(*sent, signalRecord{pid, sig})
				mu.Unlock()
				if sig == syscall.SIGKILL {
					fb.remove(pid)
				} else if onTerm != nil {
					onTerm(pid)
				}
				return nil
			},
		}
	}

	t.Run("restarted listener is stopped too", func(t *testing.T) {
		fb := &fakeBackend{procs: []Process{{PID: 10, Command: "a", Address: "127.0.0.1:1"}, {PID: 10, Command: "a", Address: "[::1]:1"}}}
		var sent []signalRecord
		o := opts(fb, &sent, func(pid int) {
			fb.remove(pid)
			if pid == 10 { // a supervisor starts a replacement
				fb.add(Process{PID: 11, Command: "a", Address: "127.0.0.1:1"})
			}
		})
		killed, err := free(context.Background(), fb, 1, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		if want := []signalRecord{{10, syscall.SIGTERM}, {11, syscall.SIGTERM}}; !slices.Equal(sent, want) {
			t.Errorf("signals %v, want %v", sent, want)
		}
		if len(killed) != 3 {
			t.Errorf("killed %+v", killed)
		}
	})

	t.Run("stubborn listener gets SIGKILL once", func(t *testing.T) {
		fb := &fakeBackend{procs: []Process{{PID: 10, Command: "a", Address: "127.0.0.1:1"}}}
		var sent []signalRecord
		killed, err := free(context.Background(), fb, 1, nil, opts(fb, &sent, nil))
		if err != nil {
			t.Fatal(err)
		}
		if want := []signalRecord{{10, syscall.SIGTERM}, {10, syscall.SIGKILL}}; !slices.Equal(sent, want) {
			t.Errorf("signals %v, want %v", sent, want)
		}
		if len(killed) != 1 {
			t.Errorf("killed %+v", killed)
		}
	})

	t.Run("unkillable listener is an error naming it", func(t *testing.T) {
		fb := &fakeBackend{procs: []Process{{PID: 10, Command: "zombie", Address: "127.0.0.1:1"}}}
		var sent []signalRecord
		o := opts(fb, &sent, nil)
		o.signal = func(pid int, sig os.Signal) error {
			sent = append(sent, signalRecord{pid, sig}) // and the process stays
			return nil
		}
		_, err := free(context.Background(), fb, 1, nil, o)
		if err == nil || !strings.Contains(err.Error(), "pid 10 (zombie) on 127.0.0.1:1") {
			t.Fatalf("err = %v", err)
		}
		if want := []signalRecord{{10, syscall.SIGTERM}, {10, syscall.SIGKILL}}; !slices.Equal(sent, want) {
			t.Errorf("signals %v, want %v", sent, want)
		}
	})

	t.Run("self and pid 1 are never signalled", func(t *testing.T) {
		for _, pid := range []int{1000, 1} {
			fb := &fakeBackend{procs: []Process{{PID: 10, Command: "a", Address: "127.0.0.1:1"}, {PID: pid, Command: "me", Address: "[::1]:1"}}}
			var sent []signalRecord
			_, err := free(context.Background(), fb, 1, nil, opts(fb, &sent, nil))
			if err == nil || len(sent) != 0 {
				t.Errorf("pid %d: err %v, signals %v", pid, err, sent)
			}
		}
	})

	t.Run("signal failure", func(t *testing.T) {
		fb := &fakeBackend{procs: []Process{{PID: 10, Command: "a", Address: "127.0.0.1:1"}}}
		o := opts(fb, new([]signalRecord), nil)
		o.signal = func(int, os.Signal) error { return syscall.EPERM }
		_, err := free(context.Background(), fb, 1, nil, o)
		if !errors.Is(err, syscall.EPERM) {
			t.Fatalf("err = %v", err)
		}
	})
}
