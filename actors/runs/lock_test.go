package runs

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// lostPuts is a store whose first n puts are never acknowledged (a publish
// that reached a JetStream leader stepping down): they wait for their
// context and fail with its error, writing nothing.
type lostPuts struct {
	store.Store
	n     int
	calls int
	fail  error // returned by every put after the lost ones, when set
}

func (s *lostPuts) Put(ctx context.Context, ns, key string, value []byte) error {
	s.calls++
	if s.calls <= s.n {
		<-ctx.Done()
		return ctx.Err()
	}
	if s.fail != nil {
		return s.fail
	}
	// Acknowledged however long the write takes on a loaded machine.
	return s.Store.Put(context.WithoutCancel(ctx), ns, key, value)
}

// rememberNow sends again a record whose put was not acknowledged, until
// the run's own deadline; any other error ends it at once.
func TestRememberNowRetriesAnUnansweredPut(t *testing.T) {
	defer func(d time.Duration) { rememberTry = d }(rememberTry)
	rememberTry = 50 * time.Millisecond
	sq, err := store.Open(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	rec := &inflight{SessionKey: "agent:main:main", Message: "hi", Node: "gw-1", Resumed: true}
	refused := errors.New("refused")
	for _, tc := range []struct {
		name      string
		lost      int
		fail      error
		runFor    time.Duration // the run's deadline
		want      error
		wantCalls int // 0: more than one, however many fit
	}{
		{"acknowledged", 0, nil, time.Minute, nil, 1},
		{"two lost, then acknowledged", 2, nil, time.Minute, nil, 3},
		{"refused", 0, refused, time.Minute, refused, 1},
		{"lost until the run's deadline", 1000, nil, 120 * time.Millisecond, context.DeadlineExceeded, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &lostPuts{Store: sq, n: tc.lost, fail: tc.fail}
			ctx, cancel := context.WithTimeout(context.Background(), tc.runFor)
			defer cancel()
			runID := "run-" + strings.ReplaceAll(tc.name, " ", "-")
			err := rememberNow(ctx, st, runID, rec)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("rememberNow = %v, want %v", err, tc.want)
			}
			if st.calls != tc.wantCalls && (tc.wantCalls != 0 || st.calls < 2) {
				t.Fatalf("%d puts, want %d", st.calls, tc.wantCalls)
			}
			raw, ok, err := sq.Get(context.Background(), inflightNS, runID)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.want == nil) {
				t.Fatalf("record stored %v (%s), want %v", ok, raw, tc.want == nil)
			}
		})
	}
}
