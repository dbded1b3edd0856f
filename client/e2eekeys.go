package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/parley-chat/parley"
)

// The REST side of end-to-end encryption (docs/e2ee.md §2): device keys,
// prekey bundles and the key backup. The encryption itself is in
// client/e2ee and the Session layer (e2eesession.go).

// RegisterDeviceRequest is a device's public keys (docs/e2ee.md §1).
type RegisterDeviceRequest struct {
	Name           string                 `json:"name"`
	IdentitySign   []byte                 `json:"identity_sign"`
	IdentityDH     []byte                 `json:"identity_dh"`
	IdentityDHSig  []byte                 `json:"identity_dh_sig"`
	SignedPrekey   parley.SignedPrekey    `json:"signed_prekey"`
	OneTimePrekeys []parley.OneTimePrekey `json:"one_time_prekeys"`
}

// RegisterDevice registers one of the caller's devices (POST /e2ee/devices).
func (c *Client) RegisterDevice(ctx context.Context, req RegisterDeviceRequest) (parley.E2EEDevice, error) {
	var d parley.E2EEDevice
	_, err := c.do(ctx, http.MethodPost, "/api/v1/e2ee/devices", nil, req, &d)
	return d, err
}

// Devices lists a user's devices.
func (c *Client) Devices(ctx context.Context, userID string) ([]parley.E2EEDevice, error) {
	var out struct {
		Devices []parley.E2EEDevice `json:"devices"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/e2ee/users/"+url.PathEscape(userID)+"/devices", nil, nil, &out)
	return out.Devices, err
}

// ClaimBundles claims one prekey bundle per device of userID.
func (c *Client) ClaimBundles(ctx context.Context, userID string) ([]parley.E2EEBundle, error) {
	var out struct {
		Bundles []parley.E2EEBundle `json:"bundles"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/e2ee/users/"+url.PathEscape(userID)+"/bundles", nil, nil, &out)
	return out.Bundles, err
}

// SetSignedPrekey rotates one of the caller's devices' signed prekey.
func (c *Client) SetSignedPrekey(ctx context.Context, deviceID string, p parley.SignedPrekey) error {
	_, err := c.do(ctx, http.MethodPut, "/api/v1/e2ee/devices/"+url.PathEscape(deviceID)+"/signed_prekey", nil, p, nil)
	return err
}

// AddOneTimePrekeys uploads one-time prekeys and returns the device's count.
func (c *Client) AddOneTimePrekeys(ctx context.Context, deviceID string, ks []parley.OneTimePrekey) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/e2ee/devices/"+url.PathEscape(deviceID)+"/one_time_prekeys", nil,
		map[string]any{"one_time_prekeys": ks}, &out)
	return out.Count, err
}

// PrekeyCount returns how many one-time prekeys a device has left.
func (c *Client) PrekeyCount(ctx context.Context, deviceID string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/e2ee/devices/"+url.PathEscape(deviceID)+"/prekey_count", nil, nil, &out)
	return out.Count, err
}

// DeleteDevice removes one of the caller's devices.
func (c *Client) DeleteDevice(ctx context.Context, deviceID string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/e2ee/devices/"+url.PathEscape(deviceID), nil, nil, nil)
	return err
}

// PutKeyBackup stores the caller's opaque key backup blob.
func (c *Client) PutKeyBackup(ctx context.Context, blob json.RawMessage) error {
	_, err := c.do(ctx, http.MethodPut, "/api/v1/e2ee/backup", nil, blob, nil)
	return err
}

// KeyBackup returns the caller's key backup blob (CodeNotFound: none).
func (c *Client) KeyBackup(ctx context.Context) (json.RawMessage, error) {
	var b json.RawMessage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/e2ee/backup", nil, nil, &b)
	return b, err
}

// DeleteKeyBackup deletes the caller's key backup.
func (c *Client) DeleteKeyBackup(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/e2ee/backup", nil, nil, nil)
	return err
}
