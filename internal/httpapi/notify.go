package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

// notifyRoutes registers notification settings; documented in
// openapi/notify.json.
func (s *Server) notifyRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/me/notifications", s.getNotifyPrefs)
	h("PUT /api/v1/me/notifications", s.putNotifyPrefs)
	h("GET /api/v1/conversations/{id}/notifications", s.getConversationNotify)
	h("PUT /api/v1/conversations/{id}/notifications", s.putConversationNotify)
}

func (s *Server) getNotifyPrefs(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	p, err := s.app.NotifyPrefs(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putNotifyPrefs(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var p parley.NotifyPrefs
	if err := s.decode(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.app.SetNotifyPrefs(r.Context(), actor, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) getConversationNotify(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	c, err := s.app.ConversationNotify(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) putConversationNotify(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var c parley.ConversationNotify
	if err := s.decode(w, r, &c); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.app.SetConversationNotify(r.Context(), actor, r.PathValue("id"), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
