package jsstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
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
//
// Any replica of the messages stream answers a direct get, and a replica
// may be a few milliseconds behind its leader. The session entry, read
// from the sessions stream's leader, says which messages there are
// (FirstSeq..LastSeq, each written before the entry) and the revision of
// the one entry rewritten in place (the summary at SumSeq): an entry a
// replica does not have, or has older than that, is asked of the leader
// ($JS.API.STREAM.MSG.GET, answered by the leader only). So a page read
// right after a write anywhere in the cluster holds it, at the cost of a
// leader read only when a replica was behind.

// pageMin is the smallest page read in one batch: below it the single
// reads in flight are as fast.
const pageMin = 8

// readPage reads messages from..to of session r, in order.
func (s *Store) readPage(ctx context.Context, key string, r *session, from, to int64) ([]store.Message, error) {
	n := int(to - from + 1)
	if n < pageMin {
		return s.readRange(ctx, key, r, from, to)
	}
	_, start, err := s.msgGet(ctx, msgKey(key, r.ID, from), r.minRev(from))
	if err != nil {
		return s.readRange(ctx, key, r, from, to)
	}
	got, err := s.directBatch(ctx, key, r.ID, start, n, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]store.Message, 0, n)
	for seq := from; seq <= to; seq++ {
		if e, ok := got[seq]; ok && e.rev >= r.minRev(seq) {
			out = append(out, e.m)
			continue
		}
		one, err := s.readRange(ctx, key, r, seq, seq)
		if err != nil {
			return nil, err
		}
		out = append(out, one...)
	}
	return out, nil
}

// revMessage is a message with its entry's revision.
type revMessage struct {
	m   store.Message
	rev uint64
}

// directBatch asks the messages stream for up to n entries of the session
// from stream sequence start on, and keeps the messages of seq from..to.
func (s *Store) directBatch(ctx context.Context, key, id string, start uint64, n int, from, to int64) (map[int64]revMessage, error) {
	bucket := s.messages.Bucket()
	req, err := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{start, "$KV." + bucket + "." + escape(key) + "." + escape(id) + ".*", n})
	if err != nil {
		return nil, err
	}
	nc := s.js.Conn()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(s.api("DIRECT.GET.KV_"+bucket), inbox, req); err != nil {
		return nil, err
	}
	got := make(map[int64]revMessage, n)
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
		rev, _ := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
		var m message
		if json.Unmarshal(msg.Data, &m) == nil && m.Seq >= from && m.Seq <= to {
			got[m.Seq] = revMessage{toMessage(key, m), rev}
		}
	}
}

// api is the subject of a JetStream API call ("DIRECT.GET.KV_x").
func (s *Store) api(call string) string {
	prefix := s.js.Options().APIPrefix
	if prefix == "" {
		prefix = jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	return prefix + call
}

// msgGet reads one messages bucket entry and its revision: from any
// replica, and from the leader when that replica has none or one older
// than minRev. A missing entry is jetstream.ErrKeyNotFound.
func (s *Store) msgGet(ctx context.Context, k string, minRev uint64) (message, uint64, error) {
	var m message
	e, err := s.messages.Get(ctx, k)
	if err == nil && e.Revision() >= minRev {
		return m, e.Revision(), json.Unmarshal(e.Value(), &m)
	}
	if err != nil && !notFound(err) {
		return m, 0, err
	}
	v, rev, err := s.leaderGet(ctx, s.messages, k)
	if err != nil {
		return m, 0, err
	}
	return m, rev, json.Unmarshal(v, &m)
}

// leaderGet reads the entry of key in kv from its stream's leader, which
// holds every write acknowledged so far. A missing (or deleted) entry is
// jetstream.ErrKeyNotFound.
func (s *Store) leaderGet(ctx context.Context, kv jetstream.KeyValue, key string) ([]byte, uint64, error) {
	req, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{"$KV." + kv.Bucket() + "." + key})
	if err != nil {
		return nil, 0, err
	}
	msg, err := s.js.Conn().RequestWithContext(ctx, s.api("STREAM.MSG.GET.KV_"+kv.Bucket()), req)
	if err != nil {
		return nil, 0, err
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq    uint64 `json:"seq"`
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, fmt.Errorf("jsstore: get %s: %w", key, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
		return nil, 0, jetstream.ErrKeyNotFound
	case resp.Error != nil:
		return nil, 0, resp.Error
	case resp.Message == nil:
		return nil, 0, fmt.Errorf("jsstore: get %s: %w", key, jetstream.ErrInvalidJetStreamResponse)
	}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, 0, err
		}
		if h.Get("KV-Operation") != "" {
			return nil, 0, jetstream.ErrKeyNotFound
		}
	}
	return resp.Message.Data, resp.Message.Seq, nil
}
