//go:build !linux && !darwin

package health

import "openclaw/transport/protocol"

// disk reports nothing where statfs is not available.
func disk(string) (protocol.DiskInfo, bool) { return protocol.DiskInfo{}, false }
