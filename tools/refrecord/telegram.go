package main

import (
	"context"
	"encoding/json"
	"time"

	"openclaw/channels/telegram/fakebotapi"
)

// Telegram: the recorder's fake Bot API (the project's own, speaking the
// real wire format) and the chat the sends go to.
const (
	recordBotID  = 424242
	recordChatID = 12345
	strangerID   = 777001
	// channelStartTimeout bounds the wait for the channel to run after the
	// config change.
	channelStartTimeout = 45 * time.Second
)

// recordTelegram adds a Telegram channel (pointed at a fake Bot API through
// apiRoot) with config.patch, then records the channel methods against a
// configured, running channel: status, pairing, send, message.action,
// stop/start/logout.
func (r *recorder) recordTelegram(ctx context.Context, admin *conn, rec func(c *conn, file, method string, params any) *exchange) {
	token := fakebotapi.MakeToken(recordBotID)
	api, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{
		token: {ID: recordBotID, Username: "refrecord_bot", FirstName: "Refrecord"},
	}})
	if err != nil {
		logf("  fake Bot API: %v", err)
		return
	}
	r.botAPI = api
	r.sc.add(token, "<botToken>")
	r.sc.add(api.URL(), "<botApiURL>")
	api.AddChat(token, "alice", recordChatID)

	ex, err := r.call(ctx, admin, "config.get", map[string]any{}, 0)
	if err != nil || !ex.ok {
		logf("  config.get: %v", err)
		return
	}
	patch, _ := json.Marshal(map[string]any{"channels": map[string]any{"telegram": map[string]any{
		"botToken": token, "apiRoot": api.URL(), "dmPolicy": "pairing"}}})
	if ex := rec(admin, "config.patch.add-telegram", "config.patch", map[string]any{"raw": string(patch),
		"baseHash": ex.res.path("payload", "hash").strValue()}); ex == nil || !ex.ok {
		return
	}
	// Wait for the channel to run.
	deadline := time.Now().Add(channelStartTimeout)
	for time.Now().Before(deadline) {
		ex, err := r.callSettle(ctx, admin, "channels.status", map[string]any{}, 0, 0)
		if err == nil && ex.ok {
			acc := ex.res.path("payload", "channelAccounts", "telegram")
			if acc != nil && len(acc.vals) > 0 && acc.vals[0].get("running") != nil && acc.vals[0].get("running").b {
				break
			}
		}
		r.settle(ctx, time.Second)
	}
	rec(admin, "channels.status.telegram", "channels.status", nil)
	rec(admin, "channels.status.telegram-probe", "channels.status", map[string]any{"probe": true, "timeoutMs": 5000})

	// A stranger writes: with dmPolicy "pairing" that is a pairing request.
	api.Push(token, api.TextUpdate(token, strangerID, strangerID, "hello bot"))
	r.settle(ctx, 5*time.Second)
	rec(admin, "channels.pairing.list.telegram-pending", "channels.pairing.list", map[string]any{"channel": "telegram"})

	rec(admin, "send.telegram-configured", "send", map[string]any{"to": "12345", "message": "hi from the recorder",
		"channel": "telegram", "idempotencyKey": "refrecord-send-3"})
	rec(admin, "send.telegram-same-key", "send", map[string]any{"to": "12345", "message": "hi from the recorder",
		"channel": "telegram", "idempotencyKey": "refrecord-send-3"})
	rec(admin, "send.telegram-default-channel", "send", map[string]any{"to": "12345", "message": "no channel named",
		"idempotencyKey": "refrecord-send-4"})
	rec(admin, "message.action.telegram-send", "message.action", map[string]any{"channel": "telegram", "action": "send",
		"params": map[string]any{"to": "12345", "message": "hi from message.action"}, "idempotencyKey": "refrecord-action-2"})
	rec(admin, "channels.stop.telegram", "channels.stop", map[string]any{"channel": "telegram"})
	rec(admin, "channels.status.telegram-stopped", "channels.status", nil)
	rec(admin, "channels.start.telegram", "channels.start", map[string]any{"channel": "telegram"})
	rec(admin, "channels.logout.telegram", "channels.logout", map[string]any{"channel": "telegram"})
	rec(admin, "channels.status.telegram-after-logout", "channels.status", nil)
}
