package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

type (
	retentionRequest struct {
		Days *int `json:"days"`
	}
	legalHoldRequest struct {
		Hold *bool `json:"hold"`
	}
)

// retentionRoutes registers retention policies and legal hold.
func (s *Server) retentionRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/conversations/{id}/retention", s.getRetention)
	h("PUT /api/v1/conversations/{id}/retention", s.putRetention)
	h("PUT /api/v1/admin/conversations/{id}/legal-hold", s.putLegalHold)
}

func (s *Server) getRetention(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	p, err := s.app.Retention(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putRetention(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req retentionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Days == nil {
		s.writeError(w, r, parley.Invalid("days", "days is required (0 keeps messages forever)"))
		return
	}
	p, err := s.app.SetRetention(r.Context(), actor, r.PathValue("id"), *req.Days)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putLegalHold(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req legalHoldRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Hold == nil {
		s.writeError(w, r, parley.Invalid("hold", "hold is required (true or false)"))
		return
	}
	p, err := s.app.SetLegalHold(r.Context(), actor, r.PathValue("id"), *req.Hold)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
