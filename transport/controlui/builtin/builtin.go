// Package builtin is the Control UI built into the gateway: one page, its
// script and its style sheet, no build step. It is served at the Control UI's
// base path when gateway.controlUi.root names no other build. It speaks only
// the public protocol (docs/PROTOCOL.md), as any other client does.
package builtin

import "embed"

// FS holds the page's files.
//
//go:embed index.html app.js app.css favicon.svg
var FS embed.FS
