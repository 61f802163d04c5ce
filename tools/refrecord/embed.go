package main

import _ "embed"

// protocolScript is protocol.mjs: it reads the reference package's method
// table and params schemas.
//
//go:embed protocol.mjs
var protocolScript []byte
