package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

// exportRoutes registers the data export. It is not bounded by the request
// timeout: an export streams for as long as the data takes.
func (s *Server) exportRoutes() {
	s.mux.HandleFunc("GET /api/v1/me/export", s.authed(s.export))
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, write, err := s.app.StartExport(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.app.ExportName(u)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := write(w); err != nil {
		// Too late for an error body: end the connection, so the client
		// sees a cut download rather than a complete-looking zip.
		panic(http.ErrAbortHandler)
	}
}
