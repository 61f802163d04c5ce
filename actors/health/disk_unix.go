//go:build linux || darwin

package health

import (
	"syscall"

	"openclaw/transport/protocol"
)

// disk is the size and free space of the file system holding path.
func disk(path string) (protocol.DiskInfo, bool) {
	var st syscall.Statfs_t
	if path == "" || syscall.Statfs(path, &st) != nil {
		return protocol.DiskInfo{}, false
	}
	bs := int64(st.Bsize)
	return protocol.DiskInfo{Path: mountPoint(path), TotalBytes: int64(st.Blocks) * bs, AvailableBytes: int64(st.Bavail) * bs}, true
}
