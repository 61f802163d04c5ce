package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// MaxSignatureSkew is how far signedAt may be from the server's clock.
const MaxSignatureSkew = 120 * time.Second

// DeviceProof is the connect frame's device block.
type DeviceProof struct {
	ID        string `json:"id"`
	PublicKey string `json:"publicKey"`
	Signature string `json:"signature"`
	SignedAt  int64  `json:"signedAt"`
	Nonce     string `json:"nonce"`
}

// SignedFields are the connect fields a device signature covers.
type SignedFields struct {
	DeviceID, ClientID, ClientMode, Role string
	Scopes                               []string
	SignedAtMs                           int64
	Token, Nonce                         string
	Platform, DeviceFamily               string
}

// PayloadV3 is the string a v3 device signature covers.
func PayloadV3(f SignedFields) string {
	return strings.Join([]string{"v3", f.DeviceID, f.ClientID, f.ClientMode, f.Role,
		strings.Join(f.Scopes, ","), strconv.FormatInt(f.SignedAtMs, 10), f.Token, f.Nonce,
		normalizeMeta(f.Platform), normalizeMeta(f.DeviceFamily)}, "|")
}

// PayloadV2 is the older payload: v3 without platform and device family.
func PayloadV2(f SignedFields) string {
	return strings.Join([]string{"v2", f.DeviceID, f.ClientID, f.ClientMode, f.Role,
		strings.Join(f.Scopes, ","), strconv.FormatInt(f.SignedAtMs, 10), f.Token, f.Nonce}, "|")
}

func normalizeMeta(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// DeviceFailure is a device-identity check that failed.
type DeviceFailure struct {
	Code    string // DEVICE_AUTH_*
	Message string
}

// DecodeKey decodes a raw 32-byte Ed25519 public key given in base64url
// (the reference's form) or standard base64.
func DecodeKey(s string) (ed25519.PublicKey, bool) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), true
		}
	}
	return nil, false
}

func decodeSig(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.SignatureSize {
			return b, true
		}
	}
	return nil, false
}

// DeviceID is the lowercase hex SHA-256 of a raw public key.
func DeviceID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:])
}

// VerifyDevice checks a device proof against the challenge nonce, in the
// order docs/PROTOCOL.md §3.4 gives. f carries the connect fields; its DeviceID,
// SignedAtMs and Nonce are taken from the proof.
func VerifyDevice(p DeviceProof, f SignedFields, challenge string, now time.Time) *DeviceFailure {
	pub, ok := DecodeKey(p.PublicKey)
	if !ok {
		return &DeviceFailure{"DEVICE_AUTH_PUBLIC_KEY_INVALID", "device public key invalid"}
	}
	if DeviceID(pub) != strings.ToLower(p.ID) {
		return &DeviceFailure{"DEVICE_AUTH_DEVICE_ID_MISMATCH", "device identity mismatch"}
	}
	skew := now.Sub(time.UnixMilli(p.SignedAt))
	if skew > MaxSignatureSkew || skew < -MaxSignatureSkew {
		return &DeviceFailure{"DEVICE_AUTH_SIGNATURE_EXPIRED", "device signature expired"}
	}
	if p.Nonce == "" {
		return &DeviceFailure{"DEVICE_AUTH_NONCE_REQUIRED", "device nonce required"}
	}
	if !Equal(p.Nonce, challenge) {
		return &DeviceFailure{"DEVICE_AUTH_NONCE_MISMATCH", "device nonce mismatch"}
	}
	sig, ok := decodeSig(p.Signature)
	if !ok {
		return &DeviceFailure{"DEVICE_AUTH_SIGNATURE_INVALID", "device signature invalid"}
	}
	f.DeviceID, f.SignedAtMs, f.Nonce = p.ID, p.SignedAt, p.Nonce
	if ed25519.Verify(pub, []byte(PayloadV3(f)), sig) || ed25519.Verify(pub, []byte(PayloadV2(f)), sig) {
		return nil
	}
	return &DeviceFailure{"DEVICE_AUTH_SIGNATURE_INVALID", "device signature invalid"}
}

// Identity is a device key pair, as a client holds it.
type Identity struct {
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// NewIdentity generates a fresh device identity.
func NewIdentity() Identity {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return Identity{ID: DeviceID(pub), Public: pub, Private: priv}
}

// Sign builds the device proof for a connect frame with the v3 payload.
func (id Identity) Sign(f SignedFields) DeviceProof {
	f.DeviceID = id.ID
	sig := ed25519.Sign(id.Private, []byte(PayloadV3(f)))
	return DeviceProof{ID: id.ID, PublicKey: base64.RawURLEncoding.EncodeToString(id.Public),
		Signature: base64.RawURLEncoding.EncodeToString(sig), SignedAt: f.SignedAtMs, Nonce: f.Nonce}
}

// SignV2 is Sign with the older payload, for tests of legacy clients.
func (id Identity) SignV2(f SignedFields) DeviceProof {
	f.DeviceID = id.ID
	sig := ed25519.Sign(id.Private, []byte(PayloadV2(f)))
	return DeviceProof{ID: id.ID, PublicKey: base64.RawURLEncoding.EncodeToString(id.Public),
		Signature: base64.RawURLEncoding.EncodeToString(sig), SignedAt: f.SignedAtMs, Nonce: f.Nonce}
}

// NewDeviceToken returns a 43-character base64url token (32 random bytes).
func NewDeviceToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// IdentityFromPrivate rebuilds an identity from a stored 64-byte private key.
func IdentityFromPrivate(priv ed25519.PrivateKey) Identity {
	pub := priv.Public().(ed25519.PublicKey)
	return Identity{ID: DeviceID(pub), Public: pub, Private: priv}
}
