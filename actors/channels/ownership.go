package channels

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/natsbus/lease"
	"openclaw/transport/protocol"
)

// In cluster mode (Deps.Leases set) an account runs on one gateway at a
// time: the one holding its lease (transport/natsbus/lease, key
// "<channel>.<account>"). Every gateway campaigns for each account its
// config names; the winner spawns the account's actor with the lease's
// Fence in its deps and keeps the lease renewed; the others are standbys
// that watch it and take it when it is released or expires. A lost lease
// (not renewed within the TTL: this gateway paused or cut off from NATS;
// or taken over) stops the account here at once, and the campaign starts
// again, so a gateway back from a cut rejoins as a standby without a
// restart. A stopping gateway (SIGTERM, SIGUSR1, a restart-class change)
// releases its leases first thing, so a standby takes over at once.

// releaseTimeout bounds the release of the leases when the channels actor
// stops: a gateway cut off from NATS must still stop promptly (its leases
// then expire by their TTL).
const releaseTimeout = 2 * time.Second

// ownership is the lease side of one account.
type ownership struct {
	gen    int                // the campaign generation; messages of older ones are stale
	cancel context.CancelFunc // ends the campaign, or the keeping of the lease
	lease  *lease.Lease       // held: the account runs here
	seen   *protocol.ChannelOwner
}

// messages from the campaign goroutines
type (
	leaseSeen struct {
		key  string
		gen  int
		info lease.Info
		ok   bool
	}
	leaseWon struct {
		key string
		gen int
		l   *lease.Lease
	}
	leaseLost struct {
		key string
		gen int
		err error
	}
)

// campaign starts the account's campaign for its lease; the account's
// actor is spawned when it is won. An account already campaigning or
// holding its lease is left alone.
func (s *supervisor) campaign(ctx actor.Context, k string, a *account) {
	if a.own.cancel != nil {
		return
	}
	a.own.gen++
	gen, key, self, root := a.own.gen, lease.Key(a.driver.ID(), a.id), ctx.Self(), ctx.ActorSystem().Root
	cctx, cancel := context.WithCancel(context.Background())
	a.own.cancel = cancel
	if a.own.seen == nil {
		a.own.seen = &protocol.ChannelOwner{State: "standby"}
	}
	go func() {
		l, err := s.d.Leases.Campaign(cctx, key, func(in lease.Info, ok bool) {
			root.Send(self, &leaseSeen{key: k, gen: gen, info: in, ok: ok})
		})
		if err != nil {
			return // cancelled
		}
		root.Send(self, &leaseWon{key: k, gen: gen, l: l})
		if why := <-l.Keep(cctx); why != nil {
			root.Send(self, &leaseLost{key: k, gen: gen, err: why})
		}
	}()
}

// current is the account a lease message is about, if it still is.
func (s *supervisor) current(k string, gen int) *account {
	a := s.accounts[k]
	if a == nil || a.own.gen != gen || a.own.cancel == nil {
		return nil
	}
	return a
}

func (s *supervisor) leaseSeen(ctx actor.Context, m *leaseSeen) {
	a := s.current(m.key, m.gen)
	if a == nil || a.own.lease != nil {
		return
	}
	prev := a.own.seen
	// A gateway that lost its lease (cut off) may read its own old entry
	// back from its own replica of the bucket: it is not a standby of
	// itself; it stays "lost", with why, until it sees another holder or
	// none.
	if m.ok && m.info.Owner == s.d.Leases.Node() && prev != nil && prev.State == "lost" {
		return
	}
	next := &protocol.ChannelOwner{State: "standby"}
	if m.ok {
		next.Gateway, next.Since, next.Revision = m.info.Owner, m.info.Since, m.info.Revision
	}
	a.own.seen = next
	// A renewal moves only the revision: not worth a health broadcast.
	if prev == nil || prev.Gateway != next.Gateway || prev.Since != next.Since || prev.State != next.State {
		ctx.Send(s.d.Health, &core.HealthChanged{})
	}
}

func (s *supervisor) leaseWon(ctx actor.Context, m *leaseWon) {
	a := s.current(m.key, m.gen)
	if a == nil || s.stopped[m.key] {
		go func() { _ = m.l.Release(context.Background()) }()
		return
	}
	a.own.lease, a.own.seen = m.l, nil
	s.d.Log.Info("channel account owned here", "channel", a.driver.ID(), "account", a.id, "revision", m.l.Info().Revision)
	s.run(ctx, m.key, a, m.l.Fence)
}

func (s *supervisor) leaseLost(ctx actor.Context, m *leaseLost) {
	a := s.current(m.key, m.gen)
	if a == nil {
		return
	}
	s.d.Log.Warn("channel account lease lost; stopping it here", "channel", a.driver.ID(), "account", a.id, "err", m.err)
	s.halt(ctx, a)
	a.own.seen = &protocol.ChannelOwner{State: "lost", Error: m.err.Error()}
	a.status = protocol.AccountStatus{AccountID: a.id, Enabled: a.status.Enabled, Configured: a.status.Configured,
		Mode: a.status.Mode, Bot: a.status.Bot, TokenSource: a.status.TokenSource}
	ctx.Send(s.d.Health, &core.HealthChanged{})
	s.campaign(ctx, m.key, a)
}

// halt stops an account's actor, and in cluster mode ends its campaign and
// hands its lease over (in the background: a lost lease is fenced at once,
// locally, whatever the network does).
func (s *supervisor) halt(ctx actor.Context, a *account) {
	if a.pid != nil {
		delete(s.byPID, a.pid.String())
		ctx.Stop(a.pid)
		a.pid = nil
		a.status.Running = false
		s.syncClaims(ctx)
	}
	if a.own.cancel != nil {
		a.own.cancel()
		a.own.cancel = nil
	}
	if l := a.own.lease; l != nil {
		a.own.lease = nil
		go func() {
			rctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
			defer cancel()
			_ = l.Release(rctx)
		}()
	}
	a.own.seen = nil
}

// handOver stops the accounts, waiting for them (a turn in progress is
// interrupted and stays queued), and hands every held lease over, waiting
// (up to releaseTimeout) for the deletes: the gateway is stopping. No
// campaign starts again.
func (s *supervisor) handOver(ctx actor.Context) {
	var wg sync.WaitGroup
	for _, a := range s.accounts {
		if a.pid != nil {
			delete(s.byPID, a.pid.String())
			_ = ctx.StopFuture(a.pid).Wait()
			a.pid = nil
		}
		if a.own.cancel != nil {
			a.own.cancel()
			a.own.cancel = nil
		}
		if l := a.own.lease; l != nil {
			a.own.lease = nil
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
				defer cancel()
				if err := l.Release(ctx); err != nil {
					s.d.Log.Warn("channel account lease not released; it expires by its TTL", "lease", l.Key(), "err", err)
				}
			})
		}
	}
	wg.Wait()
}

// owner is the account's ownership for status and health (nil without a
// cluster).
func (s *supervisor) owner(a *account) *protocol.ChannelOwner {
	if s.d.Leases == nil {
		return nil
	}
	if l := a.own.lease; l != nil {
		in := l.Info()
		return &protocol.ChannelOwner{Gateway: s.d.Leases.Node(), Self: true, Since: in.Since, Revision: in.Revision, State: "owner"}
	}
	if a.own.seen != nil {
		o := *a.own.seen
		return &o
	}
	return nil
}
