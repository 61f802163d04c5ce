package main

// Tests of `openclaw pairing list` and `openclaw pairing approve`; the
// helpers are in message_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestPairingUsage: argument mistakes are refused with one line before any
// connection.
func TestPairingUsage(t *testing.T) {
	runUsageCases(t, []string{"pairing"}, []usageCase{
		{"approve without a code", []string{"approve"}, []string{"code-or-channel"}},
		{"approve --channel and two args", []string{"approve", "--channel", "telegram", "telegram", "ABCD1234"}, []string{"too many arguments"}},
		{"approve bad channel", []string{"approve", "Tele gram", "ABCD1234"}, []string{"channel"}},
		{"list conflicting channels", []string{"list", "telegram", "--channel", "discord"}, []string{"telegram", "discord"}},
	})
}

func TestApproveParams(t *testing.T) {
	cases := []struct {
		flag, first, second string
		want                string
	}{
		{"", "abcd1234", "", "map[channel:telegram code:ABCD1234]"},
		{"", "Telegram", "abcd1234", "map[channel:telegram code:ABCD1234]"},
		{"discord", " abcd1234 ", "", "map[channel:discord code:ABCD1234]"},
	}
	for _, tc := range cases {
		p, err := approveParams(tc.flag, tc.first, tc.second, "", false)
		if err != nil || fmt.Sprint(p) != tc.want {
			t.Errorf("approveParams(%q, %q, %q) = %v, %v; want %s", tc.flag, tc.first, tc.second, p, err, tc.want)
		}
	}
	p, _ := approveParams("", "x", "", " work ", true)
	if p["accountId"] != "work" || p["notify"] != true {
		t.Errorf("params = %v, want accountId work and notify true", p)
	}
	if _, err := approveParams("telegram", "a", "b", "", false); err == nil {
		t.Error("--channel with two arguments was accepted")
	}
}

const samplePairingList = `{
	"accounts": [{"channel": "telegram", "channelLabel": "Telegram", "accountId": "default", "notifySupported": true}],
	"requests": [{"requestId": "r1", "code": "ABCD2345", "channel": "telegram", "channelLabel": "Telegram",
		"accountId": "default", "senderId": "123456789", "senderLabel": "telegramUserId",
		"metadata": {"username": "alice"}, "createdAt": "2026-01-02T03:04:05.000Z",
		"lastSeenAt": "2026-01-02T03:04:05.000Z", "expiresAt": "2026-01-02T04:04:05.000Z", "notifySupported": true}],
	"commandOwnerConfigured": false,
	"limits": {"pendingPerAccount": 3, "ttlMs": 3600000}
}`

func TestWritePairingList(t *testing.T) {
	var b bytes.Buffer
	empty := `{"accounts":[],"requests":[],"commandOwnerConfigured":false,"limits":{"pendingPerAccount":3,"ttlMs":3600000}}`
	if err := writePairingList(&b, "telegram", json.RawMessage(empty), false); err != nil || b.String() != "No pending telegram pairing requests.\n" {
		t.Errorf("empty list: %q, %v", b.String(), err)
	}

	b.Reset()
	if err := writePairingList(&b, "", json.RawMessage(samplePairingList), false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 6 || lines[0] != "Pairing requests (1)" {
		t.Fatalf("want a heading and a 5-line table, got:\n%s", b.String())
	}
	for _, w := range []string{"Code", "telegramUserId", "Meta", "Requested"} {
		if !strings.Contains(lines[2], w) {
			t.Errorf("header row %q lacks %q", lines[2], w)
		}
	}
	for _, w := range []string{"ABCD2345", "123456789", `{"username":"alice"}`, "2026-01-02T03:04:05.000Z"} {
		if !strings.Contains(lines[4], w) {
			t.Errorf("request row %q lacks %q", lines[4], w)
		}
	}
	for i, l := range lines[1:] {
		if n := len([]rune(l)); n != 120 {
			t.Errorf("table line %d is %d wide, want 120: %q", i, n, l)
		}
	}

	b.Reset()
	if err := writePairingList(&b, "", json.RawMessage(samplePairingList), true); err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, b.String())
	reqs, _ := jsonPath(v, "requests")
	if ch, _ := jsonPath(v, "channel"); ch != "telegram" || len(reqs.([]any)) != 1 || len(v.(map[string]any)) != 2 {
		t.Errorf("--json = %s, want {channel: telegram, requests: [1]}", b.String())
	}
	if code, _ := jsonPath(reqs.([]any)[0], "code"); code != "ABCD2345" {
		t.Errorf("--json request = %v", reqs)
	}
}

func TestWriteApproved(t *testing.T) {
	var b bytes.Buffer
	res := `{"requestId":"r1","senderId":"123456789","notification":"not-requested","commandOwnerBootstrap":"not-requested"}`
	if err := writeApproved(&b, "telegram", json.RawMessage(res)); err != nil || b.String() != "Approved telegram sender 123456789.\n" {
		t.Errorf("writeApproved = %q, %v", b.String(), err)
	}
	b.Reset()
	res = `{"requestId":"r1","senderId":"1","notification":"failed","commandOwnerBootstrap":"configured"}`
	_ = writeApproved(&b, "telegram", json.RawMessage(res))
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[2], "notify") {
		t.Errorf("writeApproved with a failed notification = %q", b.String())
	}
}

// TestPairingWithoutChannel: against a gateway with no channel, list shows
// nothing pending (as the reference answers), and naming an account or
// approving a code fails cleanly: exit 1, one stderr line naming the method,
// the error object with --json.
func TestPairingWithoutChannel(t *testing.T) {
	g := configuredGateway(t, "")
	r := clientCLI(t, g, "pairing", "list")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "No pending pairing requests." {
		t.Fatalf("pairing list with no channel: %s", r)
	}
	for _, args := range [][]string{
		{"pairing", "list", "telegram", "--account", "default"},
		{"pairing", "approve", "abcd2345"},
		{"pairing", "approve", "--channel", "telegram", "ABCD2345", "--notify"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			method := "channels.pairing." + args[1]
			line, _ := requireCallFailure(t, clientCLI(t, g, args...), false)
			if !strings.Contains(line, method) {
				t.Errorf("stderr %q does not name %s", line, method)
			}
			requireCallFailure(t, clientCLI(t, g, append(args, "--json")...), true)
		})
	}
	g.stop(t)
}
