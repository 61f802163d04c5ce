package reload

import (
	"fmt"
	"os"
	"time"

	"openclaw/config"
	"openclaw/transport/auth"
)

// SecretFrom resolves the shared secret a config asks for (docs/PROTOCOL.md §3.3):
// config first, then OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD (an
// empty variable counts as unset). Token mode with no token at all returns
// a generated token, marked Generated, for the caller to keep for the run.
func SecretFrom(cfg *config.Config) (auth.Secret, error) {
	a := cfg.Gateway.Auth
	mode := auth.Mode(a.Mode)
	if mode == "" {
		mode = auth.ModeToken
		if a.Token == nil && a.Password != nil {
			mode = auth.ModePassword
		}
	}
	switch mode {
	case auth.ModeNone:
		return auth.Secret{Mode: mode}, nil
	case auth.ModeToken, auth.ModePassword:
	default:
		return auth.Secret{}, fmt.Errorf("gateway.auth.mode=%q: use token, password or none", a.Mode)
	}
	kind, fromCfg, envName := "token", a.Token, "OPENCLAW_GATEWAY_TOKEN"
	if mode == auth.ModePassword {
		kind, fromCfg, envName = "password", a.Password, "OPENCLAW_GATEWAY_PASSWORD"
	}
	var val string
	if fromCfg != nil {
		if err := auth.ValidateConfigured(kind, *fromCfg); err != nil {
			return auth.Secret{}, err
		}
		val = *fromCfg
	} else if env := os.Getenv(envName); env != "" {
		// An empty variable counts as unset: the runbook's systemd unit
		// ships `Environment=OPENCLAW_GATEWAY_TOKEN=`.
		if err := auth.ValidateConfigured(kind, env); err != nil {
			return auth.Secret{}, fmt.Errorf("%s: %v", envName, err)
		}
		val = env
	}
	if val == "" {
		if mode == auth.ModePassword {
			return auth.Secret{}, fmt.Errorf("gateway.auth.mode=password but no password is set (gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD)")
		}
		return auth.Secret{Mode: mode, Value: auth.GenerateToken(), Generated: true}, nil
	}
	return auth.Secret{Mode: mode, Value: val}, nil
}

// RateLimitFrom reads gateway.auth.rateLimit over the defaults.
func RateLimitFrom(cfg *config.Config) auth.RateLimit {
	p := auth.DefaultRateLimit
	if r := cfg.Gateway.Auth.RateLimit; r != nil {
		if r.MaxAttempts != nil {
			p.MaxAttempts = *r.MaxAttempts
		}
		if r.WindowMs != nil {
			p.Window = time.Duration(*r.WindowMs) * time.Millisecond
		}
		if r.LockoutMs != nil {
			p.Lockout = time.Duration(*r.LockoutMs) * time.Millisecond
		}
		if r.ExemptLoopback != nil {
			p.ExemptLoopback = *r.ExemptLoopback
		}
	}
	return p
}
