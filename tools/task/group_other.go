//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// runGroup runs bin with args. Elsewhere (Windows; Unix systems whose
// syscall package lacks what group_unix.go uses) signals are left to the
// console and the process group the runner shares with us.
func runGroup(bin string, args []string) int {
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "task:", err)
	return 1
}
