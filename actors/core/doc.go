// Package core holds what the gateway's actors share: the messages they send
// each other, the immutable environment they are built with, and the few
// published snapshots (presence roster, health summary) that a handshake reads
// without a round trip. Actor packages import core, never each other.
package core
