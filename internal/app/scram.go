package app

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) for the XMPP gateway. Parley keeps
// argon2id hashes, which a SCRAM exchange cannot use, so each account also
// gets a SCRAM verifier (salt, iteration count, StoredKey, ServerKey) derived
// from the plaintext password whenever the server sees it: at registration,
// at a password change and at the next successful password sign-in on any
// transport (REST, web, XMPP PLAIN). A new password hash clears the verifier
// (ScramStore), so an old password never keeps working over SCRAM.
//
// The verifier is weaker against offline guessing than argon2id (PBKDF2 with
// ScramIterations rounds): docs/xmpp.md says so. Deriving it is opt-in
// (Options.ScramKeys, set when the XMPP gateway is on).

// ScramIterations is the PBKDF2-HMAC-SHA-256 iteration count of new verifiers.
const ScramIterations = 4096

const scramPrefix = "SCRAM-SHA-256$"

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// DeriveScram returns the verifier of password with a fresh random salt.
func DeriveScram(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	return deriveScram(password, salt, ScramIterations)
}

func deriveScram(password string, salt []byte, iter int) string {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		panic("parley: pbkdf2: " + err.Error())
	}
	stored := sha256.Sum256(hmacSHA256(salted, "Client Key"))
	server := hmacSHA256(salted, "Server Key")
	enc := base64.StdEncoding.EncodeToString
	return scramPrefix + strconv.Itoa(iter) + ":" + enc(salt) + "$" + enc(stored[:]) + ":" + enc(server)
}

// scramVerifier is a parsed verifier.
type scramVerifier struct {
	iter              int
	salt, stored, srv []byte
}

func parseScram(s string) (scramVerifier, error) {
	bad := fmt.Errorf("malformed SCRAM verifier")
	rest, ok := strings.CutPrefix(s, scramPrefix)
	if !ok {
		return scramVerifier{}, bad
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return scramVerifier{}, bad
	}
	it, salt, ok1 := strings.Cut(params, ":")
	st, sv, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return scramVerifier{}, bad
	}
	var v scramVerifier
	var err error
	if v.iter, err = strconv.Atoi(it); err != nil || v.iter < 1 {
		return scramVerifier{}, bad
	}
	dec := base64.StdEncoding.DecodeString
	if v.salt, err = dec(salt); err != nil {
		return scramVerifier{}, bad
	}
	if v.stored, err = dec(st); err != nil || len(v.stored) != sha256.Size {
		return scramVerifier{}, bad
	}
	if v.srv, err = dec(sv); err != nil || len(v.srv) != sha256.Size {
		return scramVerifier{}, bad
	}
	return v, nil
}

// saveScram stores the verifier of password for userID (whose current hash
// is hash) when verifiers are on. Failure is logged only: SCRAM then fails
// for the account until the next password sign-in, PLAIN still works.
func (a *App) saveScram(ctx context.Context, userID, hash, password string) {
	if !a.scram {
		return
	}
	if err := a.store.SetScramKeys(context.WithoutCancel(ctx), userID, hash, DeriveScram(password)); err != nil {
		a.log.Warn("store SCRAM verifier", "user_id", userID, "err", err)
	}
}

// ensureScram derives the verifier after a successful password sign-in if
// the account has none yet.
func (a *App) ensureScram(ctx context.Context, userID, hash, password string) {
	if !a.scram {
		return
	}
	if k, err := a.store.ScramKeys(ctx, userID); err == nil && k == "" {
		a.saveScram(ctx, userID, hash, password)
	}
}

// ScramLogin is one SCRAM-SHA-256 sign-in between its two messages: it
// holds the salt and iteration count the server sends in its first message.
// It is created by BeginScram and used once by FinishScram.
type ScramLogin struct {
	Salt       []byte
	Iterations int

	userKey, addrKey string
	refund           func(user, addr bool)
	user             parley.User
	v                scramVerifier
	known            bool
	done             bool
}

// BeginScram starts a SCRAM sign-in for username from address. It answers
// the same way (a salt, ScramIterations) for unknown accounts and accounts
// without a verifier, so the exchange does not reveal which accounts exist.
// Errors: CodeInvalid for a malformed username, CodeRateLimited (with
// RetryAfter) when the account or the address has used its sign-in budget
// (the same budget as Login), CodeUnavailable when the store is down.
func (a *App) BeginScram(ctx context.Context, username, address string) (*ScramLogin, error) {
	name, err := parley.CanonicalUsername(username)
	if err != nil {
		return nil, err
	}
	refund, err := a.reserveAttempt(name, address)
	if err != nil {
		return nil, err
	}
	l := &ScramLogin{userKey: name, addrKey: address, refund: refund, Iterations: ScramIterations}
	u, err := a.store.UserByUsername(ctx, name)
	if err == nil {
		var k string
		if k, err = a.store.ScramKeys(ctx, u.ID); err == nil && k != "" {
			if v, perr := parseScram(k); perr == nil {
				l.user, l.v, l.known = u, v, true
				l.Salt, l.Iterations = v.salt, v.iter
			}
		}
	}
	if err != nil && !parley.IsCode(err, parley.CodeNotFound) {
		refund(true, true)
		return nil, err
	}
	if !l.known {
		l.Salt = hmacSHA256(a.acct.scramSecret, name)[:16]
	}
	return l, nil
}

// FinishScram checks the client's proof over authMessage (RFC 5802 §3) and
// on success signs the user in with a new session, returning the account,
// the session's bearer token and the ServerSignature the server sends back.
// Errors: CodeUnauthenticated for a wrong proof (or an unknown account, or
// one without a verifier; counted as a failed sign-in), CodeForbidden for a
// disabled account, CodeInvalid if l was already used.
func (a *App) FinishScram(ctx context.Context, l *ScramLogin, authMessage string, proof []byte, userAgent string) (parley.User, string, []byte, error) {
	if l == nil || l.done {
		return parley.User{}, "", nil, parley.Invalid("scram", "this SCRAM exchange is over")
	}
	l.done = true
	if !l.known || len(proof) != sha256.Size {
		return parley.User{}, "", nil, errBadCredentials()
	}
	sig := hmacSHA256(l.v.stored, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ sig[i]
	}
	sum := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(sum[:], l.v.stored) != 1 {
		return parley.User{}, "", nil, errBadCredentials()
	}
	a.acct.loginUser.Reset(l.userKey)
	l.refund(false, true)
	// Re-read the account: it may have been disabled since BeginScram.
	u, err := a.store.User(ctx, l.user.ID)
	if err != nil {
		return parley.User{}, "", nil, err
	}
	if u.Disabled {
		return parley.User{}, "", nil, parley.Errorf(parley.CodeForbidden, "this account is disabled")
	}
	if u.TwoFactor || a.twoFactorRequired(ctx, u) {
		return parley.User{}, "", nil, errSecondFactorNeeded()
	}
	_, tok, err := a.createSession(ctx, u.ID, userAgent, l.addrKey)
	if err != nil {
		return parley.User{}, "", nil, err
	}
	return u, tok, hmacSHA256(l.v.srv, authMessage), nil
}
