package channels

import (
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// running is route for what needs the account's actor: a stopped account
// cannot send.
func (s *supervisor) running(channel, id string) (*account, *protocol.ErrorShape) {
	a, errShape := s.route(channel, id)
	if errShape != nil {
		return nil, errShape
	}
	if a.pid == nil {
		return nil, protocol.NewError(protocol.CodeUnavailable, a.driver.ID()+" account "+a.id+
			" is stopped (channels.start starts it)", map[string]any{"code": "CHANNEL_STOPPED"})
	}
	return a, nil
}

// status is channels.status: the report in the reference's shape, with an
// issue for every account that reports an error.
func (s *supervisor) status(m *methods.ChannelsStatus) {
	r := s.report()
	res := protocol.ChannelsStatus{TS: time.Now().UnixMilli(), ChannelOrder: []string{}, ChannelLabels: map[string]string{},
		ChannelDetailLabels: map[string]string{}, ChannelMeta: []protocol.ChannelMeta{}, Channels: map[string]protocol.ChannelSummary{},
		ChannelAccounts: map[string][]protocol.AccountStatus{}, ChannelDefaultAccountID: map[string]string{},
		StatusIssues: []protocol.ChannelStatusIssue{}}
	for _, id := range r.Order {
		if m.Params.Channel != "" && !strings.EqualFold(m.Params.Channel, id) {
			continue
		}
		ch, label := r.Channels[id], r.Labels[id]
		res.ChannelOrder = append(res.ChannelOrder, id)
		res.ChannelLabels[id], res.ChannelDetailLabels[id] = label, label
		res.ChannelMeta = append(res.ChannelMeta, protocol.ChannelMeta{ID: id, Label: label, DetailLabel: label})
		res.Channels[id] = protocol.ChannelSummary{Configured: ch.Configured, Linked: ch.Linked, Running: ch.Running,
			Mode: ch.Mode, Bot: ch.Bot, LastError: ch.LastError}
		def := ch.AccountOrder[0]
		accounts := []protocol.AccountStatus{}
		for _, acc := range ch.AccountOrder {
			st := ch.Accounts[acc]
			accounts = append(accounts, st)
			if acc == config.DefaultAccountID {
				def = acc
			}
			switch {
			case st.Owner != nil && st.Owner.State == "lost":
				res.StatusIssues = append(res.StatusIssues, protocol.ChannelStatusIssue{Channel: id, AccountID: acc, Kind: "runtime",
					Message: "this gateway lost the account's lease: " + st.Owner.Error})
			case st.Owner != nil && !st.Owner.Self && !s.stopped[key(id, acc)]:
				// A standby: the account runs on st.Owner.Gateway.
			case s.stopped[key(id, acc)]:
				res.StatusIssues = append(res.StatusIssues, protocol.ChannelStatusIssue{Channel: id, AccountID: acc, Kind: "runtime",
					Message: "stopped by channels.stop", Fix: "openclaw channels start --channel " + id + " --account " + acc})
			case !st.Configured:
				res.StatusIssues = append(res.StatusIssues, protocol.ChannelStatusIssue{Channel: id, AccountID: acc, Kind: "config",
					Message: "not configured: no credentials"})
			case st.LastError != "":
				kind := "runtime"
				if !st.Linked {
					kind = "auth"
				}
				res.StatusIssues = append(res.StatusIssues, protocol.ChannelStatusIssue{Channel: id, AccountID: acc, Kind: kind,
					Message: st.LastError})
			}
		}
		res.ChannelAccounts[id], res.ChannelDefaultAccountID[id] = accounts, def
	}
	m.Reply(res)
}

// start is channels.start: an account channels.stop stopped runs again.
func (s *supervisor) start(ctx actor.Context, m *methods.ChannelsStart) {
	a, errShape := s.route(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	res := protocol.ChannelStarted{Channel: a.driver.ID(), AccountID: a.id, Started: true,
		Outcome: protocol.StartOutcome{Status: "retry", Reason: "task-owned"}}
	k := key(a.driver.ID(), a.id)
	if a.pid == nil {
		delete(s.stopped, k)
		s.spawn(ctx, k, a)
		res.Outcome = protocol.StartOutcome{Status: "handed-off"}
		s.d.Log.Info("channel account started by channels.start", "channel", a.driver.ID(), "account", a.id)
		ctx.Send(s.d.Health, &core.HealthChanged{})
	}
	m.Reply(res)
}

// stop is channels.stop: the account's actor stops (its link closes) and
// stays stopped.
func (s *supervisor) stop(ctx actor.Context, m *methods.ChannelsStop) {
	a, errShape := s.route(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	k := key(a.driver.ID(), a.id)
	s.stopped[k] = true
	if a.pid != nil || a.own.cancel != nil {
		s.halt(ctx, a)
		s.d.Log.Info("channel account stopped by channels.stop", "channel", a.driver.ID(), "account", a.id)
		ctx.Send(s.d.Health, &core.HealthChanged{})
	}
	m.Reply(protocol.ChannelStopped{Channel: a.driver.ID(), AccountID: a.id, Stopped: true})
}

// pairingDismiss is channels.pairing.dismiss: a pending request is dropped
// and its sender stays unknown.
func (s *supervisor) pairingDismiss(ctx actor.Context, m *methods.PairingDismiss) {
	accounts, errShape := s.targets(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	root, p := ctx.ActorSystem().Root, m.Params
	go func() {
		for _, a := range accounts {
			if a.pid == nil {
				continue
			}
			res, err := root.RequestFuture(a.pid, &PairingDismiss{RequestID: p.RequestID}, askTimeout).Result()
			r, ok := res.(*PairingApproved)
			if err != nil || !ok || !r.Found {
				continue
			}
			if r.Err != nil {
				m.Fail(protocol.NewError(protocol.CodeUnavailable, "dismissal not saved: "+r.Err.Error(), nil))
				return
			}
			m.Reply(protocol.PairingDismissed{RequestID: r.Request, SenderID: r.SenderID})
			return
		}
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "no pending pairing request "+p.RequestID, nil))
	}()
}

// messageAction is message.action: the send action goes to the account as
// a send (deduplicated by the idempotency key); a channel serves no other
// action here.
func (s *supervisor) messageAction(ctx actor.Context, m *methods.MessageAction) {
	p := m.Params
	if p.Action != "send" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "Channel "+p.Channel+" does not support action "+p.Action+".", nil))
		return
	}
	to := str(p.Params, "target")
	if to == "" {
		to = str(p.Params, "to")
		if c, rest, ok := strings.Cut(to, ":"); ok && strings.EqualFold(c, p.Channel) {
			to = rest
		}
	}
	text := str(p.Params, "message")
	if to == "" || strings.TrimSpace(text) == "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "message.action send needs params.target and params.message", nil))
		return
	}
	account := p.AccountID
	if account == "" {
		account = str(p.Params, "accountId")
	}
	a, errShape := s.running(p.Channel, account)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	sp := protocol.SendParams{To: to, Message: text, Channel: a.driver.ID(), AccountID: a.id, IdempotencyKey: p.IdempotencyKey}
	sp.Silent, _ = p.Params["silent"].(bool)
	root := ctx.ActorSystem().Root
	go func() {
		res, errShape := ask(root, a.pid, sp)
		if errShape != nil {
			m.Fail(errShape)
			return
		}
		m.Reply(protocol.MessageActionResult{OK: true, Action: "send", Channel: res.Channel, To: to, MessageID: res.MessageID,
			ChatID: res.ChatID, RunID: res.RunID})
	}()
}

// str reads a string param (a number, as a chat id may be sent, too).
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}
