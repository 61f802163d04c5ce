// Package json stands in for github.com/grbit/go-json (go.mod replaces it
// with this directory): telego, the Telegram library, picks that fork of
// goccy/go-json unless built with the tag `stdjson`, and calls only
// Marshal and Unmarshal. The fork's package inits build lookup tables sized
// by the binary's whole type section at start (about 5 MB allocated, 10 ms)
// for a channel that decodes a few updates a second; `go tool openclaw`
// and `go install` take no build tags, so the replacement is made here,
// with the standard library that telego's `stdjson` build uses.
package json

import "encoding/json"

// Marshal is encoding/json.Marshal.
func Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal is encoding/json.Unmarshal.
func Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
