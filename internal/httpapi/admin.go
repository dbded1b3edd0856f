package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the admin endpoints (openapi/admin.json).
type (
	adminCreateUserRequest struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
		Email       string `json:"email"`
		Role        string `json:"role"`
		// Organisation is the slug of the account's organisation (""
		// the admin's own).
		Organisation string `json:"organisation"`
	}
	resetPasswordRequest struct {
		Password string `json:"password"`
	}
	resetPasswordResponse struct {
		Password string `json:"password,omitempty"`
	}
	setRoleRequest struct {
		Role string `json:"role"`
	}
	createInviteRequest struct {
		MaxUses          int    `json:"max_uses"`
		ExpiresInSeconds int64  `json:"expires_in_seconds"`
		Note             string `json:"note"`
		OrgID            string `json:"org_id"` // "": the admin's own organisation
	}
	inviteList struct {
		Invites []parley.Invite `json:"invites"`
	}
	auditList struct {
		Entries    []parley.AuditEntry `json:"entries"`
		NextBefore string              `json:"next_before,omitempty"`
	}
)

type operatorKey struct{}

// OperatorHandler is the API for the operator: every authenticated route
// acts as app.Operator (an admin that is no user) without a token. Serve it
// only where the operating-system account that runs the server alone can
// reach it (the node's admin unix socket, or in-process).
func (s *Server) OperatorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, true)))
	})
}

func isOperator(r *http.Request) bool { v, _ := r.Context().Value(operatorKey{}).(bool); return v }

// adminRoutes registers the admin endpoints (admins only; 403 forbidden for
// everyone else).
func (s *Server) adminRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/admin/overview", s.adminOverview)
	h("GET /api/v1/admin/users", s.adminListUsers)
	h("POST /api/v1/admin/users", s.adminCreateUser)
	h("GET /api/v1/admin/users/{id}", s.adminGetUser)
	h("DELETE /api/v1/admin/users/{id}", s.adminDeleteUser)
	h("GET /api/v1/admin/users/{id}/sessions", s.adminUserSessions)
	h("POST /api/v1/admin/users/{id}/password", s.adminResetPassword)
	h("POST /api/v1/admin/users/{id}/role", s.adminSetRole)
	h("GET /api/v1/admin/invites", s.adminListInvites)
	h("POST /api/v1/admin/invites", s.adminCreateInvite)
	h("POST /api/v1/admin/invites/{id}/revoke", s.adminRevokeInvite)
	h("GET /api/v1/admin/audit", s.adminAudit)
}

func (s *Server) adminOverview(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	o, err := s.app.Overview(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// adminLimit parses an optional limit parameter of 1..max (0 when absent).
func adminLimit(r *http.Request, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, parley.Invalid("limit", "limit must be an integer between 1 and %d", max)
	}
	return n, nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := adminLimit(r, app.MaxSearchLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	users, next, err := s.app.ListUsers(r.Context(), actor, app.SearchUsersInput{Prefix: q.Get("prefix"), After: q.Get("after"), Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userList{Users: users, NextAfter: next})
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req adminCreateUserRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	role := parley.UserRole(req.Role)
	if req.Role == "" {
		role = parley.UserRoleUser
	}
	u, err := s.app.AdminCreateUser(r.Context(), actor, app.RegisterInput{Username: req.Username, Password: req.Password,
		DisplayName: req.DisplayName, Email: req.Email, Org: req.Organisation}, role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.AdminUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteUser(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.UserSessions(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionList{Sessions: list})
}

func (s *Server) adminResetPassword(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req resetPasswordRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	pw, err := s.app.ResetPassword(r.Context(), actor, r.PathValue("id"), req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resetPasswordResponse{Password: pw})
}

func (s *Server) adminSetRole(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req setRoleRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.app.SetRole(r.Context(), actor, r.PathValue("id"), parley.UserRole(req.Role))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) adminListInvites(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.Invites(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inviteList{Invites: list})
}

func (s *Server) adminCreateInvite(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createInviteRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > int64(app.InviteMaxTTL/time.Second) {
		s.writeError(w, r, parley.Invalid("expires_in_seconds", "expires_in_seconds must be between 0 (never) and %d",
			int64(app.InviteMaxTTL/time.Second)))
		return
	}
	inv, err := s.app.CreateInvite(r.Context(), actor, app.InviteInput{MaxUses: req.MaxUses,
		ExpiresIn: time.Duration(req.ExpiresInSeconds) * time.Second, Note: req.Note, Org: req.OrgID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, inv)
}

func (s *Server) adminRevokeInvite(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	inv, err := s.app.RevokeInvite(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inv)
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := adminLimit(r, app.MaxAuditLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if limit == 0 {
		limit = app.DefaultAuditLimit
	}
	q := r.URL.Query()
	aq := parley.AuditQuery{TargetID: q.Get("target_id"), ActorID: q.Get("actor_id"), ConversationID: q.Get("conversation_id"),
		Action: q.Get("action"), Before: q.Get("before"), Limit: limit}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeError(w, r, parley.Invalid(t.name, "%s must be an RFC 3339 time (2026-01-31T12:00:00Z)", t.name))
				return
			}
			*t.to = at
		}
	}
	entries, err := s.app.Audit(r.Context(), actor, aq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := auditList{Entries: entries}
	if len(entries) == limit {
		out.NextBefore = entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}
