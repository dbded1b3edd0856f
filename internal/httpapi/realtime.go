package httpapi

import (
	_ "embed"
	"net/http"
	"net/url"
	"strings"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/gateway"
)

// asyncAPI is the AsyncAPI 3 document of the WebSocket protocol; it mirrors
// docs/protocol.md.
//
//go:embed asyncapi.json
var asyncAPI []byte

// realtimeRoutes registers the realtime endpoints that need no gateway. The
// WebSocket endpoint itself is mounted by MountGateway.
func (s *Server) realtimeRoutes() {
	s.mux.HandleFunc("GET /api/v1/asyncapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(asyncAPI)
	})
	s.receiptRoutes()
}

// MountGateway serves the WebSocket endpoint GET /api/v1/ws through g: it
// checks the Origin against Options.AllowedOrigins, upgrades the connection
// (authentication happens in the first frame, see docs/protocol.md) and
// hands it to the gateway.
func (s *Server) MountGateway(g *gateway.Gateway) {
	s.mux.HandleFunc("GET /api/v1/ws", func(w http.ResponseWriter, r *http.Request) {
		if !s.originAllowed(r) {
			s.writeError(w, r, parley.Errorf(parley.CodeForbidden,
				"origin %q may not open WebSockets here", r.Header.Get("Origin")))
			return
		}
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Upgrade", "websocket")
			s.writeError(w, r, parley.Invalid("Upgrade", "this endpoint speaks WebSocket only (Upgrade: websocket)"))
			return
		}
		conn, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
		if err != nil {
			// The upgrader has answered (400/426) or the connection is gone.
			if conn != nil {
				_ = conn.Close()
			}
			return
		}
		var buffered []byte
		if n := rw.Reader.Buffered(); n > 0 {
			p, _ := rw.Reader.Peek(n)
			buffered = append([]byte(nil), p...)
		}
		g.Accept(conn, buffered)
	})
}

// originAllowed implements the cross-site WebSocket hijacking check.
// Requests without Origin (non-browser clients) are allowed: they cannot
// carry a victim's ambient credentials, and authentication is by token in
// the first frame anyway. Otherwise the Origin must name the request's own
// host (the built-in web client) or be listed in AllowedOrigins ("*"
// allows any).
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// Request and response bodies of the receipt endpoints; documented in
// openapi/realtime.json.
type (
	receiptRequest struct {
		Seq int64 `json:"seq"`
	}
	receiptList struct {
		Receipts []parley.Receipt `json:"receipts"`
	}
)

// receiptRoutes registers the REST twins of the read/delivered frames.
func (s *Server) receiptRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("POST /api/v1/conversations/{id}/read", s.markReceipt(true))
	h("POST /api/v1/conversations/{id}/delivered", s.markReceipt(false))
	h("GET /api/v1/conversations/{id}/receipts", s.listReceipts)
}

func (s *Server) markReceipt(read bool) func(http.ResponseWriter, *http.Request, parley.Actor) {
	return func(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
		var req receiptRequest
		if err := s.decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		mark := s.app.MarkDelivered
		if read {
			mark = s.app.MarkRead
		}
		rc, err := mark(r.Context(), actor, r.PathValue("id"), req.Seq)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rc)
	}
}

func (s *Server) listReceipts(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	rs, err := s.app.Receipts(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, receiptList{Receipts: rs})
}
