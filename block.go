package parley

import (
	"context"
	"strings"
	"time"
)

// Block is one user the caller has blocked. Blocking is one-sided to set up
// and two-sided in effect: neither user can message the other directly,
// invite or add the other, send the other a contact request, or see the
// other's presence, typing or receipts (docs/moderation.md).
type Block struct {
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxBlocks bounds how many users one user may block.
const MaxBlocks = 10000

// BlockStore persists blocks. Missing users are CodeNotFound.
type BlockStore interface {
	// BlockUser records that blockerID blocks blockedID. Blocking again is a
	// no-op that keeps the first time. CodeNotFound for an unknown user.
	BlockUser(ctx context.Context, blockerID, blockedID string, at time.Time) error
	// UnblockUser removes the block. CodeNotFound when there is none.
	UnblockUser(ctx context.Context, blockerID, blockedID string) error
	// Blocks lists the users blockerID blocks, oldest first.
	Blocks(ctx context.Context, blockerID string) ([]Block, error)
	// BlockPeers returns the users userID blocks or is blocked by (each
	// once, in no particular order).
	BlockPeers(ctx context.Context, userID string) ([]string, error)
}

// ErrBlocked is the refusal of something one user of a blocked pair tries
// to do to the other (a direct message, an invitation, a contact request).
// It does not say which of the two blocked the other.
func ErrBlocked(field string) *Error {
	return &Error{Code: CodeForbidden, Field: field,
		Message: "blocked: you and this user cannot reach each other (one of you blocked the other)"}
}

// AdmitBlock decides whether blockerID may block blockedID, given how many
// users the blocker blocks already: not oneself (CodeInvalid, field
// user_id), at most MaxBlocks (CodeTooLarge).
func AdmitBlock(blockerID, blockedID string, count int) error {
	if blockerID == blockedID {
		return Invalid("user_id", "you cannot block yourself")
	}
	if count >= MaxBlocks {
		return TooLarge("user_id", "you can block at most %d users", MaxBlocks)
	}
	return nil
}

// DirectPeer returns the other user of the direct conversation whose
// DirectKey is key, seen from userID ("" when userID is not one of them).
func DirectPeer(key, userID string) string {
	key = strings.TrimSuffix(key, encryptedDirectSuffix)
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			a, b := key[:i], key[i+1:]
			switch userID {
			case a:
				return b
			case b:
				return a
			}
			return ""
		}
	}
	return ""
}
