package httpapi

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header ("" if there is none or the scheme is not Bearer).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authed wraps a handler that needs a signed-in caller: it authenticates the
// bearer token through app.Authenticate and answers 401 unauthenticated
// (with WWW-Authenticate: Bearer) for anonymous callers and bad, expired or
// revoked tokens. It sets no deadline, so it also suits the WebSocket upgrade.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, parley.Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if isOperator(r) {
			h(w, r, app.Operator)
			return
		}
		actor, err := s.app.Authenticate(r.Context(), bearerToken(r))
		if err != nil {
			if parley.IsCode(err, parley.CodeUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			}
			s.writeError(w, r, err)
			return
		}
		if err := tokenMayUse(actor, r.Pattern); err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, actor)
	}
}

// withTimeout bounds a REST handler by Options.RequestTimeout: its context
// ends after that, so store calls and password hashing give up.
func (s *Server) withTimeout(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// clientAddr returns the client's IP address, for sign-in rate limits and
// the session list. With Options.TrustProxy it is the last address in
// X-Forwarded-For (the one the trusted proxy appended); otherwise, and when
// that header is absent or malformed, the connection's remote address.
func (s *Server) clientAddr(r *http.Request) string {
	if s.opts.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
