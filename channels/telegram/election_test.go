package telegram_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"openclaw/actors/store"
	"openclaw/channels/telegram"
	"openclaw/transport/provider/fakeprovider"
)

// electingStore fails the first calls of each listed change the way the
// cluster's store does while a stream elects its leader; the rest go
// through.
type electingStore struct {
	store.Store
	mu    sync.Mutex
	fails map[string]int // "put telegram.progress", "ack", "get telegram.progress": failures left
	seen  map[string]int
}

var errElection = errors.New("nats: API error: code=503 err_code=10008 description=JetStream system temporarily unavailable")

func (s *electingStore) fail(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[op]++
	if s.fails[op] > 0 {
		s.fails[op]--
		return errElection
	}
	return nil
}

func (s *electingStore) Get(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if err := s.fail("get " + ns); err != nil {
		return nil, false, err
	}
	return s.Store.Get(ctx, ns, key)
}

func (s *electingStore) Put(ctx context.Context, ns, key string, value []byte) error {
	if err := s.fail("put " + ns); err != nil {
		return err
	}
	return s.Store.Put(ctx, ns, key, value)
}

func (s *electingStore) Ack(ctx context.Context, queue, id string) error {
	if err := s.fail("ack"); err != nil {
		return err
	}
	return s.Store.Ack(ctx, queue, id)
}

// TestReplyProgressSurvivesStoreFailures: while the store refuses changes
// (a JetStream election), an update is still answered exactly once. The
// reply's progress is read and recorded with retries before anything is
// sent (a failed read is not "nothing shown yet", a failed record is not
// ignored), so the update read again after its failed ack finds its reply
// shown and sends nothing twice; and the chat goes on with the next
// update.
func TestReplyProgressSurvivesStoreFailures(t *testing.T) {
	st := &electingStore{fails: map[string]int{"get telegram.progress": 2, "put telegram.progress": 2, "ack": 1},
		seen: map[string]int{}}
	r := newRig(t, rigOpts{telegram: openDM(""),
		replies: []fakeprovider.Reply{fakeprovider.Text("first answer", 1), fakeprovider.Text("second answer", 1)},
		tune: func(o *telegram.Options) {
			o.WrapStore = func(s store.Store) store.Store { st.Store = s; return st }
		}})
	r.linked(r.operator())

	r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, alice, "one"))
	r.waitFor("the first reply", func() bool { return strings.Join(r.texts(tokenA, chat), "|") == "first answer" })
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, alice, "two"))
	r.waitFor("the second reply", func() bool {
		return strings.Join(r.texts(tokenA, chat), "|") == "first answer|second answer"
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	for op, left := range st.fails {
		if left != 0 {
			t.Errorf("%s: %d failures not provoked (calls: %v)", op, left, st.seen)
		}
	}
	if n := len(r.api.Calls(tokenA, "sendMessage")); n != 2 {
		t.Errorf("sendMessage calls = %d, want 2 (one per update)", n)
	}
	if reqs := r.fp.Requests(); len(reqs) != 2 {
		t.Errorf("provider requests = %d, want 2 (the first update's run not made twice)", len(reqs))
	}
}
