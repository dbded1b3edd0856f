package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

// Request and response bodies of the people and contact endpoints;
// documented in openapi/contact.json.
type (
	contactRequestBody struct {
		UserID string `json:"user_id"`
	}
	contactRequestResult struct {
		Accepted bool `json:"accepted"` // true: the user had asked you already; you are contacts now
	}
	contactRequestList struct {
		Incoming []parley.ContactRequest `json:"incoming"`
		Outgoing []parley.ContactRequest `json:"outgoing"`
	}
	contactList struct {
		Contacts   []parley.Contact `json:"contacts"`
		NextCursor string           `json:"next_cursor,omitempty"`
	}
	suggestionList struct {
		Suggestions []parley.ContactSuggestion `json:"suggestions"`
	}
	peopleList struct {
		Users []parley.User `json:"users"`
	}
)

// contactRoutes registers people search, contacts and privacy settings.
func (s *Server) contactRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/people", s.findPeople)
	h("GET /api/v1/contacts", s.listContacts)
	h("DELETE /api/v1/contacts/{user_id}", s.removeContact)
	h("GET /api/v1/contacts/requests", s.listContactRequests)
	h("POST /api/v1/contacts/requests", s.requestContact)
	h("POST /api/v1/contacts/requests/{user_id}/accept", s.answerContact(true))
	h("POST /api/v1/contacts/requests/{user_id}/decline", s.answerContact(false))
	h("DELETE /api/v1/contacts/requests/{user_id}", s.cancelContactRequest)
	h("GET /api/v1/contacts/suggestions", s.contactSuggestions)
	h("GET /api/v1/me/privacy", s.getPrivacy)
	h("PUT /api/v1/me/privacy", s.putPrivacy)
}

func (s *Server) findPeople(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	us, err := s.app.FindPeople(r.Context(), actor, r.URL.Query().Get("q"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, peopleList{Users: us})
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, next, err := s.app.Contacts(r.Context(), actor, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, contactList{Contacts: cs, NextCursor: next})
}

func (s *Server) removeContact(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.RemoveContact(r.Context(), actor, r.PathValue("user_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listContactRequests(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	in, out, err := s.app.ContactRequests(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, contactRequestList{Incoming: in, Outgoing: out})
}

func (s *Server) requestContact(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req contactRequestBody
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	accepted, err := s.app.RequestContact(r.Context(), actor, req.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, contactRequestResult{Accepted: accepted})
}

func (s *Server) answerContact(accept bool) func(http.ResponseWriter, *http.Request, parley.Actor) {
	return func(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
		if err := s.app.AnswerContactRequest(r.Context(), actor, r.PathValue("user_id"), accept); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) cancelContactRequest(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.CancelContactRequest(r.Context(), actor, r.PathValue("user_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) contactSuggestions(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sg, err := s.app.ContactSuggestions(r.Context(), actor, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, suggestionList{Suggestions: sg})
}

func (s *Server) getPrivacy(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	p, err := s.app.PrivacySettings(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putPrivacy(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var p parley.PrivacySettings
	if err := s.decode(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.app.SetPrivacySettings(r.Context(), actor, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
