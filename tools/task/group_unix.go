//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"unsafe"
)

// relayed are the signals passed on to the runner's process group.
var relayed = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runGroup runs bin with args in a new process group, passes every relayed
// signal this process receives to that group, and returns the exit code to
// leave with (128+n for a runner killed by signal n, as shells report it).
//
// When this process owns the terminal (an interactive `go tool task ...`),
// the new group is made the terminal's foreground group, so Ctrl-C reaches
// the task's processes straight from the terminal (and not twice, once from
// the terminal and once relayed), and anything a task reads from the
// terminal still works. The terminal is handed back when the runner exits.
func runGroup(bin string, args []string) int {
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tty := ownsTerminal()
	if tty {
		cmd.SysProcAttr.Foreground = true
		cmd.SysProcAttr.Ctty = 0 // stdin, the same descriptor in the child
	}
	// Catch the signals before the child exists, so none is lost between
	// Start and the relay loop.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, relayed...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		return 1
	}
	if tty {
		defer takeTerminalBack()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			// The group id is the runner's pid (Setpgid with Pgid 0).
			_ = syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal))
		case err := <-done:
			return exitCode(err)
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "task:", err)
			return 1
		}
		return 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// ownsTerminal reports whether stdin is a terminal whose foreground process
// group is ours.
func ownsTerminal() bool {
	var fg int32
	if ioctl(0, syscall.TIOCGPGRP, unsafe.Pointer(&fg)) != nil {
		return false // not a terminal
	}
	return int(fg) == syscall.Getpgrp()
}

// takeTerminalBack makes our process group the terminal's foreground group
// again. We are a background process at that point, so the kernel would stop
// us with SIGTTOU for asking; ignoring the signal lets the call through, as
// shells do.
func takeTerminalBack() {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	pgrp := int32(syscall.Getpgrp())
	_ = ioctl(0, syscall.TIOCSPGRP, unsafe.Pointer(&pgrp))
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
