package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the organisation endpoints
// (openapi/organisation.json).
type (
	createOrgRequest struct {
		Slug             string                    `json:"slug"`
		Name             string                    `json:"name"`
		Registration     parley.RegistrationPolicy `json:"registration"`
		Limits           parley.OrgLimits          `json:"limits"`
		RequireTwoFactor bool                      `json:"require_2fa"`
	}
	updateOrgRequest struct {
		Name             *string                    `json:"name"`
		Registration     *parley.RegistrationPolicy `json:"registration"`
		Limits           *parley.OrgLimits          `json:"limits"`
		RequireTwoFactor *bool                      `json:"require_2fa"`
	}
	orgList struct {
		Organisations []parley.Organisation `json:"organisations"`
	}
)

// orgRoutes registers the organisation endpoints: server admins create
// organisations and see them all; organisation admins see and change
// their own.
func (s *Server) orgRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/admin/orgs", s.listOrgs)
	h("POST /api/v1/admin/orgs", s.createOrg)
	h("GET /api/v1/admin/orgs/{id}", s.getOrg)
	h("PATCH /api/v1/admin/orgs/{id}", s.updateOrg)
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	os, err := s.app.Orgs(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, orgList{Organisations: os})
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createOrgRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.app.CreateOrg(r.Context(), actor, app.OrgInput{Slug: req.Slug, Name: req.Name,
		Registration: req.Registration, Limits: req.Limits, RequireTwoFactor: req.RequireTwoFactor})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	o, err := s.app.Org(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) updateOrg(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req updateOrgRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.app.UpdateOrg(r.Context(), actor, r.PathValue("id"), app.OrgPatch{Name: req.Name,
		Registration: req.Registration, Limits: req.Limits, RequireTwoFactor: req.RequireTwoFactor})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
