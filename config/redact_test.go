package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The secrets of testdata/full.json5, by path.
var fullSecrets = map[string]string{
	"gateway.auth.token":                            "3f9c1d7be2a04c58a1e6b0d4f7c2e9a85b1d3c6e0f2a4b7c",
	"models.providers.openrouter.apiKey":            "sk-or-v1-0000000000000000000000000000000000000000",
	"channels.telegram.botToken":                    "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
	"channels.telegram.accounts.work.botToken":      "222222:WORK-token",
	"channels.telegram.accounts.work.webhookSecret": "whsec-work",
}

func get(m map[string]any, path string) any {
	return lookup(m, strings.Split(path, "."))
}

func set(m map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}

func TestRedact(t *testing.T) {
	c := loadFixture(t, "full.json5")
	before, _ := json.Marshal(c)
	red := Redact(c)

	for path := range fullSecrets {
		if got := get(red, path); got != Redacted {
			t.Errorf("%s = %v, want %s", path, got, Redacted)
		}
	}
	// Nothing secret is left anywhere.
	b, _ := json.Marshal(red)
	for path, secret := range fullSecrets {
		if strings.Contains(string(b), secret) {
			t.Errorf("the secret of %s is still in %s", path, b)
		}
	}
	// Unset secrets stay unset; what is not a secret is kept.
	for path, want := range map[string]any{
		"channels.telegram.accounts.alerts.botToken":  nil,
		"channels.telegram.webhookSecret":             nil,
		"models.providers.local.apiKey":               nil,
		"gateway.auth.password":                       nil,
		"channels.telegram.accounts.alerts.tokenFile": "/run/secrets/telegram-alerts",
		"channels.telegram.accounts.work.webhookUrl":  "https://bot.example.com/telegram/work",
		"gateway.port":            18789.0,
		"meta.lastTouchedVersion": "2026.9.6",
	} {
		if got := get(red, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	// The config itself is untouched.
	if after, _ := json.Marshal(c); string(after) != string(before) {
		t.Error("Redact changed its argument")
	}

	// A blank secret is not a secret; a nil config is an empty object.
	blank := Redact(mustParse(t, `{gateway: {auth: {token: ''}}}`))
	if got := get(blank, "gateway.auth.token"); got != "" {
		t.Errorf("blank token redacted to %#v", got)
	}
	if m := Redact(nil); m == nil || len(m) != 0 {
		t.Errorf("Redact(nil) = %#v", m)
	}
}

func TestRestoreRedacted(t *testing.T) {
	cur := loadFixture(t, "full.json5")

	t.Run("get, edit, apply", func(t *testing.T) {
		next := Redact(cur)
		set(next, "gateway.port", 18800.0)
		set(next, "channels.telegram.accounts.work.webhookSecret", "whsec-new") // a secret set by the client
		nextJSON, _ := json.Marshal(next)

		got, err := RestoreRedacted(next, cur)
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := json.Marshal(next); string(after) != string(nextJSON) {
			t.Error("RestoreRedacted changed its argument")
		}
		c, err := FromMap("config.apply", got)
		if err != nil {
			t.Fatal(err)
		}
		if c.Gateway.Port != 18800 || *c.Gateway.Auth.Token != fullSecrets["gateway.auth.token"] ||
			c.Models.Providers["openrouter"].APIKey != fullSecrets["models.providers.openrouter.apiKey"] ||
			c.Channels.Telegram.BotToken != fullSecrets["channels.telegram.botToken"] ||
			c.Channels.Telegram.Accounts["work"].BotToken != fullSecrets["channels.telegram.accounts.work.botToken"] ||
			c.Channels.Telegram.Accounts["work"].WebhookSecret != "whsec-new" {
			t.Errorf("restored config = %+v", c)
		}
		want := []string{"channels.telegram.accounts.work.webhookSecret", "gateway.port"}
		if d := Diff(cur, c); !reflect.DeepEqual(d, want) {
			t.Errorf("Diff(current, applied) = %q, want %q", d, want)
		}
	})

	t.Run("unchanged round trip", func(t *testing.T) {
		got, err := RestoreRedacted(Redact(cur), cur)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ToMap(cur)) {
			t.Errorf("round trip = %v\nwant %v", got, ToMap(cur))
		}
	})

	errTests := []struct {
		name    string
		edit    func(m map[string]any)
		current *Config
		want    string
	}{
		{
			name: "renamed account keeps the placeholder",
			edit: func(m map[string]any) {
				acc := get(m, "channels.telegram.accounts").(map[string]any)
				acc["job"] = acc["work"]
				delete(acc, "work")
			},
			current: cur,
			want:    "channels.telegram.accounts.job.botToken: " + Redacted + " stands for the current secret, but the current config has none there",
		},
		{
			name:    "no secret there now",
			edit:    func(m map[string]any) { set(m, "gateway.auth.password", Redacted) },
			current: cur,
			want:    "gateway.auth.password: " + Redacted + " stands for the current secret",
		},
		{
			name:    "nil current",
			edit:    func(m map[string]any) {},
			current: nil,
			want:    "stands for the current secret, but the current config has none there",
		},
		{
			name:    "placeholder in a key that is not a secret",
			edit:    func(m map[string]any) { set(m, "channels.telegram.accounts.alerts.tokenFile", Redacted) },
			current: cur,
			want:    "channels.telegram.accounts.alerts.tokenFile: " + Redacted + " is only valid in place of a secret",
		},
		{
			name:    "placeholder in a list",
			edit:    func(m map[string]any) { set(m, "gateway.tools.deny", []any{"x", Redacted}) },
			current: cur,
			want:    "gateway.tools.deny[1]: " + Redacted + " is only valid in place of a secret",
		},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			next := Redact(cur)
			tt.edit(next)
			got, err := RestoreRedacted(next, tt.current)
			if err == nil {
				t.Fatalf("RestoreRedacted succeeded: %v", got)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v (%T), want one containing %q", err, err, tt.want)
			}
		})
	}

	if got, err := RestoreRedacted(nil, nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("RestoreRedacted(nil, nil) = %v, %v", got, err)
	}
}

func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestMergePatch(t *testing.T) {
	// RFC 7396 Appendix A, the cases with objects on both sides, and more.
	tests := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{"a":[1,2]}`, `{"a":{"a":"b","c":null}}`, `{"a":{"a":"b"}}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`{"a":"foo"}`, `{"a":null,"b":null}`, `{}`},
		{`{}`, `{}`, `{}`},
		// Lists are replaced whole, nulls inside them kept.
		{`{"l":[1,2,3]}`, `{"l":[null]}`, `{"l":[null]}`},
		// A config-shaped patch.
		{
			`{"gateway":{"port":1,"auth":{"token":"t","mode":"token"}},"agents":{"list":[{"id":"a"}]}}`,
			`{"gateway":{"auth":{"token":null,"password":"p","mode":"password"}},"agents":{"list":[{"id":"b"}]}}`,
			`{"gateway":{"port":1,"auth":{"password":"p","mode":"password"}},"agents":{"list":[{"id":"b"}]}}`,
		},
	}
	for _, tt := range tests {
		target, patch := jsonMap(t, tt.target), jsonMap(t, tt.patch)
		got := MergePatch(target, patch)
		if b, _ := json.Marshal(got); string(b) != string(mustCompact(t, tt.want)) {
			t.Errorf("MergePatch(%s, %s) = %s, want %s", tt.target, tt.patch, b, tt.want)
		}
		// The inputs are not changed.
		if b, _ := json.Marshal(target); string(b) != string(mustCompact(t, tt.target)) {
			t.Errorf("target changed to %s", b)
		}
		if b, _ := json.Marshal(patch); string(b) != string(mustCompact(t, tt.patch)) {
			t.Errorf("patch changed to %s", b)
		}
	}

	if got := MergePatch(nil, map[string]any{"a": 1.0}); !reflect.DeepEqual(got, map[string]any{"a": 1.0}) {
		t.Errorf("MergePatch(nil, …) = %v", got)
	}
}

// The result shares nothing with the inputs: changing it changes neither.
func TestMergePatchNoAliasing(t *testing.T) {
	target := jsonMap(t, `{"keep":{"deep":{"x":1}},"list":[{"y":1}]}`)
	patch := jsonMap(t, `{"new":{"z":[{"w":1}]},"keep":{"deep":{"q":2}}}`)
	got := MergePatch(target, patch)
	get(got, "keep.deep").(map[string]any)["x"] = 99.0
	got["list"].([]any)[0].(map[string]any)["y"] = 99.0
	get(got, "new").(map[string]any)["z"].([]any)[0].(map[string]any)["w"] = 99.0
	if b, _ := json.Marshal(target); string(b) != `{"keep":{"deep":{"x":1}},"list":[{"y":1}]}` {
		t.Errorf("target changed to %s", b)
	}
	if b, _ := json.Marshal(patch); string(b) != `{"keep":{"deep":{"q":2}},"new":{"z":[{"w":1}]}}` {
		t.Errorf("patch changed to %s", b)
	}
}

func mustCompact(t *testing.T, s string) []byte {
	t.Helper()
	b, err := json.Marshal(jsonMap(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
