package parley

import "context"

// ScramStore keeps each account's SCRAM-SHA-256 verifier (the XMPP
// gateway's SASL SCRAM, docs/xmpp.md): "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
// (base64), or "" when none has been derived yet. It is not the password:
// it lets a server check a SCRAM proof, not sign in.
type ScramStore interface {
	// ScramKeys returns the user's verifier ("" if none); CodeNotFound if
	// the user does not exist.
	ScramKeys(ctx context.Context, userID string) (string, error)
	// SetScramKeys stores the verifier derived from the password whose hash
	// is passwordHash, only if that is still the user's password hash, so a
	// verifier of an old password never overwrites a newer password's state.
	// CodeNotFound if the user does not exist (or the hash has changed).
	SetScramKeys(ctx context.Context, userID, passwordHash, keys string) error
}
