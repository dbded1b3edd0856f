package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-chat/parley"
)

// File URLs for clients that move files as plain links (XMPP HTTP File
// Upload): PUT to an upload slot, GET through a capability. Neither takes
// a bearer token; the path itself is the credential (app/slot.go).

func (s *Server) fileURLRoutes() {
	s.mux.HandleFunc("PUT /api/v1/files/slots/{token}/{name}", s.fillUploadSlot)
	s.mux.HandleFunc("GET /api/v1/files/{id}/{sig}/{name}", s.serveFileCapability)
}

// SlotPath is the path a slot's PUT goes to.
func SlotPath(token, name string) string {
	return "/api/v1/files/slots/" + url.PathEscape(token) + "/" + url.PathEscape(name)
}

// FileCapabilityPath is the path that serves file id to the holder of its
// capability sig.
func FileCapabilityPath(id, sig, name string) string {
	return "/api/v1/files/" + url.PathEscape(id) + "/" + url.PathEscape(sig) + "/" + url.PathEscape(name)
}

func (s *Server) fillUploadSlot(w http.ResponseWriter, r *http.Request) {
	body, n := uploadBody(w, r)
	if n < 0 {
		s.writeError(w, r, parley.Invalid("Content-Length", "a slot takes one PUT with a Content-Length of the slot's size"))
		return
	}
	att, err := s.app.FillUploadSlot(r.Context(), r.PathValue("token"), body, n)
	if err != nil {
		s.uploadError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

func (s *Server) serveFileCapability(w http.ResponseWriter, r *http.Request) {
	f, err := s.app.OpenFileCapability(r.Context(), r.PathValue("id"), r.PathValue("sig"))
	s.serveFile(w, r, f, err, "private, max-age=86400")
}

// ParseFileCapabilityPath returns the attachment id of a path that
// FileCapabilityPath built, or false.
func ParseFileCapabilityPath(p string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/api/v1/files/")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !parley.ValidID(parts[0]) || parts[1] == "" {
		return "", false
	}
	return parts[0], true
}
