package gateway

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// buildID names this binary (hello-ok.server.buildId, status.buildId):
// openclaw-go, the VCS revision when the build recorded one, and the Go
// runtime, e.g. openclaw-go-5ed0a9d1c2b3-go1.26.8.
func buildID() string {
	id := "openclaw-go"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				id += "-" + s.Value[:12]
			}
		}
	}
	return id + "-" + runtime.Version()
}

// host describes the machine, for the gateway's own presence row.
type host struct{ Host, IP, Platform, DeviceFamily string }

func hostInfo() host {
	name, _ := os.Hostname()
	return host{Host: name, IP: primaryIP(), Platform: platform(), DeviceFamily: family()}
}

func primaryIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

func platform() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOOS
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return runtime.GOOS + " " + b.String()
}

func family() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "darwin":
		return "Mac"
	case "windows":
		return "Windows"
	}
	return runtime.GOOS
}

// levelFilter drops records below min before they reach h.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}
