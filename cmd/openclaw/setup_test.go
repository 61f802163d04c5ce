package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
)

// TestDevSetup: `openclaw --dev setup` writes a loadable config with a token
// and the workspace under ~/.openclaw-dev; a second run leaves it alone; the
// dev gateway then starts from it without --allow-unconfigured.
func TestDevSetup(t *testing.T) {
	home := t.TempDir()
	env := cleanEnv("HOME=" + home)
	res := runCmd(t, 30*time.Second, env, home, testBinary, "--dev", "setup")
	if res.Code != 0 {
		t.Fatalf("setup: %s", res)
	}
	dir := filepath.Join(home, ".openclaw-dev")
	cfg, err := config.Load(filepath.Join(dir, "openclaw.json"))
	if err != nil || cfg == nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.Gateway.Port != 19001 || cfg.Gateway.Auth.Token == nil || !regexp.MustCompile(`^[0-9a-f]{48}$`).MatchString(*cfg.Gateway.Auth.Token) {
		t.Fatalf("config = %+v", cfg.Gateway)
	}
	if st, err := os.Stat(filepath.Join(dir, "workspace", "canvas")); err != nil || !st.IsDir() {
		t.Fatalf("workspace: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "openclaw.json"))
	// The file says where every key is documented, and that place exists.
	doc := regexp.MustCompile(`(?m)^//.* ([a-z/]+\.go)\b`).FindSubmatch(before)
	if doc == nil {
		t.Fatalf("the config does not say where its keys are documented:\n%s", before)
	}
	if _, err := os.Stat(filepath.Join("..", "..", string(doc[1]))); err != nil {
		t.Fatalf("the config points to %s: %v", doc[1], err)
	}
	if res := runCmd(t, 30*time.Second, env, home, testBinary, "--dev", "setup"); res.Code != 0 || !strings.Contains(res.Stdout, "left as it is") {
		t.Fatalf("second setup: %s", res)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "openclaw.json"))
	if string(after) != string(before) {
		t.Fatal("a second setup rewrote the config")
	}
	// The dev gateway runs from it (port from the flag, to stay off 19001).
	port := gatewaytest.FreePort(t)
	g := launchGatewayEnv(t, env, "--dev", "gateway", "--port", strconv.Itoa(port))
	g.Token = *cfg.Gateway.Auth.Token
	if err := g.waitListening(20 * time.Second); err != nil {
		t.Fatalf("dev gateway: %v\n%s%s", err, g.Stdout, g.Stderr)
	}
	mustDial(t, g, g.Token)
}

// launchGatewayEnv starts the binary with exactly these arguments and
// environment (for profile tests, where OPENCLAW_STATE_DIR must stay unset).
// The port is read from a --port argument.
func launchGatewayEnv(t *testing.T, env []string, args ...string) *gatewayProc {
	t.Helper()
	port := 0
	for i, a := range args {
		if a == "--port" && i+1 < len(args) {
			port, _ = strconv.Atoi(args[i+1])
		}
	}
	g := &gatewayProc{Port: port, URL: "ws://127.0.0.1:" + strconv.Itoa(port), HTTP: "http://127.0.0.1:" + strconv.Itoa(port),
		Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(testBinary, args...)
	g.cmd.Env = env
	g.cmd.Stdout, g.cmd.Stderr = g.Stdout, g.Stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	})
	return g
}
