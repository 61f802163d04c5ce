package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxFrameBytes bounds one WebSocket frame the tap buffers: the reference's
// maxPayload is 25 MiB, so 64 MiB leaves room and still stops a runaway peer.
const maxFrameBytes = 64 << 20

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// wsFrame is one frame as it crossed the wire: raw is the exact bytes
// (header, mask and masked payload) that the tap forwards unchanged, payload
// the unmasked data it logs.
type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
	raw     []byte
}

// readFrame reads one frame from r. It does not interpret extensions: the
// tap strips Sec-WebSocket-Extensions from the upgrade so that no frame is
// compressed.
func readFrame(r *bufio.Reader) (*wsFrame, error) {
	var hdr [14]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil, err
	}
	f := &wsFrame{fin: hdr[0]&0x80 != 0, opcode: hdr[0] & 0x0F}
	if hdr[0]&0x70 != 0 {
		return nil, errors.New("websocket frame with RSV bits set (a compressed frame?)")
	}
	masked := hdr[1]&0x80 != 0
	n := uint64(hdr[1] & 0x7F)
	hl := 2
	switch n {
	case 126:
		if _, err := io.ReadFull(r, hdr[2:4]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(hdr[2:4]))
		hl = 4
	case 127:
		if _, err := io.ReadFull(r, hdr[2:10]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(hdr[2:10])
		hl = 10
	}
	if n > maxFrameBytes {
		return nil, fmt.Errorf("websocket frame of %d bytes is over the tap's limit of %d", n, maxFrameBytes)
	}
	var key []byte
	if masked {
		if _, err := io.ReadFull(r, hdr[hl:hl+4]); err != nil {
			return nil, err
		}
		key = hdr[hl : hl+4]
		hl += 4
	}
	f.raw = make([]byte, hl+int(n))
	copy(f.raw, hdr[:hl])
	if _, err := io.ReadFull(r, f.raw[hl:]); err != nil {
		return nil, err
	}
	f.payload = append([]byte(nil), f.raw[hl:]...)
	if masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// assembler joins fragmented data frames into messages.
type assembler struct {
	opcode byte
	buf    []byte
	active bool
}

// add takes a data frame and returns the whole message when it is complete.
func (a *assembler) add(f *wsFrame) (opcode byte, msg []byte, done bool) {
	if f.opcode != opContinuation {
		a.opcode, a.buf, a.active = f.opcode, append([]byte(nil), f.payload...), true
	} else if a.active {
		a.buf = append(a.buf, f.payload...)
	}
	if !f.fin || !a.active {
		return 0, nil, false
	}
	a.active = false
	return a.opcode, a.buf, true
}

// closePayload decodes a close frame's code and reason (1005 when absent).
func closePayload(p []byte) (int, string) {
	if len(p) < 2 {
		return 1005, ""
	}
	return int(binary.BigEndian.Uint16(p[:2])), string(p[2:])
}
