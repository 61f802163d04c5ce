package logs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// The log file's records carry what the reference CLI reads: "message"
// (the whole line, attributes included), "level", "time" and "subsystem".
func TestFileHandler(t *testing.T) {
	tests := []struct {
		name    string
		log     func(l *slog.Logger)
		message string
		fields  map[string]any
	}{
		{"message only", func(l *slog.Logger) { l.Info("gateway stopping") }, "gateway stopping", nil},
		{"attributes fold into the message and stay fields", func(l *slog.Logger) {
			l.Info("gateway listening", "addr", "127.0.0.1:18789", "port", 18789)
		}, "gateway listening addr=127.0.0.1:18789 port=18789", map[string]any{"addr": "127.0.0.1:18789", "port": 18789.0}},
		{"values with spaces are quoted", func(l *slog.Logger) {
			l.Warn("config ignored", "err", `bad key "x"`)
		}, `config ignored err="bad key \"x\""`, nil},
		{"subsystem labels the record, not its text", func(l *slog.Logger) {
			l.With("subsystem", "canvas").Info("canvas host listening", "url", "http://x")
		}, "canvas host listening url=http://x", map[string]any{"subsystem": "canvas"}},
		{"logger attributes come first", func(l *slog.Logger) {
			l.With("conn", "c1").Info("req", "method", "health")
		}, "req conn=c1 method=health", map[string]any{"conn": "c1", "method": "health"}},
		{"groups flatten with dots", func(l *slog.Logger) {
			l.WithGroup("run").Info("done", "id", "r1", slog.Group("usage", "in", 3))
		}, "done run.id=r1 run.usage.in=3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(slog.New(NewFileHandler(&buf, slog.LevelInfo)))
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not one JSON record: %q", buf.String())
			}
			if rec["message"] != tt.message {
				t.Errorf("message = %q, want %q", rec["message"], tt.message)
			}
			if _, has := rec["msg"]; has {
				t.Errorf("record still has msg: %s", buf.String())
			}
			if lvl, _ := rec["level"].(string); lvl == "" {
				t.Errorf("no level: %s", buf.String())
			}
			if ts, _ := rec["time"].(string); !strings.Contains(ts, "T") {
				t.Errorf("time = %v", rec["time"])
			}
			for k, v := range tt.fields {
				if rec[k] != v {
					t.Errorf("%s = %v, want %v", k, rec[k], v)
				}
			}
		})
	}
}

func TestFileHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewFileHandler(&buf, slog.LevelInfo))
	l.Debug("per-frame detail")
	if buf.Len() != 0 {
		t.Fatalf("a debug record was written at level info: %s", buf.String())
	}
}
