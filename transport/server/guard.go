package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
)

// errFrameTooLarge ends a socket's read loop once its guard has refused a
// frame (the close frame is already written by then).
var errFrameTooLarge = errors.New("frame too large")

// frameGuard follows the WebSocket framing (RFC 6455 §5.2) of one socket's
// inbound byte stream, so a frame is refused by the length its header
// declares before gws sees that header.
//
// gws 1.8.9 allocates a buffer of the declared length as soon as it has
// parsed a header and compares the length with one limit for the whole
// server. Unauthenticated sockets need a far smaller limit than
// authenticated ones (64 KiB against 25 MiB): checked after the frame was
// buffered, 32 sockets each declaring 25 MiB made the gateway allocate
// 800 MiB. A 64-bit length with the top bit set even made gws panic on a
// negative slice bound, ending the process. The guard refuses both from the
// header alone.
//
// Payload bytes are skipped in bulk; only header bytes are looked at one by
// one, so the guard costs nothing measurable on large frames.
type frameGuard struct {
	hdr  [maxFrameHeader]byte
	have int    // header bytes of the current frame seen so far
	need int    // its full header length (2 until the second byte is seen)
	left uint64 // payload bytes of the current frame still to pass
	msg  uint64 // bytes of the fragmented data message in progress
}

// maxFrameHeader is the longest frame header: 2 bytes, a 64-bit length, a
// 4-byte mask key.
const maxFrameHeader = 14

// scan advances the guard over p, the next bytes read from the socket. It
// returns how many of them may be handed on: all of p, or, when a header
// declares a frame (or a fragmented message) longer than limit, the bytes
// before that header's last byte, so the reader above never learns the
// length; ok is then false.
func (g *frameGuard) scan(p []byte, limit uint64) (pass int, ok bool) {
	i := 0
	for i < len(p) {
		if g.left > 0 {
			n := uint64(len(p) - i)
			if n > g.left {
				n = g.left
			}
			g.left -= n
			i += int(n)
			continue
		}
		if g.need == 0 {
			g.need = 2
		}
		g.hdr[g.have] = p[i]
		g.have++
		if g.have == 2 {
			g.need = 2 + extLen(g.hdr[1]&0x7F)
			if g.hdr[1]&0x80 != 0 {
				g.need += 4
			}
		}
		if g.have == g.need {
			if !g.frame(limit) {
				return i, false
			}
		}
		i++
	}
	return len(p), true
}

// frame checks a complete header and sets up skipping its payload.
func (g *frameGuard) frame(limit uint64) bool {
	n := uint64(g.hdr[1] & 0x7F)
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(g.hdr[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(g.hdr[2:10])
	}
	fin, op := g.hdr[0]&0x80 != 0, g.hdr[0]&0x0F
	g.have, g.need, g.left = 0, 0, n
	if op >= 0x8 {
		// Control frames (close, ping, pong) may come between the
		// fragments of a message and do not count towards it; gws refuses
		// any over 125 bytes itself.
		return n <= 125
	}
	total := n
	if op == 0x0 {
		total += g.msg // a continuation adds to the message in progress
		if total < n {
			return false // wrapped around
		}
	}
	if total > limit {
		return false
	}
	g.msg = total
	if fin {
		g.msg = 0
	}
	return true
}

// extLen is how many extended length bytes a 7-bit length code announces.
func extLen(code byte) int {
	switch code {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}

// guardedConn is the connection gws reads from: every read passes the guard
// first, with the socket's current limit.
type guardedConn struct {
	net.Conn
	sock *Socket
	g    frameGuard
	err  error // sticky once a frame was refused
}

func (c *guardedConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.sock.srv.m.BytesIn.Add(float64(n))
		pass, ok := c.g.scan(p[:n], c.sock.readLimit())
		if !ok {
			c.err = errFrameTooLarge
			c.sock.frameTooLarge()
			return pass, c.err
		}
	}
	return n, err
}

// guardedWriter hands gws the guarded connection when it hijacks the
// upgrade request.
type guardedWriter struct {
	http.ResponseWriter
	sock *Socket
}

func (w guardedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.sock.raw = c // written to directly (writer.go); reads go through the guard
	w.sock.rc = rawOf(c)
	dropWhenStuck(c, w.sock.limits.WriteTimeout)
	return &guardedConn{Conn: c, sock: w.sock}, brw, nil
}
