package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A process that left the recorder's process group (as the reference CLI
// does when it re-executes itself) is found by its marker and stopped;
// one without the marker is left alone.
func TestKillMarked(t *testing.T) {
	marker := newMarker()
	start := func(env ...string) *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		cmd.Env = append(os.Environ(), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	marked := start(marker)
	other := start(newMarker())
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	// The environment is readable once exec is done.
	deadline := time.Now().Add(5 * time.Second)
	n := 0
	for n == 0 && time.Now().Before(deadline) {
		n = killMarked(marker)
		if n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n != 1 {
		t.Fatalf("killMarked found %d processes, want 1", n)
	}
	if err := marked.Wait(); err == nil {
		t.Fatal("the marked process exited normally; want killed")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the unmarked process is gone: %v", err)
	}
}
