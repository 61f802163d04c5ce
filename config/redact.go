package config

import (
	"fmt"
	"strings"
)

// Redacted replaces a secret's value in what config.get returns. Sent back
// unchanged in config.apply or config.patch, it means "keep the current
// secret" (see RestoreRedacted).
const Redacted = "__OPENCLAW_REDACTED__"

// secretKeys are the key paths holding secrets; "*" matches any key of a map.
var secretKeys = [][]string{
	{"gateway", "auth", "token"},
	{"gateway", "auth", "password"},
	{"gateway", "cluster", "nats", "token"},
	{"models", "providers", "*", "apiKey"},
	{"channels", "telegram", "botToken"},
	{"channels", "telegram", "webhookSecret"},
	{"channels", "telegram", "accounts", "*", "botToken"},
	{"channels", "telegram", "accounts", "*", "webhookSecret"},
}

// eachSecretKey calls fn for every secret key present in m, with the object
// holding it and the key's path segments.
func eachSecretKey(m map[string]any, fn func(parent map[string]any, segs []string)) {
	var visit func(m map[string]any, pat, segs []string)
	visit = func(m map[string]any, pat, segs []string) {
		if len(pat) == 1 {
			if _, ok := m[pat[0]]; ok {
				fn(m, append(segs[:len(segs):len(segs)], pat[0]))
			}
			return
		}
		keys := []string{pat[0]}
		if pat[0] == "*" {
			keys = sortedKeys(m)
		}
		for _, k := range keys {
			if child, ok := m[k].(map[string]any); ok {
				visit(child, pat[1:], append(segs[:len(segs):len(segs)], k))
			}
		}
	}
	for _, pat := range secretKeys {
		visit(m, pat, nil)
	}
}

// Redact is the config as a JSON object (as ToMap) with every secret that is
// set to a non-empty string replaced by Redacted: gateway.auth.token and
// password, models.providers.*.apiKey, and channels.telegram's (and each
// account's) botToken and webhookSecret.
func Redact(c *Config) map[string]any {
	m := ToMap(c)
	eachSecretKey(m, func(parent map[string]any, segs []string) {
		k := segs[len(segs)-1]
		if s, ok := parent[k].(string); ok && s != "" {
			parent[k] = Redacted
		}
	})
	return m
}

// RedactText replaces every secret value of c found in text (the config
// file as written) with Redacted, however it is quoted.
func RedactText(text string, c *Config) string {
	var secrets []string
	eachSecretKey(ToMap(c), func(parent map[string]any, segs []string) {
		if s, ok := parent[segs[len(segs)-1]].(string); ok && s != "" {
			secrets = append(secrets, s)
		}
	})
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, Redacted)
	}
	return text
}

// RestoreRedacted returns a copy of next (a config object a client sent)
// where every secret key still holding Redacted gets the current config's
// value back, so that a client can get, edit and apply a config without
// knowing its secrets. Redacted where current has no such secret (a renamed
// provider or account, say), or at a key that is not a secret, is an error.
// next is not changed.
func RestoreRedacted(next map[string]any, current *Config) (map[string]any, error) {
	out, _ := deepCopy(next).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	cur := ToMap(current)
	var firstErr error
	eachSecretKey(out, func(parent map[string]any, segs []string) {
		k := segs[len(segs)-1]
		if parent[k] != Redacted || firstErr != nil {
			return
		}
		if s, ok := lookup(cur, segs).(string); ok && s != "" {
			parent[k] = s
			return
		}
		path := strings.Join(segs, ".")
		firstErr = &Error{Path: path, Msg: fmt.Sprintf("%s: %s stands for the current secret, but the current config has none there", path, Redacted)}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if path, ok := findString(out, "", Redacted); ok {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("%s: %s is only valid in place of a secret", path, Redacted)}
	}
	return out, nil
}

// lookup follows segs through nested objects.
func lookup(m map[string]any, segs []string) any {
	var v any = m
	for _, s := range segs {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[s]
	}
	return v
}

// findString finds the first (by sorted key) occurrence of the string s in v.
func findString(v any, path string, s string) (string, bool) {
	switch x := v.(type) {
	case string:
		return path, x == s
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if p, ok := findString(x[k], joinKey(path, k), s); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range x {
			if p, ok := findString(e, indexPath(path, i), s); ok {
				return p, true
			}
		}
	}
	return "", false
}

// deepCopy copies the objects and lists of a generic JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		if x == nil {
			return []any(nil)
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// MergePatch applies an RFC 7396 JSON merge patch: null deletes a key,
// objects merge recursively, anything else (lists included) replaces.
// Neither input is changed; the result shares nothing with them.
func MergePatch(target map[string]any, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target))
	for k, v := range target {
		out[k] = deepCopy(v)
	}
	for k, pv := range patch {
		switch p := pv.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			t, _ := out[k].(map[string]any)
			out[k] = MergePatch(t, p)
		default:
			out[k] = deepCopy(pv)
		}
	}
	return out
}

// ClearChannelCredentials removes a channel account's credentials from a
// config object (channels.telegram's botToken and tokenFile, or those of
// channels.telegram.accounts.<id>): what logging the account out means. It
// reports whether there was anything to remove. account "" is the default
// account.
func ClearChannelCredentials(m map[string]any, channel, account string) bool {
	if channel != "telegram" {
		return false
	}
	channels, _ := m["channels"].(map[string]any)
	section, _ := channels["telegram"].(map[string]any)
	if section == nil {
		return false
	}
	target := section
	accounts, _ := section["accounts"].(map[string]any)
	switch acc, ok := accounts[account].(map[string]any); {
	case ok && account != "":
		target = acc
	case account != "" && account != DefaultAccountID:
		return false // no such account
	default:
		if acc, ok := accounts[DefaultAccountID].(map[string]any); ok {
			target = acc
		}
	}
	cleared := false
	for _, k := range []string{"botToken", "tokenFile"} {
		if v, ok := target[k]; ok && v != "" {
			delete(target, k)
			cleared = true
		}
	}
	return cleared
}
