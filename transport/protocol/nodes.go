package protocol

// Nodes: devices connected with role node that serve commands.

// NodeInfo describes a node.
type NodeInfo struct {
	NodeID        string `json:"nodeId"`
	DisplayName   string `json:"displayName,omitempty"`
	Platform      string `json:"platform"`
	Version       string `json:"version"`
	ClientID      string `json:"clientId"`
	Connected     bool   `json:"connected"`
	ConnectedAtMs int64  `json:"connectedAtMs,omitempty"`
}

// NodePairRequested is the node.pair.requested event's payload: a pairing
// request waiting for an operator.
type NodePairRequested struct {
	RequestID   string   `json:"requestId"`
	NodeID      string   `json:"nodeId"`
	Role        string   `json:"role"`
	Scopes      []string `json:"scopes,omitempty"`
	ClientID    string   `json:"clientId"`
	ClientMode  string   `json:"clientMode"`
	DisplayName string   `json:"displayName,omitempty"`
	Platform    string   `json:"platform"`
	Version     string   `json:"version"`
	TS          int64    `json:"ts"`
}
