package httpapi

import (
	"github.com/parley-chat/parley"
)

// routeScopes says which scope an API token (a bot's, docs/bots.md) needs
// for each endpoint it may use at all. Every other endpoint — account and
// admin endpoints, the WebSocket, uploads, anything added later — is
// refused to API tokens: deny by default, so a new endpoint is closed to
// tokens until it is listed here. Sessions (no scopes) are not affected.
// What a bot may then do in a conversation is decided by internal/app like
// for anyone: the bot must be a member.
var routeScopes = map[string]parley.Scope{
	"GET /api/v1/me":                                                     "",
	"GET /api/v1/users":                                                  parley.ScopeConversationsRead,
	"GET /api/v1/users/{id}":                                             parley.ScopeConversationsRead,
	"GET /api/v1/conversations":                                          parley.ScopeConversationsRead,
	"GET /api/v1/conversations/{id}":                                     parley.ScopeConversationsRead,
	"GET /api/v1/conversations/{id}/members":                             parley.ScopeConversationsRead,
	"GET /api/v1/conversations/{id}/messages":                            parley.ScopeMessagesRead,
	"GET /api/v1/conversations/{id}/messages/{seq}":                      parley.ScopeMessagesRead,
	"POST /api/v1/conversations/{id}/messages":                           parley.ScopeMessagesWrite,
	"POST /api/v1/conversations/{id}/read":                               parley.ScopeMessagesRead,
	"POST /api/v1/conversations/{id}/delivered":                          parley.ScopeMessagesRead,
	"PUT /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}":    parley.ScopeMessagesWrite,
	"DELETE /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}": parley.ScopeMessagesWrite,
}

// tokenMayUse refuses an API token an endpoint outside its scopes (403,
// naming the scope it would need).
func tokenMayUse(actor parley.Actor, pattern string) error {
	if actor.Scopes == nil {
		return nil
	}
	need, listed := routeScopes[pattern]
	if !listed {
		return parley.Errorf(parley.CodeForbidden, "API tokens cannot use this endpoint")
	}
	if need != "" && !actor.Allows(need) {
		return parley.Errorf(parley.CodeForbidden, "this token lacks the %s scope", need)
	}
	return nil
}
