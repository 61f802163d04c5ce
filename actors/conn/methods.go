package conn

import (
	"openclaw/actors/core"
	"openclaw/actors/logs"
	"openclaw/actors/reload"
	"openclaw/transport/protocol"
)

// Methods returns the gateway core's method table. The gateway may add to it
// (later parts of the gateway register their own methods the same way).
func Methods() map[string]*core.Method {
	return map[string]*core.Method{
		"health": {Handle: func(c core.Call) {
			var p struct {
				Probe bool `json:"probe"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Health, &core.HealthGet{Probe: p.Probe})
		}},
		"status": {Scope: core.ScopeRead, Role: core.RoleOperator, Handle: func(c core.Call) {
			c.Ask(c.Env().Hub, &core.StatusGet{})
		}},
		"system-presence": {Scope: core.ScopeRead, Role: core.RoleOperator, Handle: func(c core.Call) {
			c.Ask(c.Env().Presence, &core.PresenceList{})
		}},
		"system-event": {Scope: core.ScopeAdmin, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p core.SystemEventParams
			if err := c.Request().Bind(&p); err != nil {
				c.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid system-event params: "+err.Error(), nil))
				return
			}
			c.Ask(c.Env().Presence, &core.SystemEvent{Params: p})
		}},
		"config.get": {Scope: core.ScopeAdmin, Role: core.RoleOperator, Handle: func(c core.Call) {
			c.Ask(c.Env().Reload, &reload.Get{})
		}},
		"config.apply": {Scope: core.ScopeAdmin, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				Config   map[string]any `json:"config"`
				BaseHash string         `json:"baseHash"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Reload, &reload.Apply{Config: p.Config, BaseHash: p.BaseHash})
		}},
		"config.patch": {Scope: core.ScopeAdmin, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				Patch    map[string]any `json:"patch"`
				BaseHash string         `json:"baseHash"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Reload, &reload.Patch{Patch: p.Patch, BaseHash: p.BaseHash})
		}},
		"logs.tail": {Scope: core.ScopeRead, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p logs.TailParams
			if err := c.Request().Bind(&p); err != nil {
				c.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid logs.tail params: "+err.Error(), nil))
				return
			}
			file := c.Env().LogFile()
			// Disk reads stay off the actor.
			go func() {
				res, err := logs.Tail(file, p)
				if err != nil {
					c.Fail(protocol.NewError(protocol.CodeUnavailable, "log file unreadable: "+err.Error(), nil))
					return
				}
				c.Reply(res)
			}()
		}},
	}
}
