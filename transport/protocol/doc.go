// Package protocol is the OpenClaw gateway wire contract, version 4: the three
// frame kinds, the error shape and codes, and the JSON Schemas every inbound
// frame is validated against before any handler sees it.
//
// The schemas live in schemas/ and are embedded in the binary; they are
// compiled once, when the Validator is built, and shared by every connection.
package protocol
