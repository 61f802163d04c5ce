package channels

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/channels/telegram"
	"openclaw/transport/protocol"
)

// Methods are the channel RPCs: send (PROTOCOL.md §5.2) and the reference's
// channels.pairing.list / channels.pairing.approve.
func Methods() map[string]*core.Method {
	return map[string]*core.Method{
		"send": {Scope: core.ScopeWrite, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p core.SendParams
			if err := c.Request().Bind(&p); err != nil {
				c.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid send params: "+err.Error(), nil))
				return
			}
			c.Ask(c.Env().Channels, &core.ChannelSend{Params: p})
		}},
		"channels.pairing.list": {Scope: core.ScopePairing, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				Channel   string `json:"channel"`
				AccountID string `json:"accountId"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Channels, &PairingList{Channel: p.Channel, AccountID: p.AccountID})
		}},
		"channels.pairing.approve": {Scope: core.ScopePairing, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				Channel   string `json:"channel"`
				AccountID string `json:"accountId"`
				RequestID string `json:"requestId"`
				Code      string `json:"code"`
				Notify    bool   `json:"notify"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Channels, &PairingApprove{Channel: p.Channel, AccountID: p.AccountID, RequestID: p.RequestID,
				Code: p.Code, Notify: p.Notify})
		}},
	}
}

// PairingList is channels.pairing.list.
type PairingList struct {
	core.ReqID
	Channel, AccountID string
}

// PairingApprove is channels.pairing.approve.
type PairingApprove struct {
	core.ReqID
	Channel, AccountID, RequestID, Code string
	Notify                              bool
}

const askTimeout = 10 * time.Second

// targets are the accounts a pairing request is about.
func (s *supervisor) targets(channel, accountID string) ([]*actor.PID, *protocol.ErrorShape) {
	if ch := strings.ToLower(strings.TrimSpace(channel)); ch != "" && ch != "telegram" {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown pairing channel: "+channel, nil)
	}
	var out []*actor.PID
	for id, c := range s.accounts {
		if accountID == "" || strings.EqualFold(id, accountID) {
			out = append(out, c.pid)
		}
	}
	if accountID != "" && len(out) == 0 {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown telegram account: "+accountID, nil)
	}
	return out, nil
}

func (s *supervisor) pairingList(ctx actor.Context, m *PairingList) {
	pids, errShape := s.targets(m.Channel, m.AccountID)
	if errShape != nil {
		ctx.Respond(&core.Reply{ReqID: m.ID, Err: errShape})
		return
	}
	sender, sys := ctx.Sender(), ctx.ActorSystem()
	// The accounts answer off this actor: it never waits on a child.
	go func() {
		accounts, requests := []map[string]any{}, []map[string]any{}
		for _, pid := range pids {
			res, err := sys.Root.RequestFuture(pid, &telegram.PairingList{}, askTimeout).Result()
			r, ok := res.(*telegram.PairingRequests)
			if err != nil || !ok || !r.Uses {
				continue
			}
			accounts = append(accounts, map[string]any{"channel": "telegram", "channelLabel": "Telegram",
				"accountId": r.AccountID, "notifySupported": true})
			requests = append(requests, r.Requests...)
		}
		sys.Root.Send(sender, &core.Reply{ReqID: m.ID, Payload: map[string]any{
			"accounts": accounts, "requests": requests, "commandOwnerConfigured": false,
			"limits": map[string]any{"pendingPerAccount": telegram.PairingMaxPending, "ttlMs": telegram.PairingTTL.Milliseconds()},
		}})
	}()
}

func (s *supervisor) pairingApprove(ctx actor.Context, m *PairingApprove) {
	pids, errShape := s.targets(m.Channel, m.AccountID)
	if errShape != nil {
		ctx.Respond(&core.Reply{ReqID: m.ID, Err: errShape})
		return
	}
	sender, sys := ctx.Sender(), ctx.ActorSystem()
	go func() {
		for _, pid := range pids {
			res, err := sys.Root.RequestFuture(pid, &telegram.PairingApprove{Code: m.Code, RequestID: m.RequestID}, askTimeout).Result()
			r, ok := res.(*telegram.PairingApproved)
			if err != nil || !ok || !r.Found {
				continue
			}
			if r.Err != nil {
				sys.Root.Send(sender, &core.Reply{ReqID: m.ID, Err: protocol.NewError(protocol.CodeUnavailable,
					"approval not saved: "+r.Err.Error(), nil)})
				return
			}
			notification := "not-requested"
			if m.Notify {
				notification = "sent"
				res, err := sys.Root.RequestFuture(pid, &telegram.SendRequest{Params: core.SendParams{To: r.SenderID,
					Message: "OpenClaw: access approved. Send a message to start chatting.", IdempotencyKey: "pairing-approved:" + r.Request}},
					askTimeout).Result()
				if rep, _ := res.(*core.Reply); err != nil || rep == nil || rep.Err != nil {
					notification = "failed"
				}
			}
			sys.Root.Send(sender, &core.Reply{ReqID: m.ID, Payload: map[string]any{"requestId": r.Request, "senderId": r.SenderID,
				"notification": notification, "commandOwnerBootstrap": "not-requested"}})
			return
		}
		what := "code " + strings.ToUpper(m.Code)
		if m.Code == "" {
			what = "requestId " + m.RequestID
		}
		sys.Root.Send(sender, &core.Reply{ReqID: m.ID, Err: protocol.NewError(protocol.CodeInvalidRequest,
			"no pending pairing request for "+what+" (run openclaw pairing list telegram)", nil)})
	}()
}
