package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/client"
)

func dialTest(t testing.TB, g *gatewayProc, id string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: g.URL, Token: g.Token, ClientID: id, Mode: "cli",
		Scopes: []string{"operator.admin"}, EventBuffer: 64})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func statusOf(t testing.TB, c *client.Client) (pid float64, goroutines float64, bootID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := c.Call(ctx, "status", map[string]any{})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var st struct {
		PID        float64 `json:"pid"`
		Goroutines float64 `json:"goroutines"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	var hello struct {
		Server struct {
			BootID string `json:"bootId"`
		} `json:"server"`
	}
	_ = json.Unmarshal(c.Hello, &hello)
	return st.PID, st.Goroutines, hello.Server.BootID
}

// TestSIGUSR1Restart: 200 clients connected, SIGUSR1: every client is told
// (shutdown "gateway restarting" with restartExpectedMs, close 1012), all of
// them reconnect to a fresh generation in the same process, and the restart
// leaves no goroutines behind.
func TestSIGUSR1Restart(t *testing.T) {
	const n = 200
	g := startGateway(t, gwOptions{Token: "restart-token-123456"})
	clients := make([]*client.Client, n)
	for i := range clients {
		clients[i] = dialTest(t, g, "test")
	}
	admin := dialTest(t, g, "cli")
	pidBefore, goroutinesBefore, bootBefore := statusOf(t, admin)

	g.signal(t, syscall.SIGUSR1)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	var expectMs sync.Map
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.After(10 * time.Second)
			// onEvent reports a bad shutdown payload; other events are ignored.
			onEvent := func(ev *client.Event) error {
				if ev.Event != "shutdown" {
					return nil
				}
				var p struct {
					Reason            string `json:"reason"`
					RestartExpectedMs int64  `json:"restartExpectedMs"`
				}
				_ = json.Unmarshal(ev.Payload, &p)
				if p.Reason != "gateway restarting" || p.RestartExpectedMs <= 0 {
					return errors.New("shutdown payload: " + string(ev.Payload))
				}
				expectMs.Store(i, p.RestartExpectedMs)
				return nil
			}
			for {
				select {
				case ev := <-c.Events():
					if err := onEvent(ev); err != nil {
						errs <- err
						return
					}
				case <-c.Done():
					// Events received before the close may still be queued:
					// select picks at random among ready cases.
					for drained := false; !drained; {
						select {
						case ev := <-c.Events():
							if err := onEvent(ev); err != nil {
								errs <- err
								return
							}
						default:
							drained = true
						}
					}
					var ce *client.CloseError
					if !errors.As(c.Err(), &ce) || ce.Code != 1012 {
						errs <- errors.New("closed with " + c.Err().Error())
					} else if _, ok := expectMs.Load(i); !ok {
						errs <- errors.New("closed without a shutdown event first")
					}
					return
				case <-deadline:
					errs <- errors.New("no shutdown/close within 10s")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if g.exited() {
		t.Fatal("the process exited: an in-process restart must keep the PID")
	}

	// Reconnect them all; each gets a fresh hello-ok from the same process.
	for i := range clients {
		clients[i] = dialTest(t, g, "test")
	}
	admin = dialTest(t, g, "cli")
	pidAfter, goroutinesAfter, bootAfter := statusOf(t, admin)
	if pidAfter != pidBefore || pidAfter != float64(g.cmd.Process.Pid) {
		t.Fatalf("pid %v before, %v after, process %d", pidBefore, pidAfter, g.cmd.Process.Pid)
	}
	if bootAfter != bootBefore {
		t.Fatalf("bootId changed (%s → %s): it identifies the process", bootBefore, bootAfter)
	}
	// Same number of sockets as before: the goroutine count must come back
	// to where it was (a little slack for timers that are mid-flight).
	if goroutinesAfter > goroutinesBefore+20 {
		t.Fatalf("goroutines %v before the restart, %v after: a generation leaked", goroutinesBefore, goroutinesAfter)
	}
	t.Logf("goroutines before %v after %v", goroutinesBefore, goroutinesAfter)
}

// TestSIGUSR1Ignored: with commands.restart false the signal is logged and
// nothing happens to the clients.
func TestSIGUSR1Ignored(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(`{commands: {restart: false}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gwOptions{Token: "restart-token-123456", StateDir: dir})
	c := dialTest(t, g, "cli")
	g.signal(t, syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond)
	select {
	case <-c.Done():
		t.Fatalf("client closed although commands.restart is false: %v", c.Err())
	default:
	}
	if _, _, _ = statusOf(t, c); !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "SIGUSR1 ignored") }, 2*time.Second) {
		t.Fatalf("no log line saying the signal was ignored:\n%s", g.Stdout)
	}
}

func waitFor(ok func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ok()
}
