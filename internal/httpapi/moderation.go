package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the block and moderation endpoints;
// documented in openapi/moderation.json.
type (
	blockList struct {
		Blocks []parley.Block `json:"blocks"`
	}
	moderationRequest struct {
		UserID          string `json:"user_id"`
		Reason          string `json:"reason"`
		DurationSeconds int64  `json:"duration_seconds"` // mute only
	}
	muteResult struct {
		UserID     string    `json:"user_id"`
		MutedUntil time.Time `json:"muted_until"`
	}
	banList struct {
		Bans []parley.Ban `json:"bans"`
	}
)

// moderationRoutes registers blocks, conversation moderation and the
// server-wide content rules.
func (s *Server) moderationRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/blocks", s.listBlocks)
	h("PUT /api/v1/blocks/{user_id}", s.blockUser)
	h("DELETE /api/v1/blocks/{user_id}", s.unblockUser)
	h("POST /api/v1/conversations/{id}/moderation/mute", s.muteMember)
	h("POST /api/v1/conversations/{id}/moderation/unmute", s.moderateMember(s.app.UnmuteMember))
	h("POST /api/v1/conversations/{id}/moderation/kick", s.moderateMember(s.app.KickMember))
	h("GET /api/v1/conversations/{id}/bans", s.listBans)
	h("POST /api/v1/conversations/{id}/bans", s.banMember)
	h("DELETE /api/v1/conversations/{id}/bans/{user_id}", s.unbanMember)
	h("GET /api/v1/conversations/{id}/rules", s.getRules)
	h("PUT /api/v1/conversations/{id}/rules", s.putRules)
	h("GET /api/v1/admin/content-rules", s.getServerRules)
	h("PUT /api/v1/admin/content-rules", s.putServerRules)
}

func (s *Server) listBlocks(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	bs, err := s.app.Blocks(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, blockList{Blocks: bs})
}

func (s *Server) blockUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	b, err := s.app.BlockUser(r.Context(), actor, r.PathValue("user_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) unblockUser(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.UnblockUser(r.Context(), actor, r.PathValue("user_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) muteMember(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req moderationRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DurationSeconds < 1 || req.DurationSeconds > int64(parley.MaxMuteDuration/time.Second) {
		s.writeError(w, r, parley.Invalid("duration_seconds", "duration_seconds must be between 1 and %d",
			int64(parley.MaxMuteDuration/time.Second)))
		return
	}
	until, err := s.app.MuteMember(r.Context(), actor, r.PathValue("id"), req.UserID,
		time.Duration(req.DurationSeconds)*time.Second, req.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, muteResult{UserID: req.UserID, MutedUntil: until})
}

// moderateMember serves unmute and kick: {user_id, reason} → 204.
func (s *Server) moderateMember(fn func(ctx context.Context, actor parley.Actor, convID, userID, reason string) error) func(http.ResponseWriter, *http.Request, parley.Actor) {
	return func(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
		var req moderationRequest
		if err := s.decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.DurationSeconds != 0 {
			s.writeError(w, r, parley.Invalid("duration_seconds", "duration_seconds is for mute only"))
			return
		}
		if err := fn(r.Context(), actor, r.PathValue("id"), req.UserID, req.Reason); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listBans(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	bs, err := s.app.Bans(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, banList{Bans: bs})
}

func (s *Server) banMember(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req moderationRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DurationSeconds != 0 {
		s.writeError(w, r, parley.Invalid("duration_seconds", "bans last until lifted; duration_seconds is for mute only"))
		return
	}
	b, err := s.app.BanMember(r.Context(), actor, r.PathValue("id"), req.UserID, req.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) unbanMember(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.UnbanMember(r.Context(), actor, r.PathValue("id"), r.PathValue("user_id"), r.URL.Query().Get("reason")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	rules, err := s.app.ConversationRules(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rules)
}

func (s *Server) putRules(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var rules parley.ConversationRules
	if err := s.decode(w, r, &rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	rules, err := s.app.SetConversationRules(r.Context(), actor, r.PathValue("id"), rules)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rules)
}

func (s *Server) getServerRules(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	rules, err := s.app.ServerRules(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rules)
}

func (s *Server) putServerRules(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var rules parley.ConversationRules
	if err := s.decode(w, r, &rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	rules, err := s.app.SetServerRules(r.Context(), actor, rules)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rules)
}

type (
	reportRequest struct {
		ConversationID string `json:"conversation_id"`
		Seq            int64  `json:"seq"`
		UserID         string `json:"user_id"`
		Reason         string `json:"reason"`
	}
	reportList struct {
		Reports    []parley.Report `json:"reports"`
		NextBefore string          `json:"next_before,omitempty"`
	}
	resolveRequest struct {
		Action          parley.ReportAction `json:"action"`
		DurationSeconds int64               `json:"duration_seconds"`
		Note            string              `json:"note"`
	}
)

// reportRoutes registers the reports queue.
func (s *Server) reportRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("POST /api/v1/reports", s.createReport)
	h("GET /api/v1/reports", s.listReports)
	h("GET /api/v1/reports/mine", s.myReports)
	h("POST /api/v1/reports/{id}/resolve", s.resolveReport)
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req reportRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.app.Report(r.Context(), actor, app.ReportInput{ConversationID: req.ConversationID, Seq: req.Seq,
		UserID: req.UserID, Reason: req.Reason})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rep)
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	limit, err := queryLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	rs, next, err := s.app.Reports(r.Context(), actor, app.ReportsInput{Status: parley.ReportStatus(q.Get("status")),
		ConversationID: q.Get("conversation_id"), Before: q.Get("before"), Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reportList{Reports: rs, NextBefore: next})
}

func (s *Server) myReports(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	rs, err := s.app.MyReports(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reportList{Reports: rs})
}

func (s *Server) resolveReport(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req resolveRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DurationSeconds < 0 || req.DurationSeconds > int64(parley.MaxMuteDuration/time.Second) {
		s.writeError(w, r, parley.Invalid("duration_seconds", "duration_seconds must be between 1 and %d",
			int64(parley.MaxMuteDuration/time.Second)))
		return
	}
	rep, err := s.app.ResolveReport(r.Context(), actor, r.PathValue("id"), app.ResolveInput{Action: req.Action,
		Duration: time.Duration(req.DurationSeconds) * time.Second, Note: req.Note})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
