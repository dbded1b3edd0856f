package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Response bodies of the search endpoints; documented in openapi/search.json.
type searchResult struct {
	Hits       []parley.SearchHit `json:"hits"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// searchRoutes registers message search and history around a message.
func (s *Server) searchRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/search/messages", s.searchMessages)
	h("GET /api/v1/conversations/{id}/messages/{seq}/context", s.messageContext)
}

func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	hits, next, err := s.app.SearchMessages(r.Context(), actor, app.SearchMessagesInput{Query: q.Get("q"),
		Order: q.Get("order"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, searchResult{Hits: hits, NextCursor: next})
}

func (s *Server) messageContext(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	seq, err := pathSeq(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.app.HistoryAround(r.Context(), actor, r.PathValue("id"), seq, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, messageList{Messages: ms})
}
