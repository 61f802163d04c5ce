// Package channels holds the messaging channels, one package per kind:
// channels/telegram is the Telegram Bot API. Each implements the Driver of
// actors/channels (the channels actor that starts, supervises and routes to
// their accounts); a new kind is a new package here plus one line where the
// gateway's drivers are listed (cmd/openclaw), nothing else.
package channels
