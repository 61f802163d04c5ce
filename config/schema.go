package config

import _ "embed"

// schemaJSON is the JSON Schema of the whole config file, generated from the
// types and their doc comments in this package (go tool task protocol:gen
// writes config/schema.json; a test fails when it is stale).
//
//go:embed schema.json
var schemaJSON []byte

// Schema is the JSON Schema of openclaw.json (config.schema serves it):
// every key with its type, a title and the description its Go doc comment
// gives. Do not modify the returned bytes.
func Schema() []byte { return schemaJSON }
