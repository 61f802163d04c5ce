// Package auth holds the handshake's security checks that need no actor state:
// the shared secret (token or password) compared in constant time, the per-IP
// failure limiter, and Ed25519 device identities (docs/PROTOCOL.md §3.3, §3.4).
// The client side uses the same payload builder to sign, so both ends agree
// byte for byte.
package auth
