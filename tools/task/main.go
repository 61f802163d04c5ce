// Command task runs the tasks of Taskfile.yml with the task runner
// (github.com/go-task/task) pinned in tools/task/gotask.
//
// The runner lives in a module of its own because it is heavy: remote
// Taskfiles pull the AWS and GCP SDKs, gRPC and OpenTelemetry into its
// module graph (~115 modules), none of which the gateway needs. This small
// program is what go.mod declares as the tool, so `go tool task <args>` at the
// repository root still works: it has the go command build the pinned runner
// (once; the go command caches the executable), then runs it with <args>.
//
// It also makes signals reach every process a task starts. task itself
// catches SIGTERM and SIGINT and only logs them, expecting the terminal to
// deliver Ctrl-C to its children through the process group; a SIGTERM sent to
// `go tool task run` (a supervisor, an IDE's stop button) would otherwise
// leave the gateway running. So the runner gets a process group of its own,
// and every SIGINT, SIGTERM, SIGHUP or SIGQUIT this program receives is sent
// to that whole group.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// moduleDir is where the runner's module is, relative to the repository root.
var moduleDir = filepath.Join("tools", "task", "gotask")

// slowBuild is how long building the runner may take before we say what is
// happening: the first build on a fresh machine downloads and compiles for a
// few minutes, later ones are cache hits that take well under a second.
const slowBuild = 2 * time.Second

func main() {
	dir, err := findModule()
	if err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		os.Exit(1)
	}
	bin, err := buildRunner(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		os.Exit(1)
	}
	os.Exit(runGroup(bin, os.Args[1:]))
}

// findModule looks for tools/task/gotask from the working directory up, so
// `go tool task` works from any directory of the checkout, like task itself.
func findModule() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, moduleDir)
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s/go.mod not found in %s or above: run `go tool task` inside the openclaw-go checkout", moduleDir, wd)
		}
	}
}

// buildRunner has the go command build the pinned runner (or find it in its
// cache) and returns the executable's path. `go tool -n` builds the tool and
// prints the command it would run, which is the path when no argument is
// given.
func buildRunner(dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := exec.Command(goCmd, "-C", dir, "tool", "-n", "task")
	cmd.Stdout, cmd.Stderr = &out, os.Stderr // "go: downloading ..." stays visible
	slow := time.AfterFunc(slowBuild, func() {
		fmt.Fprintln(os.Stderr, "task: building the task runner (github.com/go-task/task, first run only; a few minutes on a fresh machine)...")
	})
	err = cmd.Run()
	slow.Stop()
	if err != nil {
		return "", fmt.Errorf("building the task runner in %s: %w", dir, err)
	}
	bin := strings.TrimSpace(out.String())
	if bin == "" {
		return "", errors.New("the go command printed no path for the task runner")
	}
	return bin, nil
}
