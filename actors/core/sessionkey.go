package core

import "strings"

// Session keys are agent:<agent id>:<rest>: agent:main:main is an agent's
// main session, agent:main:telegram:dm:42 a chat's, agent:main:cron:<job> a
// scheduled job's.

// SessionAgent is the agent of a session key ("" when the key names none).
func SessionAgent(key string) string {
	rest, ok := strings.CutPrefix(key, "agent:")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// SessionRest is the part of an agent session key after agent:<id>: (the
// whole key otherwise).
func SessionRest(key string) string {
	rest, ok := strings.CutPrefix(key, "agent:")
	if !ok {
		return key
	}
	_, after, found := strings.Cut(rest, ":")
	if !found {
		return key
	}
	return after
}

// SessionKind classifies a session key as the reference does: direct,
// group (a group or channel chat), cron (a scheduled job's), or global /
// unknown for those two special keys.
func SessionKind(key string) string {
	switch {
	case key == "global" || key == "unknown":
		return key
	case strings.HasPrefix(key, "agent:") && strings.HasPrefix(SessionRest(key), "cron:"):
		return "cron"
	case strings.Contains(key, ":group:") || strings.Contains(key, ":channel:"):
		return "group"
	}
	return "direct"
}

// MainSessionKey is an agent's main session.
func MainSessionKey(agentID string) string { return "agent:" + agentID + ":main" }
