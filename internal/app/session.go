package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// Bearer tokens are 32 random bytes (256 bits) encoded as unpadded base64url:
// 43 characters. Only their SHA-256 is stored.
const (
	tokenBytes = 32
	tokenLen   = 43
)

// Limits on the session metadata recorded from the client; longer values are
// truncated, control characters dropped (this is not user-chosen content).
const (
	maxUserAgentLen = 256
	maxAddressLen   = 64
)

// touchEvery throttles last-seen writes: a session's LastSeenAt (and with it
// ExpiresAt) is written at most once per this interval.
const touchEvery = time.Minute

// pruneEvery is how often sign-ins sweep expired sessions from the store.
const pruneEvery = time.Hour

// newToken returns a fresh bearer token and its stored hash.
func newToken() (string, []byte) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// tokenForm reports whether tok could be a token newToken made.
func tokenForm(tok string) bool {
	if len(tok) != tokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func unauthenticated(msg string) error {
	return &parley.Error{Code: parley.CodeUnauthenticated, Message: msg}
}

// Authenticate resolves a bearer token to its Actor. It returns
// CodeUnauthenticated for a missing, malformed, unknown, revoked or expired
// token and for a disabled account; CodeUnavailable if the store is down.
// It records the session's last use at most once a minute, sliding its
// expiry to SessionTTL after that use.
//
// Authenticate also takes a bot's API token ("pb_…", bot.go): the Actor
// then carries the token's Scopes, which the REST layer checks per endpoint.
func (a *App) Authenticate(ctx context.Context, token string) (parley.Actor, error) {
	if strings.HasPrefix(token, parley.APITokenPrefix) {
		actor, _, err := a.authenticateToken(ctx, token)
		return actor, err
	}
	actor, _, err := a.AuthenticateUser(ctx, token)
	return actor, err
}

// AuthenticateUser is Authenticate that also returns the caller's account
// (for the WebSocket ready frame), read with the session in one query.
// It takes sessions only: the real-time gateways (WebSocket, MQTT) have no
// per-operation scopes, so API tokens are refused there.
func (a *App) AuthenticateUser(ctx context.Context, token string) (parley.Actor, parley.User, error) {
	if token == "" {
		return parley.Actor{}, parley.User{}, unauthenticated("sign in first: send Authorization: Bearer <token>")
	}
	if strings.HasPrefix(token, parley.APITokenPrefix) {
		return parley.Actor{}, parley.User{}, unauthenticated("API tokens work only with the REST endpoints of their scopes, not here")
	}
	if !tokenForm(token) {
		return parley.Actor{}, parley.User{}, unauthenticated("the token is malformed")
	}
	h := hashToken(token)
	now := a.now()
	ss, u, ok := a.auth.get(h, now)
	if ok && !now.Before(a.withPendingTouch(ss).ExpiresAt) {
		ok = false // another node may have used it since: read it before ending it
	}
	if !ok {
		// Sessions are deleted with their user, so a session always has one.
		gen := a.auth.generation()
		var err error
		ss, u, err = a.store.SessionUserByTokenHash(ctx, h)
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Actor{}, parley.User{}, unauthenticated("the token is invalid or was revoked")
		}
		if err != nil {
			return parley.Actor{}, parley.User{}, err
		}
		a.auth.put(h, ss, u, now, gen)
	}
	ss = a.withPendingTouch(ss)
	if !now.Before(ss.ExpiresAt) {
		if err := a.store.DeleteSession(ctx, ss.UserID, ss.ID); err != nil && !parley.IsCode(err, parley.CodeNotFound) {
			a.log.Warn("delete expired session", "session_id", ss.ID, "err", err)
		}
		return parley.Actor{}, parley.User{}, unauthenticated("the session has expired; sign in again")
	}
	if u.Disabled {
		return parley.Actor{}, parley.User{}, unauthenticated("the account is disabled")
	}
	if !u.TwoFactor && a.twoFactorRequired(ctx, u) {
		return parley.Actor{}, parley.User{}, unauthenticated("two-factor sign-in is required here; sign in again to set it up")
	}
	if now.Sub(ss.LastSeenAt) >= touchEvery {
		expires := now.Add(a.limits.SessionTTL)
		a.touchSession(ss.ID, now, expires) // written within touchDelay (sessiontouch.go)
		a.auth.touched(h, now, expires)
	}
	return parley.Actor{UserID: u.ID, SessionID: ss.ID, Role: u.Role, Org: u.Org}, u, nil
}

// createSession signs userID in on a new session and returns its token.
func (a *App) createSession(ctx context.Context, userID, userAgent, address string) (parley.Session, string, error) {
	a.pruneSessions(ctx)
	tok, h := newToken()
	now := a.now().UTC().Truncate(time.Millisecond)
	ss := parley.Session{
		ID:         parley.NewID(),
		UserID:     userID,
		TokenHash:  h,
		UserAgent:  clientText(userAgent, maxUserAgentLen),
		Address:    clientText(address, maxAddressLen),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(a.limits.SessionTTL),
		Current:    true,
	}
	if err := a.store.CreateSession(ctx, ss); err != nil {
		return parley.Session{}, "", err
	}
	return ss, tok, nil
}

// pruneSessions deletes expired sessions, at most once per pruneEvery.
func (a *App) pruneSessions(ctx context.Context) {
	now := a.now()
	a.acct.pruneMu.Lock()
	due := now.Sub(a.acct.lastPrune) >= pruneEvery
	if due {
		a.acct.lastPrune = now
	}
	a.acct.pruneMu.Unlock()
	if !due {
		return
	}
	n, err := a.store.DeleteExpiredSessions(ctx, now)
	if err != nil {
		a.log.Warn("prune expired sessions", "err", err)
	} else if n > 0 {
		a.log.Info("pruned expired sessions", "count", n)
	}
	if n, err := a.store.DeleteExpiredLoginChallenges(ctx, now); err != nil {
		a.log.Warn("prune expired sign-in challenges", "err", err)
	} else if n > 0 {
		a.log.Info("pruned expired sign-in challenges", "count", n)
	}
}

// clientText makes client-supplied metadata safe to store and show: valid
// UTF-8, no control characters, at most max bytes.
func clientText(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidi(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.TrimSpace(s)
}

func isBidi(r rune) bool { return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 }

// Logout revokes the caller's session. The token stops working at once and
// an EventSessionRevoked naming the session is published so that real-time
// connections opened with it close.
func (a *App) Logout(ctx context.Context, actor parley.Actor) error {
	if actor.Anonymous() || actor.SessionID == "" {
		return unauthenticated("sign in first")
	}
	if err := a.store.DeleteSession(ctx, actor.UserID, actor.SessionID); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return unauthenticated("the session was already revoked")
		}
		return err
	}
	a.publishRevoked(ctx, nil, []string{actor.SessionID}, "logout")
	return nil
}

// Sessions lists the caller's unexpired sessions, newest first, marking the
// one making the request Current.
func (a *App) Sessions(ctx context.Context, actor parley.Actor) ([]parley.Session, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	all, err := a.store.Sessions(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]parley.Session, 0, len(all))
	for _, ss := range all {
		ss = a.withPendingTouch(ss)
		if !now.Before(ss.ExpiresAt) {
			continue
		}
		ss.Current = ss.ID == actor.SessionID
		out = append(out, ss)
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions (possibly the current
// one). CodeNotFound if id is not a session of the caller — someone else's
// session id is indistinguishable from a made-up one.
func (a *App) RevokeSession(ctx context.Context, actor parley.Actor, id string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "session not found")
	}
	if err := a.store.DeleteSession(ctx, actor.UserID, id); err != nil {
		return err
	}
	a.publishRevoked(ctx, nil, []string{id}, "revoked")
	return nil
}

// publishRevoked tells gateways to close the connections of the given
// sessions, or of every session of the given users. Frame is
// {"type":"session_revoked","reason":"…"}; reasons: logout, revoked,
// password_changed, account_disabled.
func (a *App) publishRevoked(ctx context.Context, userIDs, sessionIDs []string, reason string) {
	if len(userIDs) == 0 && len(sessionIDs) == 0 {
		return
	}
	frame, _ := json.Marshal(struct {
		Type   parley.EventKind `json:"type"`
		Reason string           `json:"reason"`
	}{parley.EventSessionRevoked, reason})
	a.publish(context.WithoutCancel(ctx), parley.Event{
		Kind: parley.EventSessionRevoked, UserIDs: userIDs, SessionIDs: sessionIDs, Frame: frame,
	})
}

// accounts is the App's sign-in state.
type accounts struct {
	pw        *hasher
	loginUser *Limiter // failed sign-ins per canonical username
	loginAddr *Limiter // failed sign-ins per client address

	pruneMu   sync.Mutex
	lastPrune time.Time

	scramSecret []byte // per process: the fake SCRAM salts of unknown accounts (scram.go)
}

func newAccounts(o PasswordOptions, l Limits, now func() time.Time) *accounts {
	perSec := func(n int) float64 { return float64(n) / l.LoginWindow.Seconds() }
	return &accounts{
		pw:        newHasher(o),
		loginUser: NewLimiter(perSec(l.LoginFailuresPerUser), l.LoginFailuresPerUser, now),
		loginAddr: NewLimiter(perSec(l.LoginFailuresPerAddr), l.LoginFailuresPerAddr, now),

		scramSecret: randomKey(),
	}
}

// randomKey returns 32 random bytes.
func randomKey() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	return b
}
