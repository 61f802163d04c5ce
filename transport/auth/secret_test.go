package auth

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestSecretCheck(t *testing.T) {
	const (
		tokenMissing     = "unauthorized: gateway token missing (provide gateway auth token)"
		tokenMismatch    = "unauthorized: gateway token mismatch (provide gateway auth token)"
		passwordMissing  = "unauthorized: gateway password missing (provide gateway auth password)"
		passwordMismatch = "unauthorized: gateway password mismatch (provide gateway auth password)"
	)
	tokenSecret := Secret{Mode: ModeToken, Value: "s3cret-token"}
	passwordSecret := Secret{Mode: ModePassword, Value: "hunter2-but-longer"}
	tests := []struct {
		name            string
		secret          Secret
		token, password string
		wantCode        string // "" means the check passes
		wantMsg         string
	}{
		{"token/missing", tokenSecret, "", "", "AUTH_TOKEN_MISSING", tokenMissing},
		{"token/mismatch", tokenSecret, "wrong", "", "AUTH_TOKEN_MISMATCH", tokenMismatch},
		{"token/mismatch in password field", tokenSecret, "", "wrong", "AUTH_TOKEN_MISMATCH", tokenMismatch},
		{"token/both wrong", tokenSecret, "wrong", "also-wrong", "AUTH_TOKEN_MISMATCH", tokenMismatch},
		// A prefix of the secret must not pass: the comparison is whole-value.
		{"token/prefix", tokenSecret, "s3cret", "", "AUTH_TOKEN_MISMATCH", tokenMismatch},
		// Case matters: secrets are compared byte for byte.
		{"token/case", tokenSecret, "S3CRET-TOKEN", "", "AUTH_TOKEN_MISMATCH", tokenMismatch},
		{"token/match", tokenSecret, "s3cret-token", "", "", ""},
		// docs/PROTOCOL.md §3.3: the shared secret may arrive in either field.
		{"token/match in password field", tokenSecret, "", "s3cret-token", "", ""},
		{"token/wrong token right password", tokenSecret, "wrong", "s3cret-token", "", ""},

		{"password/missing", passwordSecret, "", "", "AUTH_PASSWORD_MISSING", passwordMissing},
		{"password/mismatch", passwordSecret, "", "wrong", "AUTH_PASSWORD_MISMATCH", passwordMismatch},
		{"password/mismatch in token field", passwordSecret, "wrong", "", "AUTH_PASSWORD_MISMATCH", passwordMismatch},
		{"password/match", passwordSecret, "", "hunter2-but-longer", "", ""},
		{"password/match in token field", passwordSecret, "hunter2-but-longer", "", "", ""},

		// Mode none accepts anything, including nothing.
		{"none/nothing", Secret{Mode: ModeNone}, "", "", "", ""},
		{"none/anything", Secret{Mode: ModeNone, Value: "x"}, "y", "z", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.secret.Check(tt.token, tt.password)
			if tt.wantCode == "" {
				if f != nil {
					t.Fatalf("Check(%q, %q) = %+v, want success", tt.token, tt.password, *f)
				}
				return
			}
			if f == nil {
				t.Fatalf("Check(%q, %q) succeeded, want %s", tt.token, tt.password, tt.wantCode)
			}
			if f.Code != tt.wantCode || f.Message != tt.wantMsg {
				t.Fatalf("Check(%q, %q) = {%s %q}, want {%s %q}", tt.token, tt.password, f.Code, f.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// An empty configured secret must never be matched by an empty presented
// one; otherwise a misconfigured gateway would accept every client that sends
// nothing in one field and garbage in the other.
func TestSecretCheckEmptyConfiguredValue(t *testing.T) {
	s := Secret{Mode: ModeToken, Value: ""}
	if f := s.Check("x", ""); f == nil || f.Code != "AUTH_TOKEN_MISMATCH" {
		t.Fatalf("Check against an empty secret = %+v, want AUTH_TOKEN_MISMATCH", f)
	}
	if s.Matches("") {
		t.Fatal("Matches(\"\") = true for an empty secret")
	}
}

func TestSecretMatches(t *testing.T) {
	tests := []struct {
		secret Secret
		v      string
		want   bool
	}{
		{Secret{Mode: ModeToken, Value: "abc"}, "abc", true},
		{Secret{Mode: ModeToken, Value: "abc"}, "abd", false},
		{Secret{Mode: ModeToken, Value: "abc"}, "", false},
		{Secret{Mode: ModePassword, Value: "abc"}, "abc", true},
		// In mode none there is no secret to match, even if a value lingers
		// in the config: a bearer check must not pass on it.
		{Secret{Mode: ModeNone, Value: "abc"}, "abc", false},
	}
	for _, tt := range tests {
		if got := tt.secret.Matches(tt.v); got != tt.want {
			t.Errorf("%+v.Matches(%q) = %v, want %v", tt.secret, tt.v, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	long := strings.Repeat("a", 1000)
	tests := []struct {
		a, b string
		want bool
	}{
		{"secret", "secret", true},
		{long, long, true},
		{"secret", "secreT", false},
		// Different lengths must compare unequal without the shorter being
		// treated as a prefix (the inputs are hashed to a fixed size first).
		{"secret", "secret2", false},
		{"secret", "secre", false},
		{long, long + "a", false},
		{"\x00", "\x00\x00", false},
		// Empty inputs are never equal, not even to each other: an unset
		// secret must not match an omitted field.
		{"", "", false},
		{"", "secret", false},
		{"secret", "", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%.20q, %.20q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestGenerateToken(t *testing.T) {
	a, b := GenerateToken(), GenerateToken()
	for _, tok := range []string{a, b} {
		if len(tok) != 48 {
			t.Fatalf("GenerateToken() = %q (%d chars), want 48 hex chars", tok, len(tok))
		}
		if _, err := hex.DecodeString(tok); err != nil {
			t.Fatalf("GenerateToken() = %q is not hex: %v", tok, err)
		}
		if ValidateConfigured("token", tok) != nil {
			t.Fatalf("a generated token %q fails ValidateConfigured", tok)
		}
	}
	if a == b {
		t.Fatalf("two generated tokens are equal: %q", a)
	}
}

func TestValidateConfigured(t *testing.T) {
	tests := []struct {
		kind, v string
		wantErr string // substring; "" means valid
	}{
		{"token", "d1f0c3a7e9b24c6f8a0e", ""},
		{"password", "correct horse battery staple", ""},
		{"token", "", "gateway.auth.token is blank"},
		{"token", "   ", "gateway.auth.token is blank"},
		{"password", "\t\n", "gateway.auth.password is blank"},
		{"token", "changeme", `gateway.auth.token is the placeholder "changeme"`},
		// Placeholders are recognised whatever their case.
		{"token", "CHANGEME", `placeholder "CHANGEME"`},
		{"token", "your-token-here", "placeholder"},
		{"token", "<token>", "placeholder"},
		{"password", "password", `gateway.auth.password is the placeholder "password"`},
		{"password", "Secret", "placeholder"},
		// A placeholder wrapped in spaces is still reported as a placeholder,
		// the more useful of the two complaints.
		{"token", " changeme ", `placeholder "changeme"`},
		{"token", " real-token-value", "gateway.auth.token has leading or trailing spaces"},
		{"token", "real-token-value\n", "gateway.auth.token has leading or trailing spaces"},
		// Inner spaces are fine: passphrases have them.
		{"password", "a b c d e", ""},
	}
	for _, tt := range tests {
		err := ValidateConfigured(tt.kind, tt.v)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateConfigured(%q, %q) = %v, want nil", tt.kind, tt.v, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateConfigured(%q, %q) = %v, want error containing %q", tt.kind, tt.v, err, tt.wantErr)
		}
	}
}
