// Package channels is the channels actor: the parent of one supervised actor
// per channel account, each owning its one link to an outside service. The
// kinds of channel are Drivers (Telegram is channels/telegram) given to it at
// construction; it starts their accounts from the config, restarts only what
// a hot reload changed, restarts a failed account with backoff without
// touching the others, routes send and the pairing methods to the right
// account, and reports the accounts' state for health and status.
//
// A second kind of channel is a new package implementing Driver and
// answering the Account messages below; nothing here changes.
package channels

import (
	"context"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/metrics"
	"openclaw/transport/natsbus/lease"
	"openclaw/transport/protocol"
)

// Driver is one kind of channel.
type Driver interface {
	// ID is the channel's id: its config section (channels.<id>), send's
	// channel param, its key in health.
	ID() string
	// Label is its display name.
	Label() string
	// Accounts are the accounts cfg runs, by account id, with their
	// effective settings; an account whose settings change (by
	// reflect.DeepEqual) is restarted, the others are left alone.
	Accounts(cfg *config.Config) map[string]any
	// Props builds the actor of one account. The actor reports its state
	// to its parent with *AccountStatus and answers *methods.Send,
	// *PairingList and *PairingApprove.
	Props(account string, settings any, d AccountDeps) *actor.Props
}

// AccountDeps is what an account actor is built with.
type AccountDeps struct {
	Runs   *actor.PID // inbound messages become agent runs
	Store  store.Store
	Config *core.Live[*config.Config]
	Log    *slog.Logger
	// Metrics count the channel's traffic (updates in, messages out).
	Metrics *metrics.Metrics
	// Fence, in cluster mode, proves this gateway still holds the
	// account's lease (nil error) before each change it makes for the
	// account: queue acks, offset moves, reply progress, sends. Nil for a
	// single gateway.
	Fence func(ctx context.Context) error
}

// AccountStatus is an account actor telling its parent its state changed.
type AccountStatus struct {
	PID    *actor.PID
	Status protocol.AccountStatus
}

// PairingList asks an account for its pending pairing requests; it answers
// with *PairingRequests.
type PairingList struct{}

// PairingRequests is an account's answer to PairingList.
type PairingRequests struct {
	Uses     bool // the account pairs senders (its DM policy is pairing)
	Requests []protocol.PairingRequest
	Limits   protocol.PairingLimits
}

// PairingApprove approves a pending request by code or requestId; the
// account answers with *PairingApproved.
type PairingApprove struct{ Code, RequestID string }

// PairingDismiss drops a pending request by requestId without allowing its
// sender; the account answers with *PairingApproved (Found false: no such
// request).
type PairingDismiss struct{ RequestID string }

// PairingApproved answers PairingApprove; Found is false when the account
// has no such request.
type PairingApproved struct {
	Found    bool
	Err      error
	SenderID string
	Request  string
}

// Deps is what the channels actor is built with.
type Deps struct {
	Drivers []Driver
	Health  *actor.PID // told when an account's state changes
	Account AccountDeps
	Log     *slog.Logger
	// Cluster, in cluster mode, is told which accounts run here
	// (core.Claim) and gets the sends for accounts that do not
	// (core.Elsewhere). Nil for a single gateway.
	Cluster *actor.PID
	// Leases, in cluster mode, give each account one owner in the cluster
	// (ownership.go). Nil for a single gateway: every account runs here.
	Leases *lease.Manager
}

// account is one running channel account.
type account struct {
	driver   Driver
	id       string
	pid      *actor.PID
	settings any
	status   protocol.AccountStatus
	own      ownership // cluster mode only
}

// supervisor is the channels actor.
type supervisor struct {
	d        Deps
	accounts map[string]*account // by "<channel>:<account>"; pid nil while stopped
	byPID    map[string]*account
	// stopped are the accounts channels.stop stopped: they stay stopped
	// (listed, not running) until channels.start or the next start.
	stopped map[string]bool
	claimed map[string]bool // cluster keys claimed
}

// Backoff bounds for restarting a failed account.
const (
	restartFirst = time.Second
	restartMax   = time.Minute
)

// Props builds the channels actor. A failing account is restarted with
// backoff (1 s doubling to 1 min); the others and the gateway carry on.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisor{d: d}
	}, actor.WithSupervisor(newBackoff(d.Log, restartFirst, restartMax)))
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.accounts, s.byPID, s.stopped = map[string]*account{}, map[string]*account{}, map[string]bool{}
		s.apply(ctx, s.d.Account.Config.Get())
	case *core.ConfigChanged:
		s.apply(ctx, m.Next)
	case *AccountStatus:
		if a := s.byPID[m.PID.String()]; a != nil && a.id == m.Status.AccountID {
			a.status = m.Status
			ctx.Send(s.d.Health, &core.HealthChanged{})
		}
	case *core.Shutdown:
		// The gateway is stopping: the accounts stop and hand their leases
		// over now; the gateway waits for this answer.
		if s.d.Leases != nil {
			s.handOver(ctx)
		}
		ctx.Respond(true)
	case *actor.Stopping:
		if s.d.Leases != nil {
			s.handOver(ctx)
		}
	case *leaseSeen:
		s.leaseSeen(ctx, m)
	case *leaseWon:
		s.leaseWon(ctx, m)
	case *leaseLost:
		s.leaseLost(ctx, m)
	case *actor.Terminated:
		delete(s.byPID, m.Who.String())
	case *core.ReportChannels:
		m.Reply(s.report())
	case *methods.Send:
		a, errShape := s.running(m.Params.Channel, m.Params.AccountID)
		if errShape != nil && s.d.Cluster != nil {
			if s.elsewhere(ctx, m) {
				return
			}
			if m.Routed {
				errShape = notConnected(m.Params.Channel, m.Params.AccountID)
			}
		}
		if errShape != nil {
			m.Fail(errShape)
			return
		}
		ctx.Send(a.pid, m) // the account answers the request itself
	case *methods.PairingList:
		s.pairingList(ctx, m)
	case *methods.PairingApprove:
		s.pairingApprove(ctx, m)
	case *methods.PairingDismiss:
		s.pairingDismiss(ctx, m)
	case *methods.ChannelsStatus:
		s.status(m)
	case *methods.ChannelsStart:
		s.start(ctx, m)
	case *methods.ChannelsStop:
		s.stop(ctx, m)
	case *methods.MessageAction:
		s.messageAction(ctx, m)
	}
}

func key(channel, account string) string { return channel + ":" + account }

// apply makes the running accounts match c: new ones start, removed ones
// stop, changed ones restart; the rest are left alone (no dropped link).
func (s *supervisor) apply(ctx actor.Context, c *config.Config) {
	want := map[string]*account{}
	for _, drv := range s.d.Drivers {
		for id, settings := range drv.Accounts(c) {
			want[key(drv.ID(), id)] = &account{driver: drv, id: id, settings: settings}
		}
	}
	for k, a := range s.accounts {
		if w, ok := want[k]; !ok || !reflect.DeepEqual(w.settings, a.settings) {
			if a.pid != nil {
				s.d.Log.Info("channel account stopping (config changed)", "channel", a.driver.ID(), "account", a.id)
			}
			s.halt(ctx, a)
			delete(s.accounts, k)
		}
	}
	for k, w := range want {
		if _, listed := s.accounts[k]; listed {
			continue
		}
		w.status = protocol.AccountStatus{AccountID: w.id}
		s.accounts[k] = w
		if !s.stopped[k] {
			s.spawn(ctx, k, w)
		}
	}
	for k := range s.stopped {
		if _, ok := want[k]; !ok {
			delete(s.stopped, k) // gone from the config: forgotten
		}
	}
	ctx.Send(s.d.Health, &core.HealthChanged{})
	s.syncClaims(ctx)
}

// spawn starts an account: at once on a single gateway, once its lease is
// won in a cluster.
func (s *supervisor) spawn(ctx actor.Context, k string, a *account) {
	if s.d.Leases != nil {
		s.campaign(ctx, k, a)
		return
	}
	s.run(ctx, k, a, nil)
}

// run spawns an account's actor; fence is the lease's, in a cluster.
func (s *supervisor) run(ctx actor.Context, k string, a *account, fence func(context.Context) error) {
	deps := s.d.Account
	deps.Fence = fence
	a.pid = ctx.SpawnPrefix(a.driver.Props(a.id, a.settings, deps), k)
	s.byPID[a.pid.String()] = a
	s.syncClaims(ctx)
}

// sendTimeout bounds a send routed to another gateway.
const sendTimeout = 30 * time.Second

// syncClaims tells the cluster which accounts run here: "channel.<id>:<account>"
// for each, and "channel.<id>:*" for a channel with any (a send that names
// no account).
func (s *supervisor) syncClaims(ctx actor.Context) {
	if s.d.Cluster == nil {
		return
	}
	want := map[string]bool{}
	for _, a := range s.accounts {
		if a.pid != nil {
			want["channel."+a.driver.ID()+":"+a.id] = true
			want["channel."+a.driver.ID()+":*"] = true
		}
	}
	if s.claimed == nil {
		s.claimed = map[string]bool{}
	}
	for k := range want {
		if !s.claimed[k] {
			ctx.Send(s.d.Cluster, &core.Claim{Key: k})
			s.claimed[k] = true
		}
	}
	for k := range s.claimed {
		if !want[k] {
			ctx.Send(s.d.Cluster, &core.Release{Key: k})
			delete(s.claimed, k)
		}
	}
}

// elsewhere hands a send this gateway cannot make to the gateway running
// its account; false when it is not for the cluster (already routed, or a
// channel this build does not have).
func (s *supervisor) elsewhere(ctx actor.Context, m *methods.Send) bool {
	if m.Routed {
		return false
	}
	drv, errShape := s.driver(m.Params.Channel)
	if errShape != nil {
		return false
	}
	acct := m.Params.AccountID
	if acct == "" {
		acct = "*"
	}
	ctx.Send(s.d.Cluster, &core.Elsewhere{Key: "channel." + drv.ID() + ":" + acct, Method: "send", Req: m, Back: ctx.Self(),
		Timeout: sendTimeout})
	return true
}

// notConnected is send's error when no gateway of the cluster runs the
// account.
func notConnected(channel, account string) *protocol.ErrorShape {
	what := channel
	if account != "" {
		what += " account " + account
	}
	return protocol.NewError(protocol.CodeUnavailable, what+" is not running on any gateway of the cluster",
		map[string]any{"code": "NOT_CONNECTED"})
}

// report is the channels' part of the health summary: per channel, its
// default account's state (or its first's) with every account listed.
func (s *supervisor) report() core.ChannelsReport {
	r := core.ChannelsReport{Channels: map[string]protocol.ChannelHealth{}, Order: []string{}, Labels: map[string]string{}}
	for _, drv := range s.d.Drivers {
		var ids []string
		for _, a := range s.accounts {
			if a.driver.ID() == drv.ID() {
				ids = append(ids, a.id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		sort.Strings(ids)
		ch := protocol.ChannelHealth{Accounts: map[string]protocol.AccountStatus{}, AccountOrder: ids}
		var head *protocol.AccountStatus
		for _, id := range ids {
			a := s.accounts[key(drv.ID(), id)]
			st := a.status
			st.Owner = s.owner(a)
			ch.Accounts[id] = st
			ch.Linked, ch.Running, ch.Configured = ch.Linked || st.Linked, ch.Running || st.Running, ch.Configured || st.Configured
			if head == nil || id == config.DefaultAccountID {
				h := st
				head = &h
			}
		}
		ch.Mode, ch.Bot, ch.LastError = head.Mode, head.Bot, head.LastError
		r.Channels[drv.ID()] = ch
		r.Order = append(r.Order, drv.ID())
		r.Labels[drv.ID()] = drv.Label()
		if ch.Linked && r.Link == nil {
			r.Link = &protocol.LinkChannel{ID: drv.ID(), Label: drv.Label(), Linked: true}
		}
	}
	return r
}

// driver finds the driver a request names ("" = the config's default
// channel, or the only one with accounts).
func (s *supervisor) driver(channel string) (Driver, *protocol.ErrorShape) {
	ch := strings.ToLower(strings.TrimSpace(channel))
	if len(s.d.Drivers) == 0 {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "no channel configured: this gateway runs no messaging channel", nil)
	}
	if ch == "" {
		running := map[string]Driver{}
		for _, a := range s.accounts {
			running[a.driver.ID()] = a.driver
		}
		if len(running) == 1 {
			for _, d := range running {
				return d, nil
			}
		}
		ch = config.DefaultChannel(s.d.Account.Config.Get())
	}
	ids := make([]string, 0, len(s.d.Drivers))
	for _, d := range s.d.Drivers {
		if d.ID() == ch {
			return d, nil
		}
		ids = append(ids, d.ID())
	}
	return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown channel: "+channel+
		" (this gateway serves "+strings.Join(ids, ", ")+")", nil)
}

// route finds the account a send names ("" = the default account, or the
// only one).
func (s *supervisor) route(channel, id string) (*account, *protocol.ErrorShape) {
	drv, errShape := s.driver(channel)
	if errShape != nil {
		return nil, errShape
	}
	var mine []*account
	for _, a := range s.accounts {
		if a.driver.ID() == drv.ID() {
			mine = append(mine, a)
		}
	}
	switch {
	case len(mine) == 0:
		return nil, protocol.NewError(protocol.CodeInvalidRequest,
			"no channel configured: set channels."+drv.ID()+" in the config", nil)
	case id != "":
		if a := s.accounts[key(drv.ID(), id)]; a != nil {
			return a, nil
		}
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown "+drv.ID()+" account: "+id, nil)
	case len(mine) == 1:
		return mine[0], nil
	}
	if a := s.accounts[key(drv.ID(), config.DefaultAccountID)]; a != nil {
		return a, nil
	}
	return nil, protocol.NewError(protocol.CodeInvalidRequest, "several "+drv.ID()+" accounts are configured: give accountId", nil)
}

// ask sends a message through one account and waits for the result.
func ask(root *actor.RootContext, pid *actor.PID, p protocol.SendParams) (protocol.SendResult, *protocol.ErrorShape) {
	return core.Ask[protocol.SendParams, protocol.SendResult](root, pid, p, askTimeout)
}
