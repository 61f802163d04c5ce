package gatewaytest

import (
	"encoding/json"

	"openclaw/transport/protocol"
)

// ChannelOwner reads a channels.status answer for the lease of channel's
// one account: nil when the answer does not decode, the channel has not
// exactly one account, or that account has no owner block.
func ChannelOwner(raw json.RawMessage, channel string) *protocol.ChannelOwner {
	var st protocol.ChannelsStatus
	if json.Unmarshal(raw, &st) != nil || len(st.ChannelAccounts[channel]) != 1 {
		return nil
	}
	return st.ChannelAccounts[channel][0].Owner
}
