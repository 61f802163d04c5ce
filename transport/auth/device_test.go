package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A fixed seed makes the identity, and so every payload and signature below,
// the same on every run.
var testSeed = []byte("openclaw-go device test seed 32b")

func testIdentity(t testing.TB) Identity {
	t.Helper()
	if len(testSeed) != ed25519.SeedSize {
		t.Fatalf("seed is %d bytes, want %d", len(testSeed), ed25519.SeedSize)
	}
	return IdentityFromPrivate(ed25519.NewKeyFromSeed(testSeed))
}

const testNonce = "0b8e7c4e-2f43-4a8e-9d55-1c2b3a4d5e6f"

var testNow = time.UnixMilli(1795548781197)

// nodeFields are the connect fields of a headless node host, as in the
// reference's recorded node connect.
func nodeFields() SignedFields {
	return SignedFields{
		ClientID:     "node-host",
		ClientMode:   "node",
		Role:         "node",
		Scopes:       nil,
		SignedAtMs:   testNow.UnixMilli(),
		Token:        "secrettoken123",
		Nonce:        testNonce,
		Platform:     "linux",
		DeviceFamily: "Linux",
	}
}

func operatorFields() SignedFields {
	return SignedFields{
		ClientID:     "cli",
		ClientMode:   "cli",
		Role:         "operator",
		Scopes:       []string{"operator.read", "operator.write"},
		SignedAtMs:   testNow.UnixMilli(),
		Token:        "secrettoken123",
		Nonce:        testNonce,
		Platform:     "darwin",
		DeviceFamily: "Mac",
	}
}

func TestPayloadV3(t *testing.T) {
	f := SignedFields{
		DeviceID: "abc", ClientID: "cli", ClientMode: "cli", Role: "operator",
		Scopes: []string{"operator.read", "operator.admin"}, SignedAtMs: 1700000000123,
		Token: "tok", Nonce: "n-1",
		// The reference normalizes these two before signing, so a client
		// reporting "  Linux " and one reporting "linux" sign the same text.
		Platform: "  Linux ", DeviceFamily: "\tMacBookPro\n",
	}
	want := "v3|abc|cli|cli|operator|operator.read,operator.admin|1700000000123|tok|n-1|linux|macbookpro"
	if got := PayloadV3(f); got != want {
		t.Fatalf("PayloadV3 =\n %q\nwant\n %q", got, want)
	}
	// v2 predates platform and device family, and leaves the rest as is.
	want2 := "v2|abc|cli|cli|operator|operator.read,operator.admin|1700000000123|tok|n-1"
	if got := PayloadV2(f); got != want2 {
		t.Fatalf("PayloadV2 =\n %q\nwant\n %q", got, want2)
	}
}

func TestPayloadEmptyFields(t *testing.T) {
	// No scopes, no token: the separators stay, so field positions never
	// shift and two different field sets cannot produce the same text.
	f := SignedFields{DeviceID: "d", ClientID: "node-host", ClientMode: "node", Role: "node", SignedAtMs: 5, Nonce: "n"}
	if got, want := PayloadV3(f), "v3|d|node-host|node|node||5||n||"; got != want {
		t.Fatalf("PayloadV3 = %q, want %q", got, want)
	}
	if got, want := PayloadV2(f), "v2|d|node-host|node|node||5||n"; got != want {
		t.Fatalf("PayloadV2 = %q, want %q", got, want)
	}
}

func TestDeviceID(t *testing.T) {
	id := testIdentity(t)
	sum := sha256.Sum256(id.Public)
	want := hex.EncodeToString(sum[:])
	if id.ID != want || DeviceID(id.Public) != want {
		t.Fatalf("ID = %q, DeviceID = %q, want %q", id.ID, DeviceID(id.Public), want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id.ID) {
		t.Fatalf("ID %q is not 64 lowercase hex chars", id.ID)
	}
}

func TestVerifyDevice(t *testing.T) {
	id := testIdentity(t)
	other := IdentityFromPrivate(ed25519.NewKeyFromSeed([]byte("another device test seed 32 byte")))

	// Each case signs nodeFields() (as changed by signWith) with sign, then
	// mutate may tamper with the proof or with the fields the server sees
	// before VerifyDevice runs.
	tests := []struct {
		name     string
		sign     func(Identity, SignedFields) DeviceProof
		signWith func(*SignedFields) // changes what the client signs
		mutate   func(*DeviceProof, *SignedFields)
		now      time.Time
		wantCode string // "" means verified
	}{
		{name: "good v3", sign: Identity.Sign},
		{name: "good v2", sign: Identity.SignV2},
		{
			name:     "good v3 operator with scopes",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { *f = operatorFields() },
		},
		{
			// The server normalizes what it sees the same way the client
			// did, so differences in case and spacing do not matter.
			name:     "v3 platform case and spaces",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { f.Platform, f.DeviceFamily = "LINUX", "linux" },
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.Platform, f.DeviceFamily = " linux ", "Linux" },
		},
		{
			// v2 does not cover platform, so a changed platform still
			// verifies (via the v2 fallback).
			name:   "v2 ignores platform",
			sign:   Identity.SignV2,
			mutate: func(_ *DeviceProof, f *SignedFields) { f.Platform = "windows" },
		},
		{
			name: "signedAt 119s old",
			sign: Identity.Sign,
			now:  testNow.Add(119 * time.Second),
		},
		{
			name: "signedAt exactly 120s old",
			sign: Identity.Sign,
			now:  testNow.Add(MaxSignatureSkew),
		},
		{
			name:     "signedAt 121s old",
			sign:     Identity.Sign,
			now:      testNow.Add(121 * time.Second),
			wantCode: "DEVICE_AUTH_SIGNATURE_EXPIRED",
		},
		{
			// A client clock ahead of ours is as suspect as one behind.
			name:     "signedAt 121s in the future",
			sign:     Identity.Sign,
			now:      testNow.Add(-121 * time.Second),
			wantCode: "DEVICE_AUTH_SIGNATURE_EXPIRED",
		},
		{
			name: "signedAt 119s in the future",
			sign: Identity.Sign,
			now:  testNow.Add(-119 * time.Second),
		},
		{
			name:     "wrong nonce",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { f.Nonce = "an-older-challenge" },
			wantCode: "DEVICE_AUTH_NONCE_MISMATCH",
		},
		{
			name:     "empty nonce",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { f.Nonce = "" },
			wantCode: "DEVICE_AUTH_NONCE_REQUIRED",
		},
		{
			name:     "id of another key",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.ID = other.ID },
			wantCode: "DEVICE_AUTH_DEVICE_ID_MISMATCH",
		},
		{
			name:     "id not hex of anything",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.ID = "my-laptop" },
			wantCode: "DEVICE_AUTH_DEVICE_ID_MISMATCH",
		},
		{
			// Someone else's key with our id: the id check catches it
			// before any signature is looked at.
			name: "key of another device",
			sign: Identity.Sign,
			mutate: func(p *DeviceProof, _ *SignedFields) {
				p.PublicKey = base64.RawURLEncoding.EncodeToString(other.Public)
			},
			wantCode: "DEVICE_AUTH_DEVICE_ID_MISMATCH",
		},
		{
			name:     "key not base64",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.PublicKey = "not a key!" },
			wantCode: "DEVICE_AUTH_PUBLIC_KEY_INVALID",
		},
		{
			name: "key wrong length",
			sign: Identity.Sign,
			mutate: func(p *DeviceProof, _ *SignedFields) {
				p.PublicKey = base64.RawURLEncoding.EncodeToString(id.Public[:31])
			},
			wantCode: "DEVICE_AUTH_PUBLIC_KEY_INVALID",
		},
		{
			name:     "key empty",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.PublicKey = "" },
			wantCode: "DEVICE_AUTH_PUBLIC_KEY_INVALID",
		},
		{
			name: "signature of another key",
			sign: Identity.Sign,
			mutate: func(p *DeviceProof, f *SignedFields) {
				f2 := *f
				f2.DeviceID = id.ID
				sig := ed25519.Sign(other.Private, []byte(PayloadV3(f2)))
				p.Signature = base64.RawURLEncoding.EncodeToString(sig)
			},
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name: "signature with a flipped bit",
			sign: Identity.Sign,
			mutate: func(p *DeviceProof, _ *SignedFields) {
				sig, _ := base64.RawURLEncoding.DecodeString(p.Signature)
				sig[10] ^= 1
				p.Signature = base64.RawURLEncoding.EncodeToString(sig)
			},
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signature not base64",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.Signature = "%%%" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signature empty",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.Signature = "" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			// The signature must bind the scopes: a proof made for read
			// must not carry a request for admin.
			name:     "signed other scopes",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { *f = operatorFields() },
			mutate: func(_ *DeviceProof, f *SignedFields) {
				f.Scopes = []string{"operator.read", "operator.write", "operator.admin"}
			},
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signed scopes in another order",
			sign:     Identity.Sign,
			signWith: func(f *SignedFields) { *f = operatorFields() },
			mutate: func(_ *DeviceProof, f *SignedFields) {
				f.Scopes = []string{"operator.write", "operator.read"}
			},
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signed other role",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.Role = "operator" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signed other token",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.Token = "another-token" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "v2 signed other token",
			sign:     Identity.SignV2,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.Token = "" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signed other client id",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.ClientID = "openclaw-macos" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "signed other client mode",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.ClientMode = "backend" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			// v3 covers the platform, so claiming another one breaks it
			// (and v2 does not match a v3 signature either).
			name:     "v3 signed other platform",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.Platform = "windows" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			name:     "v3 signed other device family",
			sign:     Identity.Sign,
			mutate:   func(_ *DeviceProof, f *SignedFields) { f.DeviceFamily = "iPhone" },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
		{
			// signedAt is covered by the signature: moving it to dodge the
			// expiry check breaks the proof.
			name:     "signedAt changed after signing",
			sign:     Identity.Sign,
			mutate:   func(p *DeviceProof, _ *SignedFields) { p.SignedAt += 1 },
			wantCode: "DEVICE_AUTH_SIGNATURE_INVALID",
		},
	}
	messages := map[string]string{
		"DEVICE_AUTH_SIGNATURE_EXPIRED":  "device signature expired",
		"DEVICE_AUTH_NONCE_REQUIRED":     "device nonce required",
		"DEVICE_AUTH_NONCE_MISMATCH":     "device nonce mismatch",
		"DEVICE_AUTH_DEVICE_ID_MISMATCH": "device identity mismatch",
		"DEVICE_AUTH_PUBLIC_KEY_INVALID": "device public key invalid",
		"DEVICE_AUTH_SIGNATURE_INVALID":  "device signature invalid",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := nodeFields()
			if tt.signWith != nil {
				tt.signWith(&signed)
			}
			proof := tt.sign(id, signed)
			// What the server sees: the client's fields, minus the ones
			// VerifyDevice takes from the proof itself.
			seen := signed
			seen.DeviceID, seen.SignedAtMs, seen.Nonce = "", 0, ""
			if tt.mutate != nil {
				tt.mutate(&proof, &seen)
			}
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			got := VerifyDevice(proof, seen, testNonce, now)
			if tt.wantCode == "" {
				if got != nil {
					t.Fatalf("VerifyDevice = %+v, want success", *got)
				}
				return
			}
			if got == nil {
				t.Fatalf("VerifyDevice succeeded, want %s", tt.wantCode)
			}
			if got.Code != tt.wantCode || got.Message != messages[tt.wantCode] {
				t.Fatalf("VerifyDevice = {%s %q}, want {%s %q}", got.Code, got.Message, tt.wantCode, messages[tt.wantCode])
			}
		})
	}
}

// The reference sends keys in base64url; other clients use standard base64,
// padded or not. A key whose bytes produce '+' and '/' (or '-' and '_') tells
// the encodings apart, so pick such a key.
func TestVerifyDeviceKeyEncodings(t *testing.T) {
	var id Identity
	for i := range 256 {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i)
		id = IdentityFromPrivate(ed25519.NewKeyFromSeed(seed))
		s := base64.StdEncoding.EncodeToString(id.Public)
		if strings.ContainsAny(s, "+/") {
			break
		}
	}
	if !strings.ContainsAny(base64.StdEncoding.EncodeToString(id.Public), "+/") {
		t.Fatal("no test key with '+' or '/' in its base64 form")
	}
	encodings := map[string]*base64.Encoding{
		"base64url raw":    base64.RawURLEncoding,
		"base64url padded": base64.URLEncoding,
		"base64 std":       base64.StdEncoding,
		"base64 std raw":   base64.RawStdEncoding,
	}
	for name, enc := range encodings {
		t.Run(name, func(t *testing.T) {
			f := nodeFields()
			proof := id.Sign(f)
			proof.PublicKey = enc.EncodeToString(id.Public)
			sig, _ := base64.RawURLEncoding.DecodeString(proof.Signature)
			proof.Signature = enc.EncodeToString(sig)
			if got := VerifyDevice(proof, f, testNonce, testNow); got != nil {
				t.Fatalf("key %q: VerifyDevice = %+v, want success", proof.PublicKey, *got)
			}
			pub, ok := DecodeKey(proof.PublicKey)
			if !ok || !pub.Equal(id.Public) {
				t.Fatalf("DecodeKey(%q) = %x, %v; want %x", proof.PublicKey, pub, ok, id.Public)
			}
		})
	}
}

// The device id is compared case-insensitively: it is hex, and a client that
// uppercases it still names the same key.
func TestVerifyDeviceUppercaseID(t *testing.T) {
	id := testIdentity(t)
	upper := id
	upper.ID = strings.ToUpper(id.ID)
	f := nodeFields()
	if got := VerifyDevice(upper.Sign(f), f, testNonce, testNow); got != nil {
		t.Fatalf("VerifyDevice with an uppercase id = %+v, want success", *got)
	}
}

func TestIdentityFromPrivateRoundTrip(t *testing.T) {
	orig := NewIdentity()
	if len(orig.Private) != ed25519.PrivateKeySize || len(orig.Public) != ed25519.PublicKeySize {
		t.Fatalf("key sizes %d/%d", len(orig.Private), len(orig.Public))
	}
	// What a client stores is the 64-byte private key; rebuilding from it
	// must give the same id and public key, and signatures made by the
	// rebuilt identity must verify against the original's proof fields.
	stored := append([]byte(nil), orig.Private...)
	back := IdentityFromPrivate(ed25519.PrivateKey(stored))
	if back.ID != orig.ID || !back.Public.Equal(orig.Public) || !back.Private.Equal(orig.Private) {
		t.Fatalf("round trip changed the identity: %+v vs %+v", back.ID, orig.ID)
	}
	f := nodeFields()
	p := back.Sign(f)
	if p.ID != orig.ID || p.PublicKey != base64.RawURLEncoding.EncodeToString(orig.Public) {
		t.Fatalf("proof from the rebuilt identity names %q / %q", p.ID, p.PublicKey)
	}
	if got := VerifyDevice(p, f, testNonce, testNow); got != nil {
		t.Fatalf("VerifyDevice of the rebuilt identity's proof = %+v", *got)
	}
	if NewIdentity().ID == orig.ID {
		t.Fatal("two NewIdentity calls returned the same id")
	}
}

func TestSignCarriesProofFields(t *testing.T) {
	id := testIdentity(t)
	f := nodeFields()
	for name, sign := range map[string]func(Identity, SignedFields) DeviceProof{"v3": Identity.Sign, "v2": Identity.SignV2} {
		p := sign(id, f)
		if p.ID != id.ID || p.SignedAt != f.SignedAtMs || p.Nonce != f.Nonce {
			t.Errorf("%s proof = %+v, want id %s signedAt %d nonce %s", name, p, id.ID, f.SignedAtMs, f.Nonce)
		}
		// base64url without padding, the reference's form.
		if strings.ContainsAny(p.PublicKey+p.Signature, "+/=") {
			t.Errorf("%s proof is not raw base64url: key %q sig %q", name, p.PublicKey, p.Signature)
		}
		sig, err := base64.RawURLEncoding.DecodeString(p.Signature)
		if err != nil || len(sig) != ed25519.SignatureSize {
			t.Errorf("%s signature %q: %d bytes, %v", name, p.Signature, len(sig), err)
		}
	}
}

func TestNewDeviceToken(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	seen := make(map[string]bool)
	for range 32 {
		tok := NewDeviceToken()
		if !re.MatchString(tok) {
			t.Fatalf("NewDeviceToken() = %q, want 43 base64url chars", tok)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 {
			t.Fatalf("NewDeviceToken() = %q decodes to %d bytes, %v; want 32", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatalf("NewDeviceToken returned %q twice", tok)
		}
		seen[tok] = true
	}
}
