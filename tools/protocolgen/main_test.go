package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestConfigSchemaCommitted fails when a config type or its doc comment
// changed and config/schema.json was not regenerated (go tool task
// protocol:gen).
func TestConfigSchemaCommitted(t *testing.T) {
	root := filepath.Join("..", "..")
	want, err := configSchema(filepath.Join(root, "config"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ConfigSchemaFile)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go tool task protocol:gen", ConfigSchemaFile)
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{"BotToken": "Bot Token", "TTLMs": "TTL Ms", "Port": "Port",
		"APIRoot": "API Root", "ContextMaxChars": "Context Max Chars", "AgentDefaults": "Agent Defaults"} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}
