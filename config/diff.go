package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// ToMap is the config as a JSON object: what it marshals to, decoded into
// generic values (numbers are float64). A nil config is an empty object. The
// result is fresh: callers may change it.
func ToMap(c *Config) map[string]any {
	out := map[string]any{}
	if c == nil {
		return out
	}
	b, err := json.Marshal(c)
	if err != nil {
		// Only a hand-built Config with invalid raw JSON in Meta, Wizard
		// or Commands gets here; treat it as empty rather than panic.
		return out
	}
	_ = json.Unmarshal(b, &out)
	return out
}

// Diff lists the key paths whose values differ between old and new, sorted:
// leaf keys ("gateway.auth.token", "channels.telegram.accounts.work.botToken"),
// or a list's own path ("agents.list") for any change inside a list. It
// compares the JSON forms, so an unset key, null, an empty object and an
// empty list are all the same. A nil config counts as an empty one.
func Diff(old, new *Config) []string {
	var out []string
	diffValues("", ToMap(old), ToMap(new), &out)
	slices.Sort(out)
	return out
}

func diffValues(path string, a, b any, out *[]string) {
	a, b = emptyToNil(a), emptyToNil(b)
	am, aMap := a.(map[string]any)
	bm, bMap := b.(map[string]any)
	switch {
	case a == nil && b == nil:
	case (aMap || a == nil) && (bMap || b == nil):
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffValues(joinKey(path, k), am[k], bm[k], out)
		}
	case !reflect.DeepEqual(a, b):
		*out = append(*out, path)
	}
}

func emptyToNil(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

// ReloadPlan sorts changed key paths (from Diff) by how they are applied.
type ReloadPlan struct {
	// Hot changes are applied in place; no socket is dropped (a rotated
	// gateway.auth.token or password closes the sockets that used the old
	// one with 4001).
	Hot []string
	// Restart changes need the in-process restart (the SIGUSR1 path).
	Restart []string
}

// NeedsRestart reports whether any change needs a restart.
func (p ReloadPlan) NeedsRestart() bool { return len(p.Restart) > 0 }

// hotKeys are the key paths (and everything under them) applied in place
// (docs/PROTOCOL.md §9). Everything else needs a restart: gateway.port, bind,
// customBindHost, auth.mode, limits, nodes.pairing, canvasHost (it binds a
// port), commands, and any key not classified. gateway.nodes.commands is read
// by the nodes actor at each invoke, so it applies in place.
var hotKeys = []string{
	"agents",
	"models",
	"channels",
	"cron",
	"gateway.http",
	"gateway.tools",
	"gateway.nodes.commands",
	"gateway.auth.token",
	"gateway.auth.password",
	"gateway.auth.rateLimit",
	"gateway.reload",
	"meta",
	"wizard",
}

// Classify splits changed key paths into hot and restart ones, each sorted
// and without repeats.
func Classify(paths []string) ReloadPlan {
	var p ReloadPlan
	for _, path := range paths {
		if isHot(path) {
			p.Hot = append(p.Hot, path)
		} else {
			p.Restart = append(p.Restart, path)
		}
	}
	slices.Sort(p.Hot)
	slices.Sort(p.Restart)
	p.Hot = slices.Compact(p.Hot)
	p.Restart = slices.Compact(p.Restart)
	return p
}

func isHot(path string) bool {
	for _, k := range hotKeys {
		if rest, ok := strings.CutPrefix(path, k); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return true
		}
	}
	return false
}
