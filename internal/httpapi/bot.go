package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Request and response bodies of the bot endpoints (openapi/bot.json).
type (
	createBotRequest struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
	}
	botList struct {
		Bots []parley.User `json:"bots"`
	}
	createAPITokenRequest struct {
		Name   string         `json:"name"`
		Scopes []parley.Scope `json:"scopes"`
	}
	createAPITokenResponse struct {
		Token  parley.APIToken `json:"token"`
		Secret string          `json:"secret"`
	}
	apiTokenList struct {
		Tokens []parley.APIToken `json:"tokens"`
	}
)

// botRoutes registers the bot endpoints.
func (s *Server) botRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/bots", s.listBots)
	h("POST /api/v1/bots", s.createBot)
	h("DELETE /api/v1/bots/{id}", s.deleteBot)
	h("POST /api/v1/bots/{id}/disable", s.disableBot)
	h("POST /api/v1/bots/{id}/enable", s.enableBot)
	h("GET /api/v1/bots/{id}/tokens", s.listAPITokens)
	h("POST /api/v1/bots/{id}/tokens", s.createAPIToken)
	h("DELETE /api/v1/bots/{id}/tokens/{token_id}", s.revokeAPIToken)
}

func (s *Server) listBots(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	bots, err := s.app.Bots(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, botList{Bots: bots})
}

func (s *Server) createBot(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createBotRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.app.CreateBot(r.Context(), actor, app.BotInput{Username: req.Username, DisplayName: req.DisplayName})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) deleteBot(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteBot(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) disableBot(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	b, err := s.app.DisableBot(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) enableBot(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	b, err := s.app.EnableBot(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.APITokens(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiTokenList{Tokens: list})
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createAPITokenRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, secret, err := s.app.CreateAPIToken(r.Context(), actor, r.PathValue("id"), req.Name, req.Scopes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createAPITokenResponse{Token: t, Secret: secret})
}

func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.RevokeAPIToken(r.Context(), actor, r.PathValue("id"), r.PathValue("token_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type (
	createHookRequest struct {
		ConversationID string `json:"conversation_id"`
	}
	createHookResponse struct {
		Webhook parley.IncomingWebhook `json:"webhook"`
		URL     string                 `json:"url"` // path of the secret URL, under this server
	}
	hookList struct {
		Webhooks []parley.IncomingWebhook `json:"webhooks"`
	}
	postHookRequest struct {
		Text        string `json:"text"`
		ClientMsgID string `json:"client_msg_id"`
	}
)

// hookRoutes registers the incoming webhook endpoints: management under a
// bot, and the secret URL itself (no Authorization: the URL is the secret).
func (s *Server) hookRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/bots/{id}/incoming-webhooks", s.listHooks)
	h("POST /api/v1/bots/{id}/incoming-webhooks", s.createHook)
	h("DELETE /api/v1/bots/{id}/incoming-webhooks/{hook_id}", s.deleteHook)
	s.mux.HandleFunc("POST /api/v1/hooks/{id}/{secret}", s.withTimeout(s.postHook))
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.IncomingWebhooks(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hookList{Webhooks: list})
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createHookRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	hook, secret, err := s.app.CreateIncomingWebhook(r.Context(), actor, r.PathValue("id"), req.ConversationID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createHookResponse{Webhook: hook, URL: "/api/v1/hooks/" + hook.ID + "/" + secret})
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteIncomingWebhook(r.Context(), actor, r.PathValue("id"), r.PathValue("hook_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postHook(w http.ResponseWriter, r *http.Request) {
	var req postHookRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, created, err := s.app.PostIncomingWebhook(r.Context(), r.PathValue("id"), r.PathValue("secret"),
		app.IncomingWebhookInput{Text: req.Text, ClientMsgID: req.ClientMsgID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, m)
}

type (
	createOutHookRequest struct {
		URL string `json:"url"`
	}
	createOutHookResponse struct {
		Webhook parley.OutgoingWebhook `json:"webhook"`
		Secret  string                 `json:"secret"`
	}
	outHookList struct {
		Webhooks []parley.OutgoingWebhook `json:"webhooks"`
	}
	deliveryList struct {
		Deliveries []parley.WebhookDelivery `json:"deliveries"`
	}
)

// outHookRoutes registers the outgoing webhook endpoints.
func (s *Server) outHookRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/bots/{id}/outgoing-webhooks", s.listOutHooks)
	h("POST /api/v1/bots/{id}/outgoing-webhooks", s.createOutHook)
	h("DELETE /api/v1/bots/{id}/outgoing-webhooks/{hook_id}", s.deleteOutHook)
	h("GET /api/v1/bots/{id}/outgoing-webhooks/{hook_id}/deliveries", s.listDeliveries)
	h("POST /api/v1/bots/{id}/outgoing-webhooks/{hook_id}/enable", s.enableOutHook)
}

func (s *Server) listOutHooks(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.OutgoingWebhooks(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, outHookList{Webhooks: list})
}

func (s *Server) createOutHook(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createOutHookRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	hook, secret, err := s.app.CreateOutgoingWebhook(r.Context(), actor, r.PathValue("id"), req.URL)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createOutHookResponse{Webhook: hook, Secret: secret})
}

func (s *Server) deleteOutHook(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteOutgoingWebhook(r.Context(), actor, r.PathValue("id"), r.PathValue("hook_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) enableOutHook(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	hook, err := s.app.EnableOutgoingWebhook(r.Context(), actor, r.PathValue("id"), r.PathValue("hook_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hook)
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	list, err := s.app.WebhookDeliveries(r.Context(), actor, r.PathValue("id"), r.PathValue("hook_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deliveryList{Deliveries: list})
}

type (
	commandRequest struct {
		Command string `json:"command"`
		Text    string `json:"text"`
	}
	commandResponse struct {
		Message *parley.Message `json:"message,omitempty"`
	}
)

// commandRoutes registers slash commands.
func (s *Server) commandRoutes() {
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/commands", s.withTimeout(s.authed(s.runCommand)))
}

func (s *Server) runCommand(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req commandRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.app.RunCommand(r.Context(), actor, app.CommandInput{ConversationID: r.PathValue("id"), Command: req.Command, Text: req.Text})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, commandResponse{Message: m})
}
