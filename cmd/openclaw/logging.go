package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"openclaw/actors/logs"
)

// setupLogging sends JSON lines to the daily file under the state dir and
// readable text to stdout. --verbose adds debug records (handshakes, requests,
// events) to both; without it, the per-frame records are not written at all,
// so a busy gateway does not spend its disk on them.
func setupLogging(stateDir string, verbose bool) (*slog.Logger, *logs.Writer, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	w, err := logs.NewWriter(filepath.Join(stateDir, "logs"))
	if err != nil {
		return nil, nil, err
	}
	h := slog.NewMultiHandler(
		logs.NewFileHandler(w, level),
		slog.NewTextHandler(stdoutOrDiscard(), &slog.HandlerOptions{Level: level}),
	)
	return slog.New(h), w, nil
}

func stdoutOrDiscard() io.Writer {
	if os.Getenv("OPENCLAW_QUIET") == "1" {
		return io.Discard
	}
	return os.Stdout
}
