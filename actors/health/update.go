package health

import (
	"encoding/json"

	"openclaw/transport/protocol"
)

// noUpdate is update.status's answer: the gateway never updates itself (a
// new release is a new binary, installed by whoever installed this one),
// so there is no update on offer and nothing scheduled. "package" is the
// install kind for which the reference's Control UI says "up to date"
// rather than offering a git pull.
var noUpdate = protocol.UpdateStatus{
	Sentinel: json.RawMessage("null"), UpdateAvailable: json.RawMessage("null"), EffectiveChannel: "stable",
	Schedule: protocol.UpdateSchedule{Channel: "stable", Install: protocol.UpdateInstall{Kind: "package"}},
}
