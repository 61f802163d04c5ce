package jsstore

import (
	"fmt"
	"strconv"
	"strings"
)

// escape makes s one KV key token: letters, digits, '-' and '/' stay, every
// other byte becomes '_' and two hex digits ("agent:main" ->
// "agent_3Amain"). It is byte by byte, so a prefix of a key escapes to a
// prefix of its escaped form, and it never yields '.', the token separator.
func escape(s string) string {
	if s == "" {
		return "_" // a token may not be empty; "_" alone never comes out of a non-empty s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '/' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02X", c)
	}
	return b.String()
}

// unescape reverses escape.
func unescape(s string) (string, error) {
	if s == "_" {
		return "", nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			return "", fmt.Errorf("jsstore: bad escaped key %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("jsstore: bad escaped key %q", s)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// msgKey is the messages bucket's key of one message.
func msgKey(session, id string, seq int64) string {
	return escape(session) + "." + escape(id) + "." + strconv.FormatInt(seq, 10)
}

// kvKey is the kv bucket's key of (ns, key).
func kvKey(ns, key string) string { return escape(ns) + "." + escape(key) }
