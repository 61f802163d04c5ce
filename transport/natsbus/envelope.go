package natsbus

import (
	"encoding/binary"
	"errors"

	"openclaw/transport/protocol"
)

// The events envelope: what one gateway publishes on the events subject
// for a broadcast (and the ones published with it), so that every other
// gateway queues the same bytes on its own sockets. The payload is encoded
// once, by the gateway that published it; the receiving gateway adds only
// each socket's seq. Binary and length-prefixed (a delta's bytes are
// copied, never re-encoded as JSON strings):
//
//	version byte, count uvarint, then per broadcast:
//	flags byte (1 droppable, 2 nodesToo),
//	event, scope, topic, run, session, head, tail: uvarint length + bytes
//
// Delta merging is not carried: a delta from another gateway is queued as
// its own frame (docs/ARCHITECTURE.md "Cluster mode").
const envelopeVersion = 1

const (
	flagDroppable = 1 << iota
	flagNodesToo
)

// EncodeBroadcasts encodes bs for the events subject.
func EncodeBroadcasts(bs ...*protocol.Broadcast) []byte {
	n := 2
	for _, b := range bs {
		n += 1 + 7*binary.MaxVarintLen32 + len(b.Event) + len(b.Scope) + len(b.Topic) + len(b.Run) + len(b.Session) + len(b.Head) + len(b.Tail)
	}
	out := make([]byte, 0, n)
	out = append(out, envelopeVersion)
	out = binary.AppendUvarint(out, uint64(len(bs)))
	for _, b := range bs {
		var f byte
		if b.Droppable {
			f |= flagDroppable
		}
		if b.NodesToo {
			f |= flagNodesToo
		}
		out = append(out, f)
		for _, s := range []string{b.Event, b.Scope, b.Topic, b.Run, b.Session} {
			out = binary.AppendUvarint(out, uint64(len(s)))
			out = append(out, s...)
		}
		for _, s := range [][]byte{b.Head, b.Tail} {
			out = binary.AppendUvarint(out, uint64(len(s)))
			out = append(out, s...)
		}
	}
	return out
}

var errEnvelope = errors.New("natsbus: malformed events envelope")

// DecodeBroadcasts decodes what EncodeBroadcasts encoded. The broadcasts'
// bytes alias data.
func DecodeBroadcasts(data []byte) ([]*protocol.Broadcast, error) {
	if len(data) < 2 || data[0] != envelopeVersion {
		return nil, errEnvelope
	}
	r := reader{b: data[1:]}
	count := r.uvarint()
	if r.err || count == 0 || count > uint64(len(data)) {
		return nil, errEnvelope
	}
	out := make([]*protocol.Broadcast, 0, count)
	for range count {
		f := r.byte()
		b := &protocol.Broadcast{Droppable: f&flagDroppable != 0, NodesToo: f&flagNodesToo != 0}
		b.Event, b.Scope, b.Topic, b.Run, b.Session = string(r.bytes()), string(r.bytes()), string(r.bytes()), string(r.bytes()), string(r.bytes())
		b.Head, b.Tail = r.bytes(), r.bytes()
		if r.err {
			return nil, errEnvelope
		}
		out = append(out, b)
	}
	return out, nil
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err || n > uint64(len(r.b)) {
		r.err = true
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}
