package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the two-factor endpoints
// (openapi/twofactor.json).
type (
	secondFactorRequest struct {
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	challengeRequest struct {
		Challenge string `json:"challenge"`
	}
	secondFactorResponse struct {
		User          parley.User `json:"user"`
		Token         string      `json:"token"`
		RecoveryCodes []string    `json:"recovery_codes,omitempty"`
	}
	passwordRequest struct {
		Password string `json:"password"`
	}
	codeRequest struct {
		Code string `json:"code"`
	}
	passwordCodeRequest struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	recoveryCodesResponse struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
)

// twoFactorRoutes registers the two-factor endpoints.
func (s *Server) twoFactorRoutes() {
	h := func(pattern string, fn http.HandlerFunc) { s.mux.HandleFunc(pattern, s.withTimeout(fn)) }
	h("POST /api/v1/auth/login/2fa", s.finishSignIn)
	h("POST /api/v1/auth/login/2fa/setup", s.setupSignIn)
	h("GET /api/v1/me/2fa", s.authed(s.twoFactorStatus))
	h("POST /api/v1/me/2fa/setup", s.authed(s.beginTwoFactor))
	h("POST /api/v1/me/2fa/confirm", s.authed(s.confirmTwoFactor))
	h("POST /api/v1/me/2fa/disable", s.authed(s.disableTwoFactor))
	h("POST /api/v1/me/2fa/recovery-codes", s.authed(s.regenerateRecoveryCodes))
	h("POST /api/v1/admin/users/{id}/2fa/reset", s.authed(s.resetTwoFactor))
}

// writeSignIn answers a sign-in: {user, token} or, when a second factor is
// due, the challenge {two_factor, challenge, expires_at}.
func writeSignIn(w http.ResponseWriter, status int, res app.SignInResult) {
	if res.Challenge != nil {
		writeJSON(w, status, res.Challenge)
		return
	}
	writeJSON(w, status, authResponse{User: res.User, Token: res.Token})
}

func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request) {
	var req secondFactorRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, codes, err := s.app.FinishSignIn(r.Context(), app.SecondFactorInput{
		Challenge: req.Challenge, Code: req.Code, UserAgent: r.UserAgent(), Address: s.clientAddr(r),
	})
	if err != nil {
		if parley.IsCode(err, parley.CodeUnauthenticated) {
			s.metrics.IncLoginFailures()
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, secondFactorResponse{User: res.User, Token: res.Token, RecoveryCodes: codes})
}

func (s *Server) setupSignIn(w http.ResponseWriter, r *http.Request) {
	var req challengeRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	en, err := s.app.BeginSetupSignIn(r.Context(), req.Challenge)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, en)
}

func (s *Server) twoFactorStatus(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	st, err := s.app.TwoFactorStatus(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) beginTwoFactor(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req passwordRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	en, err := s.app.BeginTwoFactor(r.Context(), actor, req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, en)
}

func (s *Server) confirmTwoFactor(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req codeRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.app.ConfirmTwoFactor(r.Context(), actor, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

func (s *Server) disableTwoFactor(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req passwordCodeRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.DisableTwoFactor(r.Context(), actor, req.Password, req.Code); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req passwordCodeRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.app.RegenerateRecoveryCodes(r.Context(), actor, req.Password, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

func (s *Server) resetTwoFactor(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.ResetTwoFactor(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

type (
	createAppPasswordRequest struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	createAppPasswordResponse struct {
		AppPassword parley.AppPassword `json:"app_password"`
		Password    string             `json:"password"`
	}
	appPasswordList struct {
		AppPasswords []parley.AppPassword `json:"app_passwords"`
	}
)

// appPasswordRoutes registers the app password endpoints.
func (s *Server) appPasswordRoutes() {
	h := func(pattern string, fn http.HandlerFunc) { s.mux.HandleFunc(pattern, s.withTimeout(fn)) }
	h("GET /api/v1/me/app-passwords", s.authed(s.listAppPasswords))
	h("POST /api/v1/me/app-passwords", s.authed(s.createAppPassword))
	h("DELETE /api/v1/me/app-passwords/{id}", s.authed(s.revokeAppPassword))
}

func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.AppPasswords(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, appPasswordList{AppPasswords: list})
}

func (s *Server) createAppPassword(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createAppPasswordRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, secret, err := s.app.CreateAppPassword(r.Context(), actor, req.Name, req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createAppPasswordResponse{AppPassword: p, Password: secret})
}

func (s *Server) revokeAppPassword(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.RevokeAppPassword(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
