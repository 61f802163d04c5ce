package channels

import (
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/channels/telegram"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Options configure the channels (tests shorten Telegram's timings).
type Options struct {
	Telegram telegram.Options
}

// child is one running channel account.
type child struct {
	pid *actor.PID
	cfg config.TelegramAccount
}

// supervisor is the channels actor: the parent of every channel account
// actor. It starts them from the config, restarts only the accounts whose
// settings a hot reload changed, routes sends and pairing requests to them,
// and publishes their status for health.
type supervisor struct {
	env      *core.Env
	opts     Options
	accounts map[string]*child // telegram account id -> actor
	byPID    map[string]string // actor id -> account id
	status   map[string]telegram.Status
}

// Props builds the channels actor. A failing account is restarted with
// backoff (1 s doubling to 1 min); the others and the gateway carry on.
func Props(env *core.Env, opts Options) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisor{env: env, opts: opts}
	}, actor.WithSupervisor(newBackoff(env, time.Second, time.Minute)))
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.accounts, s.byPID, s.status = map[string]*child{}, map[string]string{}, map[string]telegram.Status{}
		s.apply(ctx, s.env.Config())
	case *core.ConfigChanged:
		s.apply(ctx, m.Next)
	case *telegram.AccountStatus:
		if id, ok := s.byPID[m.PID.String()]; ok && id == m.Status.AccountID {
			s.status[id] = m.Status
			s.publish()
		}
	case *actor.Terminated:
		delete(s.byPID, m.Who.String())
	case *core.ChannelSend:
		s.route(ctx, m)
	case *PairingList:
		s.pairingList(ctx, m)
	case *PairingApprove:
		s.pairingApprove(ctx, m)
	}
}

// Accounts lists the Telegram accounts a config runs, with their effective
// settings: the top level is the account "default" when it has a token
// source or no other account is declared.
func Accounts(c *config.Config) map[string]config.TelegramAccount {
	t := c.Channels.Telegram
	if t == nil {
		return nil
	}
	out := map[string]config.TelegramAccount{}
	top := t.TelegramAccount
	if len(t.Accounts) == 0 || top.BotToken != "" || top.TokenFile != "" {
		a, _ := t.Account(config.DefaultAccountID)
		out[config.DefaultAccountID] = a
	}
	for id := range t.Accounts {
		a, _ := t.Account(id)
		out[id] = a
	}
	return out
}

// apply makes the running accounts match c: new ones start, removed ones
// stop, changed ones restart; the rest are left alone (no dropped link).
func (s *supervisor) apply(ctx actor.Context, c *config.Config) {
	want := Accounts(c)
	for id, ch := range s.accounts {
		if cfg, ok := want[id]; !ok || !reflect.DeepEqual(cfg, ch.cfg) {
			s.env.Log.Info("telegram account stopping (config changed)", "account", id)
			ctx.Stop(ch.pid)
			delete(s.accounts, id)
			delete(s.status, id)
		}
	}
	for id, cfg := range want {
		if _, running := s.accounts[id]; running {
			continue
		}
		pid := ctx.SpawnPrefix(telegram.Props(s.env, id, cfg, s.opts.Telegram), "telegram:"+id)
		s.accounts[id] = &child{pid: pid, cfg: cfg}
		s.byPID[pid.String()] = id
		s.status[id] = telegram.Status{AccountID: id, Enabled: cfg.IsEnabled(), Mode: "polling"}
	}
	s.publish()
}

// publish stores the channels' part of the health summary and tells the
// health actor, which broadcasts it when it changed.
func (s *supervisor) publish() {
	snap := map[string]any{"channels": map[string]any{}, "channelOrder": []string{}, "channelLabels": map[string]any{}}
	if len(s.accounts) > 0 {
		ids := make([]string, 0, len(s.status))
		for id := range s.status {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		accounts := map[string]any{}
		// The channel's own line is its default account's (or the first).
		var head *telegram.Status
		for _, id := range ids {
			st := s.status[id]
			accounts[id] = st
			if head == nil || id == config.DefaultAccountID {
				h := st
				head = &h
			}
		}
		linked, running, configured := false, false, false
		for _, st := range s.status {
			linked = linked || st.Linked
			running = running || st.Running
			configured = configured || st.Configured
		}
		tg := map[string]any{"configured": configured, "linked": linked, "running": running, "mode": head.Mode,
			"accounts": accounts, "accountOrder": ids}
		if head.Bot != nil {
			tg["bot"] = head.Bot
		}
		if head.LastError != "" {
			tg["lastError"] = head.LastError
		}
		snap["channels"] = map[string]any{"telegram": tg}
		snap["channelOrder"] = []string{"telegram"}
		snap["channelLabels"] = map[string]any{"telegram": "Telegram"}
		if linked {
			snap["linkChannel"] = map[string]any{"id": "telegram", "label": "Telegram", "linked": true}
		}
	}
	s.env.ChannelsSnap.Store(&snap)
	if s.env.Health != nil {
		s.env.System.Root.Send(s.env.Health, &core.HealthChanged{})
	}
}

// account finds the account a request names ("" = the default, or the only
// one).
func (s *supervisor) account(channel, id string) (*child, *protocol.ErrorShape) {
	ch := strings.ToLower(strings.TrimSpace(channel))
	if ch != "" && ch != "telegram" {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown channel: "+channel+" (this gateway serves telegram)", nil)
	}
	if len(s.accounts) == 0 {
		return nil, protocol.NewError(protocol.CodeInvalidRequest,
			"no channel configured: set channels.telegram.botToken in the config", nil)
	}
	if id == "" {
		if c, ok := s.accounts[config.DefaultAccountID]; ok {
			return c, nil
		}
		if len(s.accounts) == 1 {
			for _, c := range s.accounts {
				return c, nil
			}
		}
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "several telegram accounts are configured: give accountId", nil)
	}
	if c, ok := s.accounts[id]; ok {
		return c, nil
	}
	return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown telegram account: "+id, nil)
}

func (s *supervisor) route(ctx actor.Context, m *core.ChannelSend) {
	c, errShape := s.account(m.Params.Channel, m.Params.AccountID)
	if errShape != nil {
		ctx.Respond(&core.Reply{ReqID: m.ID, Err: errShape})
		return
	}
	// The account answers the original sender directly.
	ctx.RequestWithCustomSender(c.pid, &telegram.SendRequest{ReqID: m.ReqID, Params: m.Params}, ctx.Sender())
}
