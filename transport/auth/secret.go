package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Mode is gateway.auth.mode.
type Mode string

const (
	ModeToken    Mode = "token"
	ModePassword Mode = "password"
	ModeNone     Mode = "none"
)

// Secret is the gateway's shared secret for the active mode.
type Secret struct {
	Mode  Mode
	Value string
	// Generated is true when no token was configured and one was made up for
	// this run (docs/PROTOCOL.md §3.3).
	Generated bool
}

// Failure describes why a shared-secret check failed, in the handshake's terms.
type Failure struct {
	Code    string // AUTH_TOKEN_MISSING, AUTH_TOKEN_MISMATCH, AUTH_PASSWORD_...
	Message string
}

// Check compares what the client presented with the secret. The client may put
// the shared secret in either auth.token or auth.password. It returns nil on
// success and for mode none.
func (s Secret) Check(token, password string) *Failure {
	if s.Mode == ModeNone {
		return nil
	}
	kind, code := "token", "AUTH_TOKEN"
	if s.Mode == ModePassword {
		kind, code = "password", "AUTH_PASSWORD"
	}
	if token == "" && password == "" {
		return &Failure{Code: code + "_MISSING", Message: fmt.Sprintf("unauthorized: gateway %s missing (provide gateway auth %s)", kind, kind)}
	}
	if Equal(token, s.Value) || Equal(password, s.Value) {
		return nil
	}
	return &Failure{Code: code + "_MISMATCH", Message: fmt.Sprintf("unauthorized: gateway %s mismatch (provide gateway auth %s)", kind, kind)}
}

// Matches reports whether a presented value is the shared secret.
func (s Secret) Matches(v string) bool {
	return s.Mode != ModeNone && v != "" && Equal(v, s.Value)
}

// Equal compares two secrets in constant time. Hashing first makes the
// comparison independent of the lengths too.
func Equal(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// GenerateToken returns a random 48-hex-character token.
func GenerateToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// placeholders are values people copy from docs and forget to change.
var placeholders = map[string]bool{
	"changeme": true, "change-me": true, "token": true, "password": true, "secret": true,
	"your-token": true, "your-token-here": true, "<token>": true, "xxx": true, "replace-me": true,
}

// ValidateConfigured rejects blank and placeholder secrets at startup.
func ValidateConfigured(kind, v string) error {
	t := strings.TrimSpace(v)
	if t == "" {
		return fmt.Errorf("gateway.auth.%s is blank: set a real %s or remove the key", kind, kind)
	}
	if placeholders[strings.ToLower(t)] {
		return fmt.Errorf("gateway.auth.%s is the placeholder %q: set a real %s", kind, t, kind)
	}
	if t != v {
		return fmt.Errorf("gateway.auth.%s has leading or trailing spaces", kind)
	}
	return nil
}
