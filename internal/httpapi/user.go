package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the account endpoints. openapi/user.json
// documents them (RegisterRequest, LoginRequest, UpdateMeRequest,
// ChangePasswordRequest, AuthResponse, SessionList, UserList).
type (
	registerRequest struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
		Email       string `json:"email"`
		Invite      string `json:"invite"` // invite code (registration.go in internal/app)
		Setup       string `json:"setup"`  // one-time setup token: the account becomes the first admin
		// Organisation is the slug of the organisation to join ("": the
		// invite's, or the default one).
		Organisation string `json:"organisation"`
	}
	loginRequest struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	updateMeRequest struct {
		DisplayName *string `json:"display_name"`
		StatusText  *string `json:"status_text"`
		Email       *string `json:"email"`
		Settings    *struct {
			Theme *string `json:"theme"`
		} `json:"settings"`
	}
	changePasswordRequest struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	authResponse struct {
		User  parley.User `json:"user"`
		Token string      `json:"token"`
	}
	sessionList struct {
		Sessions []parley.Session `json:"sessions"`
	}
	userList struct {
		Users     []parley.User `json:"users"`
		NextAfter string        `json:"next_after,omitempty"`
	}
)

// userRoutes registers the account endpoints.
func (s *Server) userRoutes() {
	h := func(pattern string, fn http.HandlerFunc) { s.mux.HandleFunc(pattern, s.withTimeout(fn)) }
	h("POST /api/v1/auth/register", s.register)
	h("POST /api/v1/auth/login", s.login)
	h("POST /api/v1/auth/logout", s.authed(s.logout))
	h("GET /api/v1/me", s.authed(s.getMe))
	h("PATCH /api/v1/me", s.authed(s.patchMe))
	h("POST /api/v1/me/password", s.authed(s.changePassword))
	h("GET /api/v1/me/sessions", s.authed(s.listSessions))
	h("DELETE /api/v1/me/sessions/{id}", s.authed(s.revokeSession))
	h("GET /api/v1/users", s.authed(s.searchUsers))
	h("GET /api/v1/users/{id}", s.authed(s.getUser))
	h("POST /api/v1/admin/users/{id}/disable", s.authed(s.disableUser))
	h("POST /api/v1/admin/users/{id}/enable", s.authed(s.enableUser))
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.RegisterSignIn(r.Context(), app.RegisterInput{
		Username: req.Username, Password: req.Password, DisplayName: req.DisplayName, Email: req.Email,
		UserAgent: r.UserAgent(), Address: s.clientAddr(r), Invite: req.Invite, Setup: req.Setup,
		Org: req.Organisation,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Token == "" && res.Challenge == nil { // the address must be verified before the first sign-in
		writeJSON(w, http.StatusAccepted, pendingSignup{User: res.User, VerificationRequired: true})
		return
	}
	writeSignIn(w, http.StatusCreated, res)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.SignIn(r.Context(), app.LoginInput{
		Username: req.Username, Password: req.Password, UserAgent: r.UserAgent(), Address: s.clientAddr(r),
	})
	if err != nil {
		if parley.IsCode(err, parley.CodeUnauthenticated) {
			s.metrics.IncLoginFailures()
		}
		s.writeError(w, r, err)
		return
	}
	writeSignIn(w, http.StatusOK, res)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.Logout(r.Context(), actor); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.Me(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req updateMeRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := app.ProfileUpdate{DisplayName: req.DisplayName, StatusText: req.StatusText, Email: req.Email}
	if req.Settings != nil {
		in.Theme = req.Settings.Theme
	}
	u, err := s.app.UpdateMe(r.Context(), actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req changePasswordRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.ChangePassword(r.Context(), actor, req.CurrentPassword, req.NewPassword); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.Sessions(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionList{Sessions: list})
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.RevokeSession(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	q := r.URL.Query()
	if q.Has("ids") {
		if q.Has("prefix") || q.Has("after") || q.Has("limit") {
			s.writeError(w, r, parley.Invalid("ids", "ids cannot be combined with prefix, after or limit"))
			return
		}
		var ids []string
		for _, v := range q["ids"] {
			for id := range strings.SplitSeq(v, ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
		}
		users, err := s.app.LookupUsers(r.Context(), actor, ids)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, userList{Users: users})
		return
	}
	in := app.SearchUsersInput{Prefix: q.Get("prefix"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.writeError(w, r, parley.Invalid("limit", "limit must be an integer between 1 and %d", app.MaxSearchLimit))
			return
		}
		if n < 1 {
			s.writeError(w, r, parley.Invalid("limit", "limit must be between 1 and %d", app.MaxSearchLimit))
			return
		}
		in.Limit = n
	}
	users, next, err := s.app.SearchUsers(r.Context(), actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userList{Users: users, NextAfter: next})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.User(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.DisableUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.EnableUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
