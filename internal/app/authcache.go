package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// AuthCacheTTL bounds how long a node trusts a session and user it read for
// a bearer token. Every change to a user or their sessions (authStore) is
// forgotten at once on the node that made it and, through
// EventAuthChanged, on every other node; the TTL is the backstop for an
// event the bus lost (it is at-most-once) and for a change made outside
// any server (a `parley admin` command on the database).
const AuthCacheTTL = 10 * time.Second

// maxAuthEntries bounds the tokens kept; past it the cache drops what is
// past the TTL, and starts over if that is not enough. Entries past the
// TTL are also dropped once per TTL, so what is kept is roughly the tokens
// used in the last 10 to 20 s.
const maxAuthEntries = 50_000

// authCache keeps what SessionUserByTokenHash returned per token hash, so
// that a REST request or a reconnect with a token seen in the last
// AuthCacheTTL reads nothing. Only the read is kept: expiry, a disabled
// account and the two-factor requirement are checked on every use. A
// read begun before a change is never stored after it: gen counts forgets,
// and a put whose read began under an older gen is dropped.
type authCache struct {
	mu     sync.Mutex
	byHash map[[32]byte]authEntry
	byUser map[string][][32]byte
	gen    uint64
	swept  time.Time // when entries past the TTL were last dropped
}

type authEntry struct {
	ss parley.Session
	u  parley.User
	at time.Time
}

func tokenKey(h []byte) (k [32]byte) {
	copy(k[:], h)
	return k
}

func (c *authCache) get(h []byte, now time.Time) (parley.Session, parley.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byHash[tokenKey(h)]
	if !ok || now.Sub(e.at) >= AuthCacheTTL || now.Before(e.at) {
		return parley.Session{}, parley.User{}, false
	}
	return e.ss, e.u, true
}

func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *authCache) put(h []byte, ss parley.Session, u parley.User, at time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if at.Sub(c.swept) >= AuthCacheTTL || len(c.byHash) >= maxAuthEntries && at.Sub(c.swept) >= time.Second {
		c.sweepLocked(at) // when full, at most once a second: otherwise it starts over below
	}
	if c.byHash == nil || len(c.byHash) >= maxAuthEntries {
		c.byHash, c.byUser = map[[32]byte]authEntry{}, map[string][][32]byte{}
	}
	k := tokenKey(h)
	if _, ok := c.byHash[k]; !ok {
		c.byUser[u.ID] = append(c.byUser[u.ID], k)
	}
	c.byHash[k] = authEntry{ss: ss, u: u, at: at}
}

// sweepLocked drops the entries past the TTL at now. mu is held.
func (c *authCache) sweepLocked(now time.Time) {
	c.swept = now
	touched := map[string]bool{}
	for k, e := range c.byHash {
		if now.Sub(e.at) >= AuthCacheTTL || now.Before(e.at) {
			delete(c.byHash, k)
			touched[e.u.ID] = true
		}
	}
	for id := range touched { // one pass per user, however many tokens they have
		ks := slices.DeleteFunc(c.byUser[id], func(k [32]byte) bool { _, ok := c.byHash[k]; return !ok })
		if len(ks) == 0 {
			delete(c.byUser, id)
		} else {
			c.byUser[id] = ks
		}
	}
}

// touched records a session's new last use in its kept entry, so that the
// next use does not touch it again (the pending touch is gone once stored).
func (c *authCache) touched(h []byte, lastSeen, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tokenKey(h)
	if e, ok := c.byHash[k]; ok {
		e.ss.LastSeenAt, e.ss.ExpiresAt = lastSeen, expires
		c.byHash[k] = e
	}
}

// forget drops the entries of userID ("": all of them).
func (c *authCache) forget(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if userID == "" {
		c.byHash, c.byUser = nil, nil
		return
	}
	for _, k := range c.byUser[userID] {
		delete(c.byHash, k)
	}
	delete(c.byUser, userID)
}

// forgetFor forgets what e makes stale. a.publish calls it too, so the node
// that made a change applies it before the bus carries it.
func (c *authCache) forgetFor(e parley.Event) {
	switch e.Kind {
	case parley.EventAuthChanged:
		if id, ok := strings.CutPrefix(e.ConversationID, parley.AuthTopic("")); ok {
			c.forget(id)
		}
	}
}

// authChanged forgets userID's kept sessions ("": everyone's) here and
// tells the other nodes to (EventAuthChanged).
func (a *App) authChanged(ctx context.Context, userID string) {
	a.publish(context.WithoutCancel(ctx), parley.Event{Kind: parley.EventAuthChanged,
		ConversationID: parley.AuthTopic(userID)})
}

// authStore is the App's Store: each write that changes what
// SessionUserByTokenHash returns (a user's row, their avatar, second factor
// or sessions) forgets the user's kept reads, on success, before it returns
// (an organisation's two-factor requirement is read on every use, through
// the organisation cache).
type authStore struct {
	parley.Store
	a *App
}

// changed forgets userID's kept reads if err is nil and returns err.
func (s authStore) changed(ctx context.Context, userID string, err error) error {
	if err == nil {
		s.a.authChanged(ctx, userID)
	}
	return err
}

func (s authStore) UpdateUser(ctx context.Context, u parley.User) error {
	return s.changed(ctx, u.ID, s.Store.UpdateUser(ctx, u))
}

func (s authStore) DeleteUser(ctx context.Context, id string, at time.Time) ([]string, error) {
	ids, err := s.Store.DeleteUser(ctx, id, at)
	return ids, s.changed(ctx, id, err)
}

func (s authStore) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.changed(ctx, userID, s.Store.SetPasswordHash(ctx, userID, hash))
}

func (s authStore) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	return s.changed(ctx, userID, s.Store.SetEmailVerified(ctx, userID, email, at))
}

func (s authStore) SetPrivacySettings(ctx context.Context, userID string, p parley.PrivacySettings) error {
	return s.changed(ctx, userID, s.Store.SetPrivacySettings(ctx, userID, p))
}

func (s authStore) SetAvatar(ctx context.Context, att parley.StoredAttachment) error {
	err := s.Store.SetAvatar(ctx, att)
	if att.ConversationID != "" {
		return err
	}
	return s.changed(ctx, att.OwnerID, err)
}

func (s authStore) EnableTwoFactor(ctx context.Context, userID string, step int64, recoveryHashes [][]byte) error {
	return s.changed(ctx, userID, s.Store.EnableTwoFactor(ctx, userID, step, recoveryHashes))
}

func (s authStore) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.changed(ctx, userID, s.Store.DeleteTwoFactor(ctx, userID))
}

func (s authStore) DeleteSession(ctx context.Context, userID, id string) error {
	return s.changed(ctx, userID, s.Store.DeleteSession(ctx, userID, id))
}

func (s authStore) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]string, error) {
	ids, err := s.Store.DeleteUserSessions(ctx, userID, keepID)
	return ids, s.changed(ctx, userID, err)
}
