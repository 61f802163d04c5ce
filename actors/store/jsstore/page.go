package jsstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// A page of a transcript is read with one batched direct get (nats-server
// 2.11+, $JS.API.DIRECT.GET with next_by_subj and batch): from the stream
// position of the page's first message, the next entries of the session's
// subjects, in one request and a stream of replies ending in an EOB status.
// Appends create entries in seq order, so the page is normally all there;
// an entry rewritten since (a compaction's summary) or not found is read on
// its own afterwards (readRange).

// pageMin is the smallest page read in one batch: below it the single
// reads in flight are as fast.
const pageMin = 8

// readPage reads messages from..to of a session, in order.
func (s *Store) readPage(ctx context.Context, key, id string, from, to int64) ([]store.Message, error) {
	n := int(to - from + 1)
	if n < pageMin {
		return s.readRange(ctx, key, id, from, to)
	}
	first, err := s.messages.Get(ctx, msgKey(key, id, from))
	if err != nil {
		return s.readRange(ctx, key, id, from, to)
	}
	got, err := s.directBatch(ctx, key, id, first.Revision(), n, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]store.Message, 0, n)
	for seq := from; seq <= to; seq++ {
		if m, ok := got[seq]; ok {
			out = append(out, m)
			continue
		}
		one, err := s.readRange(ctx, key, id, seq, seq)
		if err != nil {
			return nil, err
		}
		out = append(out, one...)
	}
	return out, nil
}

// directBatch asks the messages stream for up to n entries of the session
// from stream sequence start on, and keeps the messages of seq from..to.
func (s *Store) directBatch(ctx context.Context, key, id string, start uint64, n int, from, to int64) (map[int64]store.Message, error) {
	bucket := s.messages.Bucket()
	req, err := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{start, "$KV." + bucket + "." + escape(key) + "." + escape(id) + ".*", n})
	if err != nil {
		return nil, err
	}
	prefix := s.js.Options().APIPrefix
	if prefix == "" {
		prefix = jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	nc := s.js.Conn()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(prefix+"DIRECT.GET.KV_"+bucket, inbox, req); err != nil {
		return nil, err
	}
	got := make(map[int64]store.Message, n)
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, err
		}
		if msg.Header.Get("Status") != "" { // 204 EOB, 404 none
			return got, nil
		}
		if msg.Header.Get("KV-Operation") != "" { // a deleted or purged entry
			continue
		}
		var m message
		if json.Unmarshal(msg.Data, &m) == nil && m.Seq >= from && m.Seq <= to {
			got[m.Seq] = toMessage(key, m)
		}
	}
}
