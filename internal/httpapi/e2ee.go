package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Bodies of the end-to-end encryption endpoints (docs/e2ee.md §2);
// documented in openapi/e2ee.json. Binary fields are standard base64.
type (
	registerDeviceRequest struct {
		Name           string                 `json:"name"`
		IdentitySign   []byte                 `json:"identity_sign"`
		IdentityDH     []byte                 `json:"identity_dh"`
		IdentityDHSig  []byte                 `json:"identity_dh_sig"`
		SignedPrekey   *parley.SignedPrekey   `json:"signed_prekey"`
		OneTimePrekeys []parley.OneTimePrekey `json:"one_time_prekeys"`
	}
	deviceList struct {
		Devices []parley.E2EEDevice `json:"devices"`
	}
	bundleList struct {
		Bundles []parley.E2EEBundle `json:"bundles"`
	}
	prekeyUpload struct {
		OneTimePrekeys []parley.OneTimePrekey `json:"one_time_prekeys"`
	}
	prekeyCount struct {
		Count int `json:"count"`
	}
)

// e2eeRoutes registers the device-key and key-backup endpoints.
func (s *Server) e2eeRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	h("POST /api/v1/e2ee/devices", s.registerDevice)
	h("GET /api/v1/e2ee/users/{user_id}/devices", s.listDevices)
	h("POST /api/v1/e2ee/users/{user_id}/bundles", s.claimBundles)
	h("PUT /api/v1/e2ee/devices/{device_id}/signed_prekey", s.putSignedPrekey)
	h("POST /api/v1/e2ee/devices/{device_id}/one_time_prekeys", s.addPrekeys)
	h("GET /api/v1/e2ee/devices/{device_id}/prekey_count", s.prekeyCount)
	h("DELETE /api/v1/e2ee/devices/{device_id}", s.deleteDevice)
	h("PUT /api/v1/e2ee/backup", s.putBackup)
	h("GET /api/v1/e2ee/backup", s.getBackup)
	h("DELETE /api/v1/e2ee/backup", s.deleteBackup)
}

func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req registerDeviceRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.SignedPrekey == nil {
		s.writeError(w, r, parley.Invalid("signed_prekey", "signed_prekey is required"))
		return
	}
	d, err := s.app.RegisterDevice(r.Context(), actor, app.RegisterDeviceInput{Name: req.Name, IdentitySign: req.IdentitySign,
		IdentityDH: req.IdentityDH, IdentityDHSig: req.IdentityDHSig, SignedPrekey: *req.SignedPrekey, OneTimePrekeys: req.OneTimePrekeys})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	ds, err := s.app.Devices(r.Context(), actor, r.PathValue("user_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: ds})
}

func (s *Server) claimBundles(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	bs, err := s.app.ClaimBundles(r.Context(), actor, r.PathValue("user_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bundleList{Bundles: bs})
}

func (s *Server) putSignedPrekey(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var p parley.SignedPrekey
	if err := s.decode(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.app.SetSignedPrekey(r.Context(), actor, r.PathValue("device_id"), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addPrekeys(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req prekeyUpload
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.app.AddOneTimePrekeys(r.Context(), actor, r.PathValue("device_id"), req.OneTimePrekeys)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prekeyCount{Count: n})
}

func (s *Server) prekeyCount(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	n, err := s.app.PrekeyCount(r.Context(), actor, r.PathValue("device_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prekeyCount{Count: n})
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteDevice(r.Context(), actor, r.PathValue("device_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putBackup stores the request body, the backup blob itself.
func (s *Server) putBackup(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var blob json.RawMessage
	if err := s.decode(w, r, &blob); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.app.PutBackup(r.Context(), actor, blob); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getBackup answers with the blob exactly as it was stored.
func (s *Server) getBackup(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	b, err := s.app.Backup(r.Context(), actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Last-Modified", b.UpdatedAt.UTC().Format(http.TimeFormat))
	writeJSON(w, http.StatusOK, b.Blob)
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteBackup(r.Context(), actor); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
