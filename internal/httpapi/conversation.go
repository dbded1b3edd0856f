package httpapi

import (
	"net/http"
	"strconv"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the conversation endpoints; documented in
// openapi/conversation.json.
type (
	createConversationRequest struct {
		Kind      parley.ConversationKind `json:"kind"`
		Title     string                  `json:"title"`
		Topic     string                  `json:"topic"`
		MemberIDs []string                `json:"member_ids"`
		Public    bool                    `json:"public"`
		Broadcast bool                    `json:"broadcast"`
		Encrypted bool                    `json:"encrypted"`
	}
	updateConversationRequest struct {
		Title     *string `json:"title"`
		Topic     *string `json:"topic"`
		AvatarURL *string `json:"avatar_url"`
	}
	conversationList struct {
		Conversations []parley.ConversationEntry `json:"conversations"`
		NextCursor    string                     `json:"next_cursor,omitempty"`
	}
	channelList struct {
		Channels   []parley.Conversation `json:"channels"`
		NextCursor string                `json:"next_cursor,omitempty"`
	}
	memberList struct {
		Members    []parley.Member `json:"members"`
		NextCursor string          `json:"next_cursor,omitempty"`
	}
	addMembersRequest struct {
		UserIDs []string `json:"user_ids"`
	}
	updateMemberRequest struct {
		Role     *parley.MemberRole `json:"role"`
		Muted    *bool              `json:"muted"`
		Pinned   *bool              `json:"pinned"`
		Archived *bool              `json:"archived"`
	}
)

// conversationRoutes registers the conversation endpoints.
func (s *Server) conversationRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("POST /api/v1/conversations", s.createConversation)
	h("GET /api/v1/conversations", s.listConversations)
	h("GET /api/v1/channels", s.listChannels)
	h("GET /api/v1/conversations/{id}", s.getConversation)
	h("PATCH /api/v1/conversations/{id}", s.patchConversation)
	h("GET /api/v1/conversations/{id}/members", s.listMembers)
	h("POST /api/v1/conversations/{id}/members", s.addMembers)
	h("PATCH /api/v1/conversations/{id}/members/{user_id}", s.patchMember)
	h("DELETE /api/v1/conversations/{id}/members/{user_id}", s.removeMember)
}

// queryInt parses an optional integer query parameter (0 when absent).
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, parley.Invalid(name, "%s must be an integer", name)
	}
	return n, nil
}

func queryLimit(r *http.Request) (int, error) {
	n, err := queryInt(r, "limit")
	if err != nil {
		return 0, err
	}
	if n > 1<<20 || n < -1<<20 {
		return 0, parley.Invalid("limit", "limit is out of range")
	}
	return int(n), nil
}

// memberUserID resolves the {user_id} path value; "me" is the caller.
func memberUserID(r *http.Request, actor parley.Actor) string {
	if id := r.PathValue("user_id"); id != "me" {
		return id
	}
	return actor.UserID
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createConversationRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, created, err := s.app.CreateConversation(r.Context(), actor, app.CreateConversationInput{Kind: req.Kind,
		Title: req.Title, Topic: req.Topic, MemberIDs: req.MemberIDs, Public: req.Public, Broadcast: req.Broadcast,
		Encrypted: req.Encrypted})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, c)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.app.ListConversations(r.Context(), actor, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationList{Conversations: list, NextCursor: next})
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	list, next, err := s.app.PublicChannels(r.Context(), actor, q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, channelList{Channels: list, NextCursor: next})
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	e, member, err := s.app.ConversationEntry(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !member {
		writeJSON(w, http.StatusOK, e.Conversation)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req updateConversationRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.app.UpdateConversation(r.Context(), actor, r.PathValue("id"),
		app.ConversationUpdate{Title: req.Title, Topic: req.Topic, AvatarURL: req.AvatarURL})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, next, err := s.app.Members(r.Context(), actor, r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberList{Members: ms, NextCursor: next})
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req addMembersRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.app.AddMembers(r.Context(), actor, r.PathValue("id"), req.UserIDs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberList{Members: ms})
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req updateMemberRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.app.UpdateMember(r.Context(), actor, r.PathValue("id"), memberUserID(r, actor),
		app.MemberUpdate{Role: req.Role, Muted: req.Muted, Pinned: req.Pinned, Archived: req.Archived})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.RemoveMember(r.Context(), actor, r.PathValue("id"), memberUserID(r, actor)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
