package main

import "bytes"

// A minimal, allocation-free scanner for the top level of a JSON object. The
// load tool only needs a few top-level fields of each frame (type, id, ok,
// event, error); decoding whole frames with encoding/json would make the tool
// the bottleneck (the reference gateway's hello-ok alone is ~100 KB).

// frame holds slices into the frame being scanned: valid until the message
// buffer is released.
type frame struct {
	typ   []byte // unquoted
	id    []byte // unquoted
	event []byte // unquoted
	ok    int8   // 0 absent, 1 true, -1 false
	err   []byte // raw error object
	seq   int64  // -1 when absent or not a number
	// payload is the raw payload member: scenarios read into it without
	// scanning the frame again.
	payload []byte
}

// objIter walks the members of one JSON object without decoding them.
type objIter struct {
	b []byte
	i int
}

// newObjIter positions an iterator after the opening brace of b.
func newObjIter(b []byte) (objIter, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return objIter{}, false
	}
	return objIter{b: b, i: i + 1}, true
}

// next returns the next key (without quotes) and its raw value. ok is false
// at the end of the object or on malformed input.
func (it *objIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false
	}
	ke := stringEnd(b, i)
	if ke < 0 {
		return nil, nil, false
	}
	key = b[i+1 : ke]
	i = skipWS(b, ke+1)
	if i >= len(b) || b[i] != ':' {
		return nil, nil, false
	}
	i = skipWS(b, i+1)
	ve := valueEnd(b, i)
	if ve < 0 {
		return nil, nil, false
	}
	it.i = ve
	return key, b[i:ve], true
}

// parseFrame fills f from the top-level members of b. It reports false when b
// is not a JSON object.
func parseFrame(b []byte, f *frame) bool {
	*f = frame{seq: -1}
	it, ok := newObjIter(b)
	if !ok {
		return false
	}
	for {
		k, v, ok := it.next()
		if !ok {
			return true
		}
		switch {
		case string(k) == "type":
			f.typ = unquote(v)
		case string(k) == "id":
			f.id = unquote(v)
		case string(k) == "event":
			f.event = unquote(v)
		case string(k) == "ok":
			if string(v) == "true" {
				f.ok = 1
			} else {
				f.ok = -1
			}
		case string(k) == "error":
			f.err = v
		case string(k) == "seq":
			f.seq = atoi(v)
		case string(k) == "payload":
			f.payload = v
		}
	}
}

// field returns the raw value of the member name of object b, or nil.
func field(b []byte, name string) []byte {
	it, ok := newObjIter(b)
	if !ok {
		return nil
	}
	for {
		k, v, ok := it.next()
		if !ok {
			return nil
		}
		if string(k) == name {
			return v
		}
	}
}

// unquote strips the quotes of a JSON string value (escapes are left alone:
// the fields the tool compares never contain any). Non-strings return nil.
func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return nil
}

func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the string starting at
// b[i] (which is '"'), or -1. It jumps from quote to quote (IndexByte), the
// text of agent deltas being most of what the tool reads; a quote is
// escaped when an odd number of backslashes stands before it.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		e, n := j+k, 0
		for p := e - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return e
		}
		j = e + 1
	}
	return -1
}

// valueEnd returns the index just past the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e := stringEnd(b, i)
		if e < 0 {
			return -1
		}
		return e + 1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isWS(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// atoi parses a non-negative JSON integer; anything else is -1.
func atoi(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
