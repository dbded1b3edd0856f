package httpapi

import (
	"context"
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Bodies of the email endpoints; documented in openapi/email.json.
type (
	pendingSignup struct {
		User                 parley.User `json:"user"`
		VerificationRequired bool        `json:"verification_required"`
	}
	tokenBody struct {
		Token string `json:"token"`
	}
	loginBody struct {
		Login string `json:"login"`
	}
	phoneBody struct {
		Phone string `json:"phone"`
	}
	codeBody struct {
		Code string `json:"code"`
	}
	resetBody struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
)

// emailRoutes registers email verification and password reset.
func (s *Server) emailRoutes() {
	h := func(pattern string, fn http.HandlerFunc) { s.mux.HandleFunc(pattern, s.withTimeout(fn)) }
	h("POST /api/v1/auth/verify-email", s.verifyEmail)
	h("POST /api/v1/auth/verify-email/resend", s.requestMail(s.app.RequestVerification))
	h("POST /api/v1/auth/password-reset", s.requestMail(s.app.RequestPasswordReset))
	h("POST /api/v1/auth/password-reset/confirm", s.confirmReset)
	h("GET /api/v1/me/email", s.authed(s.getEmailStatus))
	h("POST /api/v1/me/email/verify", s.authed(s.resendVerification))
	h("GET /api/v1/me/phone", s.authed(s.getPhone))
	h("POST /api/v1/me/phone", s.authed(s.sendPhoneCode))
	h("POST /api/v1/me/phone/verify", s.authed(s.verifyPhone))
}

func (s *Server) getPhone(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	st, err := s.app.PhoneStatus(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) sendPhoneCode(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var b phoneBody
	if err := s.decode(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.SendPhoneCode(r.Context(), actor, b.Phone); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) verifyPhone(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var b codeBody
	if err := s.decode(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.app.VerifyPhone(r.Context(), actor, b.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if err := s.decode(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.VerifyEmail(r.Context(), b.Token); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// requestMail answers 202 whether or not a mail went out (no enumeration).
func (s *Server) requestMail(fn func(ctx context.Context, in app.EmailRequest) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b loginBody
		if err := s.decode(w, r, &b); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := fn(r.Context(), app.EmailRequest{Login: b.Login, Address: s.clientAddr(r)}); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

func (s *Server) confirmReset(w http.ResponseWriter, r *http.Request) {
	var b resetBody
	if err := s.decode(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.ResetPasswordWithLink(r.Context(), b.Token, b.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getEmailStatus(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	st, err := s.app.EmailStatus(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.ResendVerification(r.Context(), actor); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
