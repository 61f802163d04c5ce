package protocol

// Devices: paired device identities (docs/PROTOCOL.md §3.4) and their device
// tokens, one per role; device.pair.* and device.token.*.

// DevicePairRequest is a device waiting for an operator to pair it
// (device.pair.list's pending entries, the device.pair.requested event).
type DevicePairRequest struct {
	RequestID    string   `json:"requestId"`
	DeviceID     string   `json:"deviceId"`
	PublicKey    string   `json:"publicKey"`
	DisplayName  string   `json:"displayName,omitempty"`
	Platform     string   `json:"platform,omitempty"`
	DeviceFamily string   `json:"deviceFamily,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientMode   string   `json:"clientMode,omitempty"`
	Role         string   `json:"role"`
	Roles        []string `json:"roles"`
	Scopes       []string `json:"scopes"`
	RemoteIP     string   `json:"remoteIp,omitempty"`
	Silent       bool     `json:"silent"`
	// IsRepair marks a device that was paired before and asks again (its
	// token for the role was revoked).
	IsRepair bool  `json:"isRepair"`
	TS       int64 `json:"ts"`
}

// DeviceToken describes one role's device token (never the token itself).
type DeviceToken struct {
	Role        string   `json:"role"`
	Scopes      []string `json:"scopes"`
	CreatedAtMs int64    `json:"createdAtMs"`
	RotatedAtMs int64    `json:"rotatedAtMs,omitempty"`
	RevokedAtMs int64    `json:"revokedAtMs,omitempty"`
}

// PairedDevice is a paired device as device.pair.* show it.
type PairedDevice struct {
	DeviceID       string        `json:"deviceId"`
	PublicKey      string        `json:"publicKey"`
	DisplayName    string        `json:"displayName,omitempty"`
	Platform       string        `json:"platform,omitempty"`
	DeviceFamily   string        `json:"deviceFamily,omitempty"`
	ClientID       string        `json:"clientId,omitempty"`
	ClientMode     string        `json:"clientMode,omitempty"`
	Role           string        `json:"role,omitempty"`
	Roles          []string      `json:"roles"`
	Scopes         []string      `json:"scopes"`
	RemoteIP       string        `json:"remoteIp,omitempty"`
	ApprovedVia    string        `json:"approvedVia,omitempty"` // silent | owner
	CreatedAtMs    int64         `json:"createdAtMs"`
	ApprovedAtMs   int64         `json:"approvedAtMs"`
	LastSeenAtMs   int64         `json:"lastSeenAtMs,omitempty"`
	LastSeenReason string        `json:"lastSeenReason,omitempty"`
	Connected      *bool         `json:"connected,omitempty"`
	Tokens         []DeviceToken `json:"tokens"`
}

// DevicePairList is device.pair.list's result.
type DevicePairList struct {
	Pending []DevicePairRequest `json:"pending"`
	Paired  []PairedDevice      `json:"paired"`
}

// DevicePairApproved is device.pair.approve's result.
type DevicePairApproved struct {
	RequestID string       `json:"requestId"`
	Device    PairedDevice `json:"device"`
}

// DevicePairRejected is device.pair.reject's result.
type DevicePairRejected struct {
	RequestID string `json:"requestId"`
	DeviceID  string `json:"deviceId"`
}

// DeviceIDParams are device.pair.remove's params.
type DeviceIDParams struct {
	DeviceID string `json:"deviceId" minLength:"1"`
}

// DeviceRef is a result that names only the device (device.pair.remove).
type DeviceRef struct {
	DeviceID string `json:"deviceId"`
}

// DevicePairResolved is the device.pair.resolved event's payload.
type DevicePairResolved struct {
	RequestID string `json:"requestId"`
	DeviceID  string `json:"deviceId"`
	Decision  string `json:"decision"` // approved | rejected
	TS        int64  `json:"ts"`
}

// DeviceTokenRotateParams are device.token.rotate's params.
type DeviceTokenRotateParams struct {
	DeviceID string `json:"deviceId" minLength:"1"`
	Role     string `json:"role" minLength:"1"`
	// Scopes replace the token's scopes (capped by the caller's); absent
	// keeps them.
	Scopes []string `json:"scopes,omitempty"`
}

// DeviceTokenRotated is device.token.rotate's result. The new token is
// returned only to the device itself (tokenDelivery "in-band"); another
// caller gets "withheld-cross-device" and the device pairs again with the
// shared secret to learn it.
type DeviceTokenRotated struct {
	DeviceID      string   `json:"deviceId"`
	Role          string   `json:"role"`
	Token         string   `json:"token,omitempty"`
	Scopes        []string `json:"scopes"`
	RotatedAtMs   int64    `json:"rotatedAtMs"`
	TokenDelivery string   `json:"tokenDelivery"`
}

// DeviceTokenRevokeParams are device.token.revoke's params.
type DeviceTokenRevokeParams struct {
	DeviceID string `json:"deviceId" minLength:"1"`
	Role     string `json:"role" minLength:"1"`
}

// DeviceTokenRevoked is device.token.revoke's result.
type DeviceTokenRevoked struct {
	DeviceID    string `json:"deviceId"`
	Role        string `json:"role"`
	RevokedAtMs int64  `json:"revokedAtMs"`
}
