package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The scrubber turns the volatile parts of a recording into stable
// placeholders so that two runs give the same files:
//
//   - values the recorder knows (the token, the throwaway paths, device
//     and node ids, the host name, Node's version) become named
//     placeholders: "<token>", "<stateDir>", "<deviceId:admin>", ...;
//   - UUIDs and other 64-hex ids become "<uuid-N>" / "<hex64-N>", numbered
//     by first appearance within one file, so equal ids stay equal;
//   - timestamps become "<iso>" (strings) or "<num:ts>" (epoch numbers);
//   - numbers under keys that measure the run (durations, memory, pids)
//     become "<num:KEY>"; a placeholder that starts with "<num:" was a
//     number in the reference's answer;
//   - strings under keys that hold secrets (tokens, signatures) become
//     "<secret:KEY>".
type scrubber struct {
	mu    sync.Mutex
	lits  []literal // substring replacements, longest first
	exact map[string]string
	nums  map[string]string // number (as written) → placeholder, also as a whole word in text
}

type literal struct{ from, to string }

// minSubstring is the shortest literal replaced inside longer strings;
// shorter ones (a host name like "vm") are replaced only as whole values.
const minSubstring = 6

func newScrubber() *scrubber { return &scrubber{exact: map[string]string{}, nums: map[string]string{}} }

// addNumber registers a volatile number (a random port): as a JSON number it
// becomes "<num:NAME>", inside text (a config file's source) "<NAME>".
func (s *scrubber) addNumber(n int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nums[strconv.Itoa(n)] = name
}

// add registers a known volatile value and its placeholder.
func (s *scrubber) add(value, placeholder string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exact[value] = placeholder
	if len(value) < minSubstring {
		return
	}
	for i, l := range s.lits {
		if l.from == value {
			s.lits[i].to = placeholder
			return
		}
	}
	s.lits = append(s.lits, literal{value, placeholder})
	sort.SliceStable(s.lits, func(i, j int) bool { return len(s.lits[i].from) > len(s.lits[j].from) })
}

var (
	reUUID    = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reHex64   = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	reISO     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`)
	reCap     = regexp.MustCompile(`/__openclaw__/cap/[A-Za-z0-9_-]+`)
	reSince   = regexp.MustCompile(`\b\d+(\.\d+)?\s?(ms|s|m|h|d) ago\b`)
	reTmpName = regexp.MustCompile(`/tmp/refrecord-[a-z]+-\d+`)
	reChrome  = regexp.MustCompile(`Chrome/[0-9.]+`)
	reHMAC    = regexp.MustCompile(`hmac-sha256:v1:[A-Za-z0-9_-]+`)
	rePid     = regexp.MustCompile(`(\bpid(?:\\*")?\s*[:=]\s*)[0-9]+`)              // "pid=123", "\"pid\":123" in log text
	reB64Key  = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)                           // 32 random bytes, base64url
	reEphem   = regexp.MustCompile(`127\.0\.0\.1:(3[2-9][0-9]{3}|[4-6][0-9]{4})\b`) // Linux's ephemeral range
)

// opaqueKeys are keys whose string values are opaque, run-specific
// cursors.
var opaqueKeys = map[string]bool{"deltaCursor": true, "cursor": true, "nextCursor": true, "traceId": true, "spanId": true}

// randomIDKeys are keys whose values are random ids that are neither UUIDs
// nor hex (channel pairing request ids are 32 base64url characters).
var randomIDKeys = map[string]bool{"requestId": true}

// volatileNumbers are keys whose numbers measure this run.
var volatileNumbers = map[string]string{
	"durationMs": "ms", "uptimeMs": "ms", "runtimeMs": "ms", "elapsedMs": "ms", "ageMs": "ms", "intervalMs": "ms",
	"delayP99Ms": "ms", "delayMaxMs": "ms", "delayMeanMs": "ms", "delayP50Ms": "ms", "latencyMs": "ms",
	"lastEventAgeMs": "ms", "sinceMs": "ms", "uptimeSeconds": "s", "uptime": "s", "lastInputSeconds": "s",
	"cursor": "offset", "pid": "pid", "ppid": "pid", "remotePort": "ephemeral-port", "localPort": "ephemeral-port",
	"rss": "bytes", "heapUsed": "bytes", "heapTotal": "bytes", "external": "bytes", "arrayBuffers": "bytes",
	"totalMem": "bytes", "freeMem": "bytes", "totalmem": "bytes", "freemem": "bytes",
	"utilization": "ratio", "cpuCoreRatio": "ratio", "mainThreadCoreRatio": "ratio", "hostUtilization": "ratio",
	"workerCoreRatio": "ratio", "otherThreadsCoreRatio": "ratio", "hostCpuCount": "cpus", "cpuCount": "cpus",
	"loadavg": "load", "loadAverage": "load",
	"memoryTotalBytes": "bytes", "memoryFreeBytes": "bytes", "rssBytes": "bytes", "heapUsedBytes": "bytes",
	"heapTotalBytes": "bytes", "externalBytes": "bytes", "arrayBuffersBytes": "bytes", "totalBytes": "bytes",
	"availableBytes": "bytes", "diskTotalBytes": "bytes", "diskAvailableBytes": "bytes",
}

// machineStrings are keys whose string values describe this machine.
var machineStrings = map[string]bool{"cpuModel": true, "pathEnv": true}

// secretKeys are keys whose string values are random per run.
var secretKeys = map[string]bool{
	"token": true, "deviceToken": true, "bootstrapToken": true, "signature": true, "nonce": true,
	"recoveryScope": true, "appliedConfigHash": true, "publicKey": true, "setupCode": true, "secret": true,
}

// doc scrubs one recording; numbering of ids restarts per document, after
// any numbered placeholder already in it (so scrubbing a scrubbed file again
// never reuses a number).
func (s *scrubber) doc(v *jv) *jv {
	c := &scrubDoc{s: s, ids: map[string]string{}, n: map[string]int{}}
	c.countExisting(string(v.encode()))
	v = v.clone()
	c.walk(v, "")
	return v
}

// text scrubs free text (a CLI's output) as one document.
func (s *scrubber) text(t string) string {
	c := &scrubDoc{s: s, ids: map[string]string{}, n: map[string]int{}}
	c.countExisting(t)
	return c.str(t, "")
}

var reNumbered = regexp.MustCompile(`<([A-Za-z0-9]+)-([0-9]+)>`)

func (c *scrubDoc) countExisting(t string) {
	for _, m := range reNumbered.FindAllStringSubmatch(t, -1) {
		if n, err := strconv.Atoi(m[2]); err == nil && n > c.n[m[1]] {
			c.n[m[1]] = n
		}
	}
}

type scrubDoc struct {
	s   *scrubber
	ids map[string]string
	n   map[string]int
}

func (c *scrubDoc) walk(v *jv, key string) {
	switch v.kind {
	case 'o':
		for i, k := range v.keys {
			c.walk(v.vals[i], k)
			// Keys can hold volatile text too (a summary keyed by error
			// message); scrubbed after the value, which is scrubbed by the
			// original key.
			v.keys[i] = c.str(k, "")
		}
	case 'a':
		for _, x := range v.vals {
			c.walk(x, key)
		}
	case 's':
		v.str = c.str(v.str, key)
	case 'n':
		if p := c.num(v.num.String(), key); p != "" {
			*v = jv{kind: 's', str: p}
		}
	}
}

// num returns the placeholder for a number, or "" to keep it.
func (c *scrubDoc) num(n, key string) string {
	if kind, ok := volatileNumbers[key]; ok {
		return "<num:" + kind + ">"
	}
	c.s.mu.Lock()
	name, ok := c.s.nums[n]
	c.s.mu.Unlock()
	if ok {
		return "<num:" + name + ">"
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return ""
	}
	// A fractional number of milliseconds is a measurement (serverTiming).
	if strings.HasSuffix(key, "Ms") && strings.Contains(n, ".") {
		return "<num:ms>"
	}
	// A deadline that counts down (node.invoke.request's timeoutMs is the
	// caller's timeout minus the time already spent).
	if key == "timeoutMs" && f != float64(int64(f)/1000*1000) {
		return "<num:ms>"
	}
	switch {
	case f >= 1e12 && f < 1e13: // epoch milliseconds (2001..2286)
		return "<num:ts>"
	case f >= 1e9 && f < 1e10 && (strings.HasSuffix(key, "At") || strings.HasSuffix(key, "ts") || strings.HasSuffix(key, "Sec")):
		return "<num:ts-s>"
	}
	return ""
}

func (c *scrubDoc) str(s, key string) string {
	if s == "" || (strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") && !strings.ContainsAny(s, " \n")) {
		return s
	}
	c.s.mu.Lock()
	if p, ok := c.s.exact[s]; ok {
		c.s.mu.Unlock()
		return p
	}
	for _, l := range c.s.lits {
		if strings.Contains(s, l.from) {
			s = strings.ReplaceAll(s, l.from, l.to)
		}
	}
	for n, name := range c.s.nums {
		if strings.Contains(s, n) {
			s = regexp.MustCompile(`\b`+n+`\b`).ReplaceAllString(s, "<"+name+">")
		}
	}
	c.s.mu.Unlock()
	if secretKeys[key] && !strings.HasPrefix(s, "<") {
		return "<secret:" + key + ">"
	}
	if machineStrings[key] {
		return "<" + key + ">"
	}
	// JSON carried in a string (payloadJSON, paramsJSON): scrubbed as JSON.
	// The log file's lines (logs.tail) are JSON records too.
	if (strings.HasSuffix(key, "JSON") || key == "lines") && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
		if v, err := parseJSON([]byte(s)); err == nil {
			c.walk(v, "")
			return compactJSON(v)
		}
	}
	s = reChrome.ReplaceAllString(s, "Chrome/<version>")
	s = reTmpName.ReplaceAllString(s, "<tmp>")
	s = reCap.ReplaceAllString(s, "/__openclaw__/cap/<cap>")
	s = reISO.ReplaceAllString(s, "<iso>")
	s = reSince.ReplaceAllString(s, "<ago>")
	s = reHMAC.ReplaceAllStringFunc(s, func(m string) string { return c.id("hmac", m) })
	s = reUUID.ReplaceAllStringFunc(s, func(m string) string { return c.id("uuid", strings.ToLower(m)) })
	s = reHex64.ReplaceAllStringFunc(s, func(m string) string { return c.id("hex64", m) })
	if randomIDKeys[key] && !strings.HasPrefix(s, "<") {
		return c.id(key, s)
	}
	if opaqueKeys[key] && !strings.HasPrefix(s, "<") {
		return c.id(key, s)
	}
	if reB64Key.MatchString(s) {
		return c.id("b64", s)
	}
	// Client sockets' ephemeral ports (in log lines); the gateway's and
	// the tap's addresses were named before.
	s = reEphem.ReplaceAllString(s, "127.0.0.1:<ephemeral-port>")
	s = rePid.ReplaceAllString(s, "${1}<pid>")
	return s
}

func (c *scrubDoc) id(kind, v string) string {
	if p, ok := c.ids[v]; ok {
		return p
	}
	c.n[kind]++
	p := fmt.Sprintf("<%s-%d>", kind, c.n[kind])
	c.ids[v] = p
	return p
}
