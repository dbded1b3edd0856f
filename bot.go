package parley

import (
	"context"
	"strings"
	"time"
)

// Bots are accounts owned by a user (User.BotOwner), with no password: they
// act only through API tokens with scopes. docs/bots.md describes them.

// Scope is one permission of an API token.
type Scope string

// The scopes an API token may carry. A token without a scope for an
// endpoint is refused (403) there: deny by default.
const (
	ScopeConversationsRead Scope = "conversations:read" // list and read conversations and their members, look up users
	ScopeMessagesRead      Scope = "messages:read"      // read history
	ScopeMessagesWrite     Scope = "messages:write"     // send messages
)

// Scopes lists every scope, in the order they were introduced.
var Scopes = []Scope{ScopeConversationsRead, ScopeMessagesRead, ScopeMessagesWrite}

// Valid reports whether s is a defined scope.
func (s Scope) Valid() bool {
	for _, v := range Scopes {
		if s == v {
			return true
		}
	}
	return false
}

// Allows reports whether a may use an endpoint that needs scope s: a
// session (no scopes at all) may use every endpoint; a token only those of
// its scopes.
func (a Actor) Allows(s Scope) bool {
	if a.Scopes == nil {
		return true
	}
	for _, v := range a.Scopes {
		if v == s {
			return true
		}
	}
	return false
}

// APIToken is a bot's credential: a bearer token with scopes. Only the
// SHA-256 of the token is stored.
type APIToken struct {
	ID         string     `json:"id"`
	UserID     string     `json:"bot_id"`
	Name       string     `json:"name"`
	Scopes     []Scope    `json:"scopes"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Bot limits.
const (
	BotsPerOwner      = 10
	APITokensPerBot   = 10
	APITokenPrefix    = "pb_" // API tokens are "pb_" + 43 base64url characters
	APITokenNameChars = 64
)

// CheckScopes validates a token's scope list: 1 or more defined scopes,
// each once. Errors name field "scopes".
func CheckScopes(scopes []Scope) error {
	if len(scopes) == 0 {
		return Invalid("scopes", "give the token at least one scope: %s", strings.Join(scopeNames(), ", "))
	}
	seen := map[Scope]bool{}
	for _, s := range scopes {
		if !s.Valid() {
			return Invalid("scopes", "unknown scope %q; scopes are %s", string(s), strings.Join(scopeNames(), ", "))
		}
		if seen[s] {
			return Invalid("scopes", "scope %q given twice", string(s))
		}
		seen[s] = true
	}
	return nil
}

func scopeNames() []string {
	out := make([]string, len(Scopes))
	for i, s := range Scopes {
		out[i] = string(s)
	}
	return out
}

// BotStore persists bots' tokens; bots themselves are users (UserStore)
// with BotOwner set. Missing rows are CodeNotFound.
type BotStore interface {
	// Bots lists the bots of ownerID, oldest first.
	Bots(ctx context.Context, ownerID string) ([]User, error)
	// CreateAPIToken inserts t unless its bot has APITokensPerBot already
	// (CodeConflict); CodeNotFound if the bot does not exist.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// APITokens lists a bot's tokens, newest first.
	APITokens(ctx context.Context, botID string) ([]APIToken, error)
	// APITokenUserByHash returns the token with hash h and its bot.
	APITokenUserByHash(ctx context.Context, h []byte) (APIToken, User, error)
	// TouchAPIToken records a use of token id.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	// DeleteAPIToken removes one of botID's tokens; CodeNotFound otherwise.
	DeleteAPIToken(ctx context.Context, botID, id string) error
}

// IncomingWebhook is a secret URL that posts into one conversation as a
// bot: POST /api/v1/hooks/{id}/{secret}. Only the SHA-256 of the secret is
// stored.
type IncomingWebhook struct {
	ID             string     `json:"id"`
	BotID          string     `json:"bot_id"`
	ConversationID string     `json:"conversation_id"`
	Hash           []byte     `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
}

// IncomingWebhooksPerBot bounds a bot's incoming webhooks.
const IncomingWebhooksPerBot = 20

// IncomingWebhookStore persists incoming webhooks. Missing rows are
// CodeNotFound.
type IncomingWebhookStore interface {
	// CreateIncomingWebhook inserts w unless its bot has
	// IncomingWebhooksPerBot already (CodeConflict).
	CreateIncomingWebhook(ctx context.Context, w IncomingWebhook) error
	// IncomingWebhooks lists a bot's webhooks, newest first.
	IncomingWebhooks(ctx context.Context, botID string) ([]IncomingWebhook, error)
	// UseIncomingWebhook returns the webhook with id and records its use at `at`.
	UseIncomingWebhook(ctx context.Context, id string, at time.Time) (IncomingWebhook, error)
	// DeleteIncomingWebhook removes one of botID's webhooks.
	DeleteIncomingWebhook(ctx context.Context, botID, id string) error
}
