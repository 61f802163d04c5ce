package gateway_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"openclaw/actors/gateway/gatewaytest"
)

// referenceDir holds answers recorded from the reference gateway
// (openclaw@2026.9.6): one file per call, {method, params, ok, payload |
// error}.
const referenceDir = "../../testdata/reference/operator"

// referenceShape is one method call compared with the reference's recorded
// answer to the same call. Our answer must have every key the reference's
// has, with the same JSON type, all the way down (arrays: each of our
// elements against the reference's first), except under the paths in
// differs, each with the reason we answer differently there.
type referenceShape struct {
	file   string // <referenceDir>/<file>.json
	reader bool   // call as an operator.read UI client instead of an admin CLI
	// differs maps a path ("sessions.defaults.model", "jobs[].state") to
	// why our answer does not match the reference's there.
	differs map[string]string
}

// nodeOnly are the parts of the reference's answers that describe the Node
// process itself; a Go process has nothing to put there.
var nodeOnly = map[string]string{
	"eventLoop":                       "the Node event loop's health; a Go process has no event loop to report",
	"workerPools":                     "the reference's Node worker threads",
	"shutdownBudget":                  "the reference's drain budget and in-flight write custody; ours drains for 5 s (docs/PROTOCOL.md)",
	"hostDesktop":                     "the reference's VNC host desktop, which we do not have",
	"processMemory.externalBytes":     "V8 memory outside the heap",
	"processMemory.arrayBuffersBytes": "V8 ArrayBuffer memory",
}

// heartbeatOff: the reference's heartbeat runs every 30 m by default; ours is
// off until configured, and a disabled heartbeat has no period (null).
var heartbeatOff = map[string]string{"heartbeat.agents[].everyMs": "null while the heartbeat is off (ours is off by default)"}

func with(m map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

var referenceShapes = []referenceShape{
	{file: "status.admin", differs: with(with(nodeOnly, heartbeatOff), map[string]string{
		"sessions.defaults.model":         "the reference falls back to its built-in default model; ours has none until one is configured (null)",
		"sessions.defaults.contextTokens": "known only when the configured model declares contextWindow (null otherwise)",
	})},
	{file: "status.read", reader: true, differs: with(with(nodeOnly, heartbeatOff), map[string]string{
		"sessions.defaults.model":         "the reference falls back to its built-in default model; ours has none until one is configured",
		"sessions.defaults.contextTokens": "known only when the configured model declares contextWindow",
	})},
	{file: "status.cli-projection", differs: with(with(nodeOnly, heartbeatOff), map[string]string{
		"sessions.defaults.model":         "the reference falls back to its built-in default model; ours has none until one is configured",
		"sessions.defaults.contextTokens": "known only when the configured model declares contextWindow",
		"cliProjection.memoryPlugin":      "the reference's memory plugin, which we do not have",
	})},
}

// recorded is one reference recording.
type recorded struct {
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	OK      bool            `json:"ok"`
	Payload json.RawMessage `json:"payload"`
	Error   json.RawMessage `json:"error"`
}

func TestReferenceShapes(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	for _, row := range referenceShapes {
		t.Run(row.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(referenceDir, row.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec recorded
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatalf("%s: %v", row.file, err)
			}
			c := adm
			if row.reader {
				c = rd
			}
			var params any
			_ = json.Unmarshal(rec.Params, &params)
			f := c.Call("shape-"+row.file, rec.Method, params)
			if f.OK != rec.OK {
				t.Fatalf("%s: ok=%v, the reference's ok=%v:\n%s", rec.Method, f.OK, rec.OK, f.Raw)
			}
			want, got := rec.Payload, f.Payload
			if !rec.OK {
				want, got = rec.Error, json.RawMessage(mustJSON(f.Error))
			}
			var w, g any
			_ = json.Unmarshal(want, &w)
			_ = json.Unmarshal(got, &g)
			for _, p := range shapeDiff(w, g, "", row.differs) {
				t.Errorf("%s: %s", rec.Method, p)
			}
			for path := range row.differs {
				if _, ok := lookupPath(w, path); !ok {
					t.Errorf("differs[%q]: the reference's answer has no such path (stale row?)", path)
				}
			}
		})
	}
}

// shapeDiff lists where ours does not have the shape of ref.
func shapeDiff(ref, ours any, path string, differs map[string]string) []string {
	if _, skip := differs[path]; skip && path != "" {
		return nil
	}
	if ref == nil {
		return nil // the reference's null says nothing about the type
	}
	at := path
	if at == "" {
		at = "(top)"
	}
	switch r := ref.(type) {
	case map[string]any:
		o, ok := ours.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, the reference has an object", at, kind(ours))}
		}
		var out []string
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if _, skip := differs[sub]; skip {
				continue
			}
			v, has := o[k]
			if !has {
				out = append(out, fmt.Sprintf("%s: missing (the reference has %s)", sub, kind(r[k])))
				continue
			}
			out = append(out, shapeDiff(r[k], v, sub, differs)...)
		}
		return out
	case []any:
		o, ok := ours.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, the reference has an array", at, kind(ours))}
		}
		if len(r) == 0 {
			return nil
		}
		var out []string
		for i := range o {
			out = append(out, shapeDiff(r[0], o[i], path+"[]", differs)...)
		}
		return slices.Compact(out)
	default:
		if kind(ref) != kind(ours) {
			return []string{fmt.Sprintf("%s: %s, the reference has %s", at, kind(ours), kind(ref))}
		}
		return nil
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// lookupPath finds a differs path in a reference answer ("a.b", "a[].b").
func lookupPath(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		arr := strings.HasSuffix(seg, "[]")
		seg = strings.TrimSuffix(seg, "[]")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg]; !ok {
			return nil, false
		}
		if arr {
			l, ok := v.([]any)
			if !ok || len(l) == 0 {
				return nil, true // present, empty: nothing below to check
			}
			v = l[0]
		}
	}
	return v, true
}
