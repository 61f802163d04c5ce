package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashEnv, when set, turns TestCrashSafety into the child: it writes to the
// database at that path until it is killed, printing every acknowledged write.
const crashEnv = "OPENCLAW_STORE_CRASH_CHILD"

const (
	crashWorkers  = 8
	crashSessions = 3
)

// crashChild appends (and enqueues, and puts) from several goroutines and
// prints one line per acknowledged write:
//
//	A <session> <seq> <content>   an Append returned seq
//	Q <id>                        an Enqueue returned
//	K <key> <i>                   a Put of i under key returned
//
// Content, ids and keys carry the child's pid, so runs do not collide.
//
// A line is written with one write(2), so a line that reached the pipe is
// whole and was acknowledged before it was written.
func crashChild(path string) {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	emit := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		mu.Lock()
		os.Stdout.WriteString(line)
		mu.Unlock()
	}
	tag := strconv.Itoa(os.Getpid()) // tells this run's writes from earlier runs'
	for w := range crashWorkers {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("agent:main:crash:%d", (w+i)%crashSessions)
				m, err := s.Append(bg, userMsg(key, fmt.Sprintf("%s/%d/%d", tag, w, i)))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(2)
				}
				emit("A %s %d %s/%d/%d", key, m.Seq, tag, w, i)
				if i%4 == 0 {
					id := fmt.Sprintf("%s-%d-%d", tag, w, i)
					if _, err := s.Enqueue(bg, "ingress", strconv.Itoa(w), id, []byte(id)); err != nil {
						fmt.Fprintln(os.Stderr, "child enqueue:", err)
						os.Exit(2)
					}
					emit("Q %s", id)
				}
				if i%3 == 0 {
					if err := s.Put(bg, "offsets", fmt.Sprintf("%s-%d", tag, w), []byte(strconv.Itoa(i))); err != nil {
						fmt.Fprintln(os.Stderr, "child put:", err)
						os.Exit(2)
					}
					emit("K %s-%d %d", tag, w, i)
				}
			}
		}()
	}
	time.Sleep(60 * time.Second) // the parent kills us long before this
	os.Exit(3)
}

func TestCrashSafety(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := tempPath(t)
	// Kill, recover, go on writing to the recovered database, kill again;
	// after each round check every write acknowledged in any round so far.
	var acked []string
	for round, killAfter := range []int{150 + rand.IntN(300), 400 + rand.IntN(400), 50 + rand.IntN(100)} {
		acked = append(acked, runCrashChild(t, path, killAfter)...)
		checkCrashRecovery(t, path, round, acked)
	}
}

// runCrashChild starts the child on path, SIGKILLs it once killAfter writes
// were acknowledged, and returns every acknowledgement line it printed.
func runCrashChild(t *testing.T, path string, killAfter int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read acknowledgements; kill the child mid-stream, without warning, once
	// enough have arrived (or after a deadline).
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var acked []string
	deadline := time.After(8 * time.Second)
	killed := false
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			acked = append(acked, line)
			if len(acked) == killAfter && !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		case <-deadline:
			if !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
	}
	werr := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\n%s", werr, stderr.String())
	}
	if len(acked) < 50 {
		t.Fatalf("only %d acknowledgements before the kill\n%s", len(acked), stderr.String())
	}

	return acked
}

// checkCrashRecovery reopens the database and checks that every acknowledged
// write survived and that the file is sound.
func checkCrashRecovery(t *testing.T, path string, round int, acked []string) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer s.Close()
	var check string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q %v", check, err)
	}
	history := map[string][]Message{}
	for i := range crashSessions {
		key := fmt.Sprintf("agent:main:crash:%d", i)
		msgs, total, err := s.History(bg, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != total {
			t.Fatalf("%s: %d messages, total %d", key, len(msgs), total)
		}
		for j, m := range msgs {
			if m.Seq != int64(j+1) {
				t.Fatalf("%s: gap: position %d has seq %d", key, j, m.Seq)
			}
		}
		history[key] = msgs
	}
	pending, err := s.Pending(bg, "ingress", 0)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for _, it := range pending {
		queued[it.ID] = true
	}
	var nA, nQ, nK int
	lastPut := map[string]int{}
	for _, line := range acked {
		f := strings.Fields(line)
		switch f[0] {
		case "A":
			nA++
			seq, _ := strconv.Atoi(f[2])
			msgs := history[f[1]]
			if seq > len(msgs) {
				t.Errorf("acknowledged %s seq %d lost (only %d survived)", f[1], seq, len(msgs))
				continue
			}
			want, _ := json.Marshal(f[3])
			if got := string(msgs[seq-1].Content); got != string(want) {
				t.Errorf("%s seq %d holds %s, want %s", f[1], seq, got, want)
			}
		case "Q":
			nQ++
			if !queued[f[1]] {
				t.Errorf("acknowledged enqueue %s lost", f[1])
			}
		case "K":
			nK++
			i, _ := strconv.Atoi(f[2])
			lastPut[f[1]] = max(lastPut[f[1]], i)
		}
	}
	for w, i := range lastPut {
		v, ok, err := s.Get(bg, "offsets", w)
		got, _ := strconv.Atoi(string(v))
		if err != nil || !ok || got < i {
			t.Errorf("offsets/%s = %q (%v, %v), acknowledged %d", w, v, ok, err, i)
		}
	}
	survived := 0
	for _, msgs := range history {
		survived += len(msgs)
	}
	t.Logf("round %d: killed after %d acknowledgements (%d appends, %d enqueues, %d puts); %d messages survived",
		round, len(acked), nA, nQ, nK, survived)
}
