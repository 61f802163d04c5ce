package telegram

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Pairing limits, as the reference gateway has them.
const (
	PairingTTL        = time.Hour
	PairingMaxPending = 3
	pairingCodeLen    = 8
	// pairingAlphabet leaves out 0 O 1 I, which people misread.
	pairingAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	pairingNS       = "telegram.pairing"
)

// pairingState is one account's DM pairing state, kept in the state
// database: pending requests and the senders approved for good.
type pairingState struct {
	Requests []pairRequest `json:"requests"`
	Allow    []string      `json:"allowFrom"`
}

// pairRequest is an unknown sender waiting for approval.
type pairRequest struct {
	SenderID   string            `json:"senderId"`
	Code       string            `json:"code"`
	CreatedAt  time.Time         `json:"createdAt"`
	LastSeenAt time.Time         `json:"lastSeenAt"`
	Meta       map[string]string `json:"meta,omitempty"`
}

// prune drops expired requests; it reports whether anything changed.
func (p *pairingState) prune(now time.Time) bool {
	n := len(p.Requests)
	p.Requests = slices.DeleteFunc(p.Requests, func(r pairRequest) bool { return now.Sub(r.CreatedAt) > PairingTTL })
	return len(p.Requests) != n
}

func (p *pairingState) allowed(sender string) bool { return slices.Contains(p.Allow, sender) }

// request returns the pairing code of sender, creating a request when there
// is none. code is "" when the account already has PairingMaxPending others
// waiting (the sender gets no code; the reference behaves the same).
// changed reports whether the state must be saved.
func (p *pairingState) request(sender string, meta map[string]string, now time.Time) (code string, changed bool) {
	changed = p.prune(now)
	for i := range p.Requests {
		if p.Requests[i].SenderID == sender {
			p.Requests[i].LastSeenAt = now
			p.Requests[i].Meta = meta
			return p.Requests[i].Code, true
		}
	}
	if len(p.Requests) >= PairingMaxPending {
		return "", changed
	}
	code = newPairingCode(func(c string) bool {
		return slices.ContainsFunc(p.Requests, func(r pairRequest) bool { return r.Code == c })
	})
	p.Requests = append(p.Requests, pairRequest{SenderID: sender, Code: code, CreatedAt: now, LastSeenAt: now, Meta: meta})
	return code, true
}

// approve moves the request matching code (or the reference's requestId) to
// the allow list.
func (p *pairingState) approve(accountID, code, requestID string, now time.Time) (pairRequest, bool) {
	p.prune(now)
	code = strings.ToUpper(strings.TrimSpace(code))
	for i, r := range p.Requests {
		if (code != "" && r.Code == code) || (requestID != "" && pairingRequestID(accountID, r) == requestID) {
			p.Requests = slices.Delete(p.Requests, i, i+1)
			if !p.allowed(r.SenderID) {
				p.Allow = append(p.Allow, r.SenderID)
			}
			return r, true
		}
	}
	return pairRequest{}, false
}

// dismiss drops the request with the reference's requestId without
// allowing its sender.
func (p *pairingState) dismiss(accountID, requestID string, now time.Time) (pairRequest, bool) {
	p.prune(now)
	for i, r := range p.Requests {
		if pairingRequestID(accountID, r) == requestID {
			p.Requests = slices.Delete(p.Requests, i, i+1)
			return r, true
		}
	}
	return pairRequest{}, false
}

// pairingRequestID is the reference's stable id for a request (what its
// Control UI approves by).
func pairingRequestID(accountID string, r pairRequest) string {
	sum := sha256.Sum256([]byte("telegram\x00" + accountID + "\x00" + r.SenderID + "\x00" + r.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:32]
}

func newPairingCode(taken func(string) bool) string {
	max := big.NewInt(int64(len(pairingAlphabet)))
	for {
		var b strings.Builder
		for range pairingCodeLen {
			n, err := rand.Int(rand.Reader, max)
			if err != nil {
				panic("telegram: no randomness for a pairing code: " + err.Error())
			}
			b.WriteByte(pairingAlphabet[n.Int64()])
		}
		if c := b.String(); !taken(c) {
			return c
		}
	}
}

// pairingReply is what an unknown sender is told (the reference's wording).
func pairingReply(senderID, code string) string {
	return strings.Join([]string{
		"OpenClaw: access not configured.",
		"",
		"Your Telegram user id: " + senderID,
		"Pairing code:",
		"```",
		code,
		"```",
		"",
		"Ask the bot owner to approve with:",
		"```",
		"openclaw pairing approve telegram " + code,
		"```",
	}, "\n")
}
