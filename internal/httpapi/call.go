package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

// callRoutes registers the REST side of calls (the signalling itself is on
// the WebSocket, docs/calls.md): the STUN/TURN servers with fresh
// credentials; documented in openapi/call.json.
func (s *Server) callRoutes() {
	s.mux.HandleFunc("GET /api/v1/calls/ice-servers", s.withTimeout(s.authed(s.iceServers)))
}

func (s *Server) iceServers(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	cfg, err := s.app.ICEServers(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // credentials
	writeJSON(w, http.StatusOK, cfg)
}
