package protocol

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// assistant builds the deltas of a run streaming pieces, as a run does.
func assistant(pieces []string) []*Broadcast {
	out := make([]*Broadcast, len(pieces))
	text := ""
	for i, p := range pieces {
		text += p
		seq := int64(i + 1)
		ev := AgentEvent{RunID: "r", Seq: seq, Stream: StreamAssistant, Data: &AssistantDelta{Text: text, Delta: p}}
		enc := func(d *Delta) *Broadcast {
			m := ev
			m.FromSeq, m.Seq, m.Data = d.FromSeq, d.Seq, &AssistantDelta{Text: d.Text, Delta: d.Piece}
			return NewBroadcast("agent", m, nil)
		}
		b := NewBroadcast("agent", ev, nil)
		b.Run, b.Delta = "r", NewDelta(seq, seq, text, p, enc)
		out[i] = b
	}
	return out
}

// TestMergeIsExact: however a reader's deltas are grouped into merges, the
// events it gets cover every run seq once, in order, their deltas
// concatenate to the text and each carries the text so far.
func TestMergeIsExact(t *testing.T) {
	pieces := []string{"Hel", "lo", ", ", "\"wörld\"", "\n", "<tag>", "\\", "", "end."}
	want := strings.Join(pieces, "")
	for trial := range 200 {
		r := rand.New(rand.NewPCG(uint64(trial), 7))
		bs := assistant(pieces)
		var got []*Broadcast
		for _, b := range bs {
			if n := len(got); n > 0 && r.IntN(2) == 0 && got[n-1].Merges(b) {
				got[n-1] = Merge(got[n-1], b)
				continue
			}
			got = append(got, b)
		}
		var text strings.Builder
		next := int64(1)
		for _, b := range got {
			var ev struct {
				Payload struct {
					Seq, FromSeq int64
					Data         AssistantDelta
				}
			}
			frame := append(append(append([]byte(nil), b.Head...), AppendSeq(nil, 1)...), b.Tail...)
			if err := json.Unmarshal(frame, &ev); err != nil {
				t.Fatalf("trial %d: %s: %v", trial, frame, err)
			}
			p := ev.Payload
			from := p.FromSeq
			if from == 0 {
				from = p.Seq
			}
			if from != next || p.Seq < from {
				t.Fatalf("trial %d: event covers %d..%d after %d", trial, from, p.Seq, next-1)
			}
			next = p.Seq + 1
			text.WriteString(p.Data.Delta)
			if p.Data.Text != text.String() {
				t.Fatalf("trial %d: text %q, deltas so far %q", trial, p.Data.Text, text.String())
			}
		}
		if text.String() != want || next != int64(len(pieces)+1) {
			t.Fatalf("trial %d: %q up to seq %d", trial, text.String(), next-1)
		}
	}
}

// TestMergeSharedAndGuarded: sockets holding the same delta get the same
// merged broadcast (encoded once); deltas of another run, another event or
// with a gap in seq do not merge.
func TestMergeSharedAndGuarded(t *testing.T) {
	bs := assistant([]string{"a", "b", "c"})
	if m1, m2 := Merge(bs[0], bs[1]), Merge(bs[0], bs[1]); m1 != m2 {
		t.Error("the same pair merged twice gave two broadcasts")
	}
	other := assistant([]string{"x", "y"})
	other[1].Run = "q"
	chat := assistant([]string{"a", "b"})
	chat[1].Event = "chat"
	for _, c := range []struct {
		name       string
		prev, next *Broadcast
		want       bool
	}{
		{"next delta", bs[0], bs[1], true},
		{"gap in seq", bs[0], bs[2], false},
		{"backwards", bs[1], bs[0], false},
		{"another run", other[0], other[1], false},
		{"another event", chat[0], chat[1], false},
		{"not a delta", NewBroadcast("agent", 1, nil), bs[0], false},
	} {
		if got := c.prev.Merges(c.next); got != c.want {
			t.Errorf("%s: Merges = %v, want %v", c.name, got, c.want)
		}
	}
}
