package protocol

import "sync"

// Delta is the text a delta event (an agent "assistant" event, a chat
// "delta" event) carries, kept beside its encoded frame so that a socket
// still holding the run's previous delta of the same event unsent can
// replace both with one event (docs/PROTOCOL.md §6.3). The merge is exact:
// the pieces are concatenated and the cumulative text is the newer one's,
// so a reader that gets merged events reconstructs the same text as one
// that got every event.
type Delta struct {
	// FromSeq..Seq are the run seqs the event covers (FromSeq == Seq
	// unless it is a merge).
	FromSeq, Seq int64
	// Text is the run's cumulative text after this event ("" for events
	// that carry only the piece, such as chat deltas).
	Text string
	// Piece is what this event adds to the text.
	Piece string

	// encode builds the broadcast of a merged delta.
	encode func(*Delta) *Broadcast

	mu     sync.Mutex
	merges map[*Broadcast]*Broadcast // by the earlier broadcast, the merge with this one
}

// NewDelta makes a delta whose merges are encoded by encode (which builds
// the event's payload from the merged delta: the same event with seq,
// fromSeq, the text and the piece replaced).
func NewDelta(fromSeq, seq int64, text, piece string, encode func(*Delta) *Broadcast) *Delta {
	return &Delta{FromSeq: fromSeq, Seq: seq, Text: text, Piece: piece, encode: encode}
}

// Merges reports whether next may be merged into b: both are deltas of the
// same run and event, and next's run seqs follow b's without a gap.
func (b *Broadcast) Merges(next *Broadcast) bool {
	return b.Delta != nil && next.Delta != nil && b.Run == next.Run && b.Event == next.Event &&
		b.Delta.Seq+1 == next.Delta.FromSeq
}

// Merge returns the broadcast that stands for prev followed by next (which
// must satisfy prev.Merges(next)). Every socket that holds prev unsent gets
// the same merged broadcast, encoded once.
func Merge(prev, next *Broadcast) *Broadcast {
	d := next.Delta
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.merges[prev]; m != nil {
		return m
	}
	p := prev.Delta
	md := &Delta{FromSeq: p.FromSeq, Seq: d.Seq, Text: d.Text, Piece: p.Piece + d.Piece, encode: d.encode}
	m := d.encode(md)
	m.Delta, m.Run, m.Session = md, next.Run, next.Session
	if d.merges == nil {
		d.merges = make(map[*Broadcast]*Broadcast, 1)
	}
	d.merges[prev] = m
	return m
}
