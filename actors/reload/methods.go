package reload

import (
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/titanous/json5"

	"openclaw/actors/core"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// get is config.get: the active config redacted, and the file as it is on
// disk now (its text with secrets redacted, whether it parses).
func (r *reloader) get(caller *core.Peer) protocol.ConfigGet {
	cfg := config.Redact(r.cur)
	res := protocol.ConfigGet{Path: r.d.Path, IncludedPaths: []string{}, Parsed: cfg, SourceConfig: cfg, Resolved: cfg,
		RuntimeConfig: cfg, Config: cfg, Hash: r.hash, Valid: true, Issues: []protocol.ConfigIssue{},
		Warnings: []protocol.ConfigIssue{}, LegacyIssues: []protocol.ConfigIssue{}}
	data, err := os.ReadFile(r.d.Path)
	if err != nil {
		return res
	}
	res.Exists = true
	onDisk, perr := config.Parse(r.d.Path, data)
	text := config.RedactText(string(data), r.cur)
	if perr != nil {
		res.Valid = false
		issue := protocol.ConfigIssue{Message: perr.Error()}
		var ce *config.Error
		if errors.As(perr, &ce) {
			issue.Path, issue.Line, issue.Message = ce.Path, ce.Line, ce.Msg
		}
		res.Issues = append(res.Issues, issue)
		// Secrets new in a file that does not parse cannot be found to be
		// redacted: only an admin sees that text.
		if caller != nil && !caller.Scopes.Has(core.ScopeAdmin) {
			return res
		}
	} else {
		text = config.RedactText(text, onDisk)
	}
	res.Raw = &text
	return res
}

// set is config.set: the whole file from JSON5 text. Text without
// redacted secrets is written as given (comments kept); with them, the
// current secrets are put back and the file is written as JSON.
func (r *reloader) set(ctx actor.Context, p protocol.ConfigSetParams) (protocol.ConfigSet, *protocol.ErrorShape) {
	invalid := func(err error) (protocol.ConfigSet, *protocol.ErrorShape) {
		return protocol.ConfigSet{}, protocol.NewError(protocol.CodeInvalidRequest, "invalid config: "+err.Error(), nil)
	}
	if p.BaseHash != "" {
		if err := r.checkBase(p.BaseHash); err != nil {
			return protocol.ConfigSet{}, err
		}
	}
	data := []byte(p.Raw)
	if !strings.HasSuffix(p.Raw, "\n") {
		data = append(data, '\n')
	}
	if strings.Contains(p.Raw, config.Redacted) {
		var generic map[string]any
		if err := json5.Unmarshal([]byte(p.Raw), &generic); err != nil {
			return invalid(err)
		}
		restored, err := config.RestoreRedacted(generic, r.cur)
		if err != nil {
			return invalid(err)
		}
		if data, err = json.MarshalIndent(restored, "", "  "); err != nil {
			return invalid(err)
		}
		data = append(data, '\n')
	}
	cfg, err := config.Parse(r.d.Path, data)
	if err != nil {
		return invalid(err)
	}
	w, errShape := r.persist(ctx, data, cfg)
	if errShape != nil {
		return protocol.ConfigSet{}, errShape
	}
	return protocol.ConfigSet{OK: true, Path: w.Path, Hash: w.Hash, Config: config.Redact(cfg), Restart: w.Restart,
		Changed: w.Changed}, nil
}

// schemaDoc is the config's JSON Schema, decoded once, with its hints.
type schemaDoc struct {
	root    map[string]any
	hints   map[string]protocol.ConfigHint
	builtAt time.Time
}

func (r *reloader) doc() *schemaDoc {
	if r.schemaDoc == nil {
		d := &schemaDoc{hints: map[string]protocol.ConfigHint{}, builtAt: time.Now()}
		_ = json.Unmarshal(config.Schema(), &d.root)
		walkHints(d.root, "", d.hints)
		r.schemaDoc = d
	}
	return r.schemaDoc
}

// walkHints collects a hint for every key under node: map entries as "*",
// array items as "[]".
func walkHints(node map[string]any, path string, out map[string]protocol.ConfigHint) {
	if path != "" {
		if h := hintOf(node); h != nil {
			out[path] = *h
		}
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	if props, ok := node["properties"].(map[string]any); ok {
		for k, v := range props {
			if child, ok := v.(map[string]any); ok {
				walkHints(child, join(k), out)
			}
		}
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		walkHints(ap, join("*"), out)
	}
	if items, ok := node["items"].(map[string]any); ok && node["type"] == "array" {
		walkHints(items, path+"[]", out)
	}
}

func hintOf(node map[string]any) *protocol.ConfigHint {
	title, _ := node["title"].(string)
	desc, _ := node["description"].(string)
	if title == "" && desc == "" {
		return nil
	}
	return &protocol.ConfigHint{Label: title, Help: desc}
}

// schema is config.schema.
func (r *reloader) schema() protocol.ConfigSchema {
	d := r.doc()
	return protocol.ConfigSchema{Schema: config.Schema(), UIHints: d.hints, Version: r.d.Version,
		GeneratedAt: d.builtAt.UTC().Format(time.RFC3339Nano)}
}

// lookup is config.schema.lookup: one key's schema, without its children's,
// and its children.
func (r *reloader) lookup(path string) (protocol.ConfigSchemaLookup, *protocol.ErrorShape) {
	node := r.doc().root
	var hintPath []string
	var hint *protocol.ConfigHint
	for _, seg := range strings.Split(path, ".") {
		next, hintSeg := child(node, seg)
		if next == nil {
			return protocol.ConfigSchemaLookup{}, protocol.NewError(protocol.CodeInvalidRequest, "config schema path not found", nil)
		}
		node, hintPath = next, append(hintPath, hintSeg)
		// A map's entry is described by the map's own key.
		if h := hintOf(node); h != nil || hintSeg != "*" && hintSeg != "[]" {
			hint = h
		}
	}
	res := protocol.ConfigSchemaLookup{Path: path, Schema: shallow(node), ReloadKind: reloadKind(path),
		Hint: hint, HintPath: strings.Join(hintPath, "."), Children: []protocol.ConfigSchemaChild{}}
	required := map[string]bool{}
	if req, ok := node["required"].([]any); ok {
		for _, k := range req {
			if s, ok := k.(string); ok {
				required[s] = true
			}
		}
	}
	if props, ok := node["properties"].(map[string]any); ok {
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, _ := props[k].(map[string]any)
			_, hasProps := c["properties"]
			_, hasMap := c["additionalProperties"].(map[string]any)
			res.Children = append(res.Children, protocol.ConfigSchemaChild{Key: k, Path: path + "." + k, Type: c["type"],
				Required: required[k], HasChildren: hasProps || hasMap, ReloadKind: reloadKind(path + "." + k),
				Hint: hintOf(c), HintPath: res.HintPath + "." + k})
		}
	}
	return res, nil
}

// child steps from node to its key seg: a property, a map entry (any key,
// hint path "*"), or an array item (a number or "[]").
func child(node map[string]any, seg string) (map[string]any, string) {
	if props, ok := node["properties"].(map[string]any); ok {
		if c, ok := props[seg].(map[string]any); ok {
			return c, seg
		}
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		return ap, "*"
	}
	if items, ok := node["items"].(map[string]any); ok && node["type"] == "array" {
		return items, "[]"
	}
	return nil, ""
}

// shallow is a schema node without what lists its children.
func shallow(node map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range node {
		switch k {
		case "properties", "required":
			continue
		case "additionalProperties", "items":
			if _, isSchema := v.(map[string]any); isSchema {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// reloadKind says how a change under path is applied.
func reloadKind(path string) string {
	if config.Classify([]string{path}).NeedsRestart() {
		return "restart"
	}
	return "hot"
}

// channelTokenEnv is the variable that gives a channel's default account
// its token when the config does not.
var channelTokenEnv = map[string]string{"telegram": "TELEGRAM_BOT_TOKEN"}

// logout is channels.logout: the account's credentials are removed from the
// config file, which is written and applied (the account restarts without
// them). A token the environment gives stays: the account is then not
// logged out.
func (r *reloader) logout(ctx actor.Context, p protocol.ChannelAccountParams) (protocol.ChannelLoggedOut, *protocol.ErrorShape) {
	channel := strings.ToLower(strings.TrimSpace(p.Channel))
	account := p.AccountID
	if account == "" {
		account = config.DefaultAccountID
	}
	res := protocol.ChannelLoggedOut{Channel: channel, AccountID: account}
	known := false
	for _, c := range config.KnownChannels {
		known = known || c == channel
	}
	if !known {
		return res, protocol.NewError(protocol.CodeInvalidRequest, "unknown channel: "+p.Channel, nil)
	}
	current := config.ToMap(r.cur)
	if chs, _ := current["channels"].(map[string]any); chs[channel] == nil {
		return res, protocol.NewError(protocol.CodeInvalidRequest, "channel "+channel+" is not configured", nil)
	}
	res.Cleared = config.ClearChannelCredentials(current, channel, p.AccountID)
	if res.Cleared {
		if _, errShape := r.write(ctx, r.diskHash(), func(map[string]any) map[string]any { return current }); errShape != nil {
			return res, errShape
		}
		r.d.Log.Info("channel account logged out: credentials removed from the config", "channel", channel, "account", account)
	}
	if env := channelTokenEnv[channel]; env != "" && account == config.DefaultAccountID && os.Getenv(env) != "" {
		res.EnvToken = true
	}
	res.LoggedOut = !res.EnvToken
	return res, nil
}

// diskHash is the hash of the config file as it is now ("" without one).
func (r *reloader) diskHash() string {
	data, err := os.ReadFile(r.d.Path)
	if err != nil {
		return ""
	}
	return config.HashBytes(data)
}
