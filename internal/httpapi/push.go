package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Bodies of the Web Push endpoints; documented in openapi/notify.json.
type (
	vapidKey struct {
		PublicKey string `json:"public_key"`
	}
	pushSubscriptionList struct {
		Subscriptions []parley.PushSubscription `json:"subscriptions"`
	}
	pushDeviceBody struct {
		Platform parley.PushPlatform `json:"platform"`
		Token    string              `json:"token"`
	}
	pushDeviceList struct {
		Devices []parley.PushDevice `json:"devices"`
	}
)

// pushRoutes registers the Web Push subscription endpoints.
func (s *Server) pushRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("GET /api/v1/push/vapid-key", s.getVAPIDKey)
	h("GET /api/v1/push/subscriptions", s.listPushSubscriptions)
	h("POST /api/v1/push/subscriptions", s.addPushSubscription)
	h("DELETE /api/v1/push/subscriptions/{id}", s.deletePushSubscription)
	h("GET /api/v1/push/devices", s.listPushDevices)
	h("POST /api/v1/push/devices", s.addPushDevice)
	h("DELETE /api/v1/push/devices/{id}", s.deletePushDevice)
}

func (s *Server) listPushDevices(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	ds, err := s.app.PushDevices(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ds == nil {
		ds = []parley.PushDevice{}
	}
	writeJSON(w, http.StatusOK, pushDeviceList{Devices: ds})
}

func (s *Server) addPushDevice(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var b pushDeviceBody
	if err := s.decode(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.app.RegisterPushDevice(r.Context(), actor, b.Platform, b.Token)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func (s *Server) deletePushDevice(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeletePushDevice(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getVAPIDKey(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	k, err := s.app.VAPIDPublicKey(actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vapidKey{PublicKey: k})
}

func (s *Server) listPushSubscriptions(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	subs, err := s.app.PushSubscriptions(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if subs == nil {
		subs = []parley.PushSubscription{}
	}
	writeJSON(w, http.StatusOK, pushSubscriptionList{Subscriptions: subs})
}

func (s *Server) addPushSubscription(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var in app.PushSubscriptionInput
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.app.AddPushSubscription(r.Context(), actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sub)
}

func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeletePushSubscription(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
