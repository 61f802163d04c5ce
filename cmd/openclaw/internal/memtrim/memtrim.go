// Package memtrim releases what a process touched only to start: the free
// heap of its start-up garbage, and its own executable's pages that the
// package initialisers and the start path mapped in.
//
// Go runs every linked package's init before main (nats-server, openai-go's
// ~90 union registrations, the JSON libraries' type tables, ...), and the
// start path walks code and tables the serving path never uses again. Each of
// those first touches maps the page cache around it into the process (the
// kernel maps 64 KiB around a fault, or the whole large folio holding it), so
// after start the process holds 33-55 MB of its 86 MB binary although an idle
// gateway executes a small part of it. The pages are clean and backed by the
// file: dropping the mapping loses nothing, and a later access maps the page
// again from the page cache (a minor fault, no disk read while the file is
// cached). Trim therefore tells the kernel (MADV_DONTNEED) that the
// executable's read-only mappings (text, rodata, pclntab) are not needed now;
// the steady state then maps only what it runs.
package memtrim

import "runtime/debug"

// Stats says what Trim released.
type Stats struct {
	// Executable is the length of the read-only mappings of the executable
	// advised (their resident part is what leaves the RSS).
	Executable int64
}

// Trim returns the free heap to the OS (one GC cycle) and unmaps the
// executable's read-only pages. Call it once, when start-up is over: it costs
// a GC cycle and the minor faults of the code that runs next.
func Trim() (Stats, error) {
	debug.FreeOSMemory()
	n, err := dropExecutable()
	return Stats{Executable: n}, err
}
