package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the message endpoints; documented in
// openapi/message.json.
type (
	sendMessageRequest struct {
		ClientMsgID string `json:"client_msg_id"`
		Body        string `json:"body"`
		ReplyTo     int64  `json:"reply_to"`
		// AttachmentIDs are uploaded, unsent files (attachment.go).
		AttachmentIDs []string `json:"attachment_ids"`
		// E2EE is the envelope of an encrypted conversation's message (docs/e2ee.md).
		E2EE json.RawMessage `json:"e2ee"`
	}
	editMessageRequest struct {
		Body string          `json:"body"`
		E2EE json.RawMessage `json:"e2ee"`
	}
	messageList struct {
		Messages []parley.Message `json:"messages"`
	}
	versionList struct {
		Versions []parley.MessageVersion `json:"versions"`
	}
	reactionList struct {
		Reactions []parley.Reaction `json:"reactions"`
	}
)

// messageRoutes registers the message endpoints.
func (s *Server) messageRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("POST /api/v1/conversations/{id}/messages", s.sendMessage)
	h("GET /api/v1/conversations/{id}/messages", s.listMessages)
	h("GET /api/v1/conversations/{id}/messages/{seq}", s.getMessage)
	h("PATCH /api/v1/conversations/{id}/messages/{seq}", s.editMessage)
	h("DELETE /api/v1/conversations/{id}/messages/{seq}", s.deleteMessage)
	h("GET /api/v1/conversations/{id}/messages/{seq}/versions", s.messageVersions)
	h("PUT /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}", s.react(true))
	h("DELETE /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}", s.react(false))
}

func pathSeq(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || n <= 0 {
		return 0, parley.Invalid("seq", "seq must be a positive integer")
	}
	return n, nil
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req sendMessageRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, created, err := s.app.SendMessage(r.Context(), actor, app.SendMessageInput{ConversationID: r.PathValue("id"),
		ClientMsgID: req.ClientMsgID, Body: req.Body, ReplyTo: req.ReplyTo, AttachmentIDs: req.AttachmentIDs,
		E2EE: req.E2EE})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		if s.metrics != nil {
			s.metrics.AddMessagesIn(1)
		}
	}
	writeJSON(w, status, m)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var in app.HistoryInput
	var err error
	if in.Before, err = queryInt(r, "before"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.After, err = queryInt(r, "after"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Limit, err = queryLimit(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	// No cursor at all: the newest page (newest first); after=0 is the start.
	q := r.URL.Query()
	in.Latest = q.Get("before") == "" && q.Get("after") == ""
	ms, err := s.app.History(r.Context(), actor, r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeMessageList(w, ms)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	seq, err := pathSeq(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.app.Message(r.Context(), actor, r.PathValue("id"), seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	seq, err := pathSeq(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req editMessageRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.app.EditMessageE2EE(r.Context(), actor, r.PathValue("id"), seq, req.Body, req.E2EE)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	seq, err := pathSeq(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.app.DeleteMessage(r.Context(), actor, r.PathValue("id"), seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) messageVersions(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	seq, err := pathSeq(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, err := s.app.MessageVersions(r.Context(), actor, r.PathValue("id"), seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, versionList{Versions: vs})
}

func (s *Server) react(add bool) func(http.ResponseWriter, *http.Request, parley.Actor) {
	return func(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
		seq, err := pathSeq(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		rs, err := s.app.React(r.Context(), actor, r.PathValue("id"), seq, r.PathValue("emoji"), add)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, reactionList{Reactions: rs})
	}
}
