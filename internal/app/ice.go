package app

import (
	"context"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// ICEOptions are the STUN/TURN servers handed to calling clients
// (docs/calls.md): the embedded TURN server's URLs and any external ones,
// and the secret shared with the TURN servers (TURN REST API credentials).
type ICEOptions struct {
	URLs   []string      // stun:, turn: and turns: URLs
	Secret string        // HMAC secret; without it turn: URLs get no credentials and are left out
	TTL    time.Duration // credential lifetime; default DefaultTURNTTL
}

// DefaultTURNTTL is how long TURN credentials last by default. A TURN
// server checks them again on every refresh of a relay, so they must
// outlive the longest call (parley.MaxCallDuration).
const DefaultTURNTTL = parley.MaxCallDuration

// ICEServers returns the STUN/TURN servers for actor's calls, the TURN ones
// with fresh credentials for actor ("<expiry>:<user id>", HMAC-SHA1). The
// list is empty when none are configured: peers then connect directly.
func (a *App) ICEServers(_ context.Context, actor parley.Actor) (parley.ICEConfig, error) {
	if actor.Anonymous() {
		return parley.ICEConfig{}, unauthenticated("sign in first")
	}
	o := a.ice
	cfg := parley.ICEConfig{ICEServers: []parley.ICEServer{}}
	var stun, turn []string
	for _, u := range o.URLs {
		if strings.HasPrefix(u, "stun:") || strings.HasPrefix(u, "stuns:") {
			stun = append(stun, u)
		} else if o.Secret != "" {
			turn = append(turn, u)
		}
	}
	if len(stun) > 0 {
		cfg.ICEServers = append(cfg.ICEServers, parley.ICEServer{URLs: stun})
	}
	if len(turn) > 0 {
		ttl := o.TTL
		if ttl <= 0 {
			ttl = DefaultTURNTTL
		}
		exp := a.now().UTC().Add(ttl).Truncate(time.Second)
		user, pass := parley.TURNCredentials(o.Secret, actor.UserID, exp)
		cfg.ICEServers = append(cfg.ICEServers, parley.ICEServer{URLs: turn, Username: user, Credential: pass})
		cfg.ExpiresAt = &exp
	}
	return cfg, nil
}
