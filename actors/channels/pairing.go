package channels

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// askTimeout bounds a question to one account.
const askTimeout = 10 * time.Second

// approvedNotice is what an approved sender is told when the operator asks
// for a notification.
const approvedNotice = "OpenClaw: access approved. Send a message to start chatting."

// targets are the accounts a pairing request is about.
func (s *supervisor) targets(channel, accountID string) ([]*account, *protocol.ErrorShape) {
	var drv Driver
	if strings.TrimSpace(channel) != "" {
		d, errShape := s.driver(channel)
		if errShape != nil {
			return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown pairing channel: "+channel, nil)
		}
		drv = d
	}
	var out []*account
	for _, a := range s.accounts {
		if drv != nil && a.driver.ID() != drv.ID() {
			continue
		}
		if accountID == "" || strings.EqualFold(a.id, accountID) {
			out = append(out, a)
		}
	}
	if accountID != "" && len(out) == 0 {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown account: "+accountID, nil)
	}
	return out, nil
}

func (s *supervisor) pairingList(ctx actor.Context, m *methods.PairingList) {
	accounts, errShape := s.targets(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	root := ctx.ActorSystem().Root
	// The accounts answer off this actor: it never waits on a child.
	go func() {
		out := protocol.PairingList{Accounts: []protocol.PairingAccount{}, Requests: []protocol.PairingRequest{}}
		for _, a := range accounts {
			res, err := root.RequestFuture(a.pid, &PairingList{}, askTimeout).Result()
			r, ok := res.(*PairingRequests)
			if err != nil || !ok || !r.Uses {
				continue
			}
			out.Accounts = append(out.Accounts, protocol.PairingAccount{Channel: a.driver.ID(), ChannelLabel: a.driver.Label(),
				AccountID: a.id, NotifySupported: true})
			out.Requests = append(out.Requests, r.Requests...)
			out.Limits = r.Limits
		}
		m.Reply(out)
	}()
}

func (s *supervisor) pairingApprove(ctx actor.Context, m *methods.PairingApprove) {
	accounts, errShape := s.targets(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	root := ctx.ActorSystem().Root
	p := m.Params
	go func() {
		for _, a := range accounts {
			res, err := root.RequestFuture(a.pid, &PairingApprove{Code: p.Code, RequestID: p.RequestID}, askTimeout).Result()
			r, ok := res.(*PairingApproved)
			if err != nil || !ok || !r.Found {
				continue
			}
			if r.Err != nil {
				m.Fail(protocol.NewError(protocol.CodeUnavailable, "approval not saved: "+r.Err.Error(), nil))
				return
			}
			notification := "not-requested"
			if p.Notify {
				notification = "sent"
				if _, errShape := ask(root, a.pid, protocol.SendParams{To: r.SenderID, Message: approvedNotice,
					IdempotencyKey: "pairing-approved:" + r.Request}); errShape != nil {
					notification = "failed"
				}
			}
			m.Reply(protocol.PairingApproved{RequestID: r.Request, SenderID: r.SenderID, Notification: notification,
				CommandOwnerBootstrap: "not-requested"})
			return
		}
		what := "code " + strings.ToUpper(p.Code)
		if p.Code == "" {
			what = "requestId " + p.RequestID
		}
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest,
			"no pending pairing request for "+what+" (run openclaw pairing list "+p.Channel+")", nil))
	}()
}
