package runs

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"openclaw/actors/store"
)

// resumed finds a repeated turn's recorded answer: after the run's newest
// user message, wherever other turns put it in the transcript.
func TestResumed(t *testing.T) {
	msg := func(role, run string) store.Message {
		return store.Message{Role: role, RunID: run, Content: json.RawMessage(`"x"`)}
	}
	for _, tc := range []struct {
		name    string
		history []store.Message
		want    bool
	}{
		{"empty", nil, false},
		{"only its user message", []store.Message{msg("user", "r")}, false},
		{"answered last", []store.Message{msg("user", "r"), msg("assistant", "r")}, true},
		{"answered, then another turn", []store.Message{msg("user", "r"), msg("assistant", "r"), msg("user", "o"), msg("assistant", "o")}, true},
		{"an old turn with the same id, asked again", []store.Message{msg("user", "r"), msg("assistant", "r"), msg("user", "r")}, false},
		{"another run's answer", []store.Message{msg("user", "r"), msg("assistant", "o")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resumed(tc.history, &job{RunID: "r"}) != nil; got != tc.want {
				t.Fatalf("resumed = %v, want %v", got, tc.want)
			}
		})
	}
}

// caughtUp keeps a context read fresh, and reads again one that misses
// messages before the turn's own (appended between the read and the
// turn's own append).
func TestCaughtUp(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	const key = "agent:main:main"
	var stored []store.Message
	for _, role := range []string{"user", "assistant", "user"} {
		m, err := st.Append(ctx, store.Message{SessionKey: key, Role: role, Content: json.RawMessage(`"` + role + `"`), RunID: "r-" + role})
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, m)
	}
	own := stored[2].Seq // the turn's user message
	seqs := func(h []store.Message) []int64 {
		var out []int64
		for _, m := range h {
			out = append(out, m.Seq)
		}
		return out
	}
	want := seqs(stored[:2])
	for _, tc := range []struct {
		name    string
		history []store.Message
		total   int
	}{
		{"fresh", stored[:2], 2},
		{"missing the last answer", stored[:1], 1},
		{"a message left out", stored[1:2], 2},
		{"nothing read", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := seqs(caughtUp(ctx, st, key, tc.history, tc.total, own)); !slices.Equal(got, want) {
				t.Fatalf("context %v, want %v", got, want)
			}
		})
	}
}
