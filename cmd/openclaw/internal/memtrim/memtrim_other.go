//go:build !linux

package memtrim

// dropExecutable: only Linux is done (its /proc/self/maps names the mappings).
func dropExecutable() (int64, error) { return 0, nil }
