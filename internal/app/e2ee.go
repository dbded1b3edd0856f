package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-chat/parley"
)

// End-to-end encryption (docs/e2ee.md): device keys, prekey bundles and the
// key backup. The server never sees a private key or a plaintext; it checks
// signatures over public keys and the shape of envelopes.

// Rate of e2ee key writes and bundle claims per user: claims consume the
// target's one-time prekeys, so a flood would exhaust them.
const (
	e2eeOpsPerSecond = 5.0
	e2eeOpsBurst     = 100
)

// RegisterDeviceInput is a new device's public keys.
type RegisterDeviceInput struct {
	Name           string
	IdentitySign   []byte
	IdentityDH     []byte
	IdentityDHSig  []byte
	SignedPrekey   parley.SignedPrekey
	OneTimePrekeys []parley.OneTimePrekey
}

func (a *App) e2eeActor(actor parley.Actor) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if ok, wait := a.e2eeOps.Allow(actor.UserID); !ok {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "too many key operations; slow down"}
	}
	return nil
}

func checkDeviceID(id string) error {
	if !parley.ValidID(id) {
		return parley.Invalid("device_id", "device_id must be a device id")
	}
	return nil
}

// RegisterDevice registers one of actor's devices after checking both
// signatures, and publishes e2ee_devices. Errors: unauthenticated;
// invalid/too_large naming the field; too_large (device_id) over
// parley.MaxE2EEDevices; conflict (identity_sign) for a key registered
// already; rate_limited.
func (a *App) RegisterDevice(ctx context.Context, actor parley.Actor, in RegisterDeviceInput) (parley.E2EEDevice, error) {
	if err := a.e2eeActor(actor); err != nil {
		return parley.E2EEDevice{}, err
	}
	d := parley.E2EEDevice{ID: parley.NewID(), UserID: actor.UserID, Name: in.Name, IdentitySign: in.IdentitySign,
		IdentityDH: in.IdentityDH, IdentityDHSig: in.IdentityDHSig, SignedPrekey: in.SignedPrekey,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := parley.CheckE2EEDevice(d); err != nil {
		return parley.E2EEDevice{}, err
	}
	if err := parley.CheckOneTimePrekeys(in.OneTimePrekeys); err != nil {
		return parley.E2EEDevice{}, err
	}
	if err := a.store.CreateE2EEDevice(ctx, d, in.OneTimePrekeys, parley.MaxE2EEDevices); err != nil {
		return parley.E2EEDevice{}, err
	}
	a.publishDevices(ctx, actor.UserID)
	return d, nil
}

// mayKnowDevices is the rule for reading a user's devices and claiming
// their bundles: oneself, someone who shares a conversation with them, or a
// contact. Anyone else (and an unknown or disabled user) gets not_found.
func (a *App) mayKnowDevices(ctx context.Context, actor parley.Actor, userID string) error {
	if !parley.ValidID(userID) {
		return parley.Invalid("user_id", "user_id must be a user id")
	}
	if userID == actor.UserID {
		return nil
	}
	notFound := &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
	u, err := a.store.User(ctx, userID)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && u.Disabled {
		return notFound
	}
	if err != nil {
		return err
	}
	shares, err := a.store.SharesConversation(ctx, actor.UserID, userID)
	if err != nil || shares {
		return err
	}
	d, err := a.store.ContactDistance(ctx, actor.UserID, userID)
	if err != nil {
		return err
	}
	if d != 1 {
		return notFound
	}
	return nil
}

// Devices lists userID's devices (public keys) for someone who may know
// them (mayKnowDevices). Errors: unauthenticated, invalid, not_found.
func (a *App) Devices(ctx context.Context, actor parley.Actor, userID string) ([]parley.E2EEDevice, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	if err := a.mayKnowDevices(ctx, actor, userID); err != nil {
		return nil, err
	}
	return a.store.E2EEDevices(ctx, userID)
}

// ClaimBundles returns one prekey bundle per device of userID, each one-time
// prekey handed out once. Errors: as Devices, and rate_limited.
func (a *App) ClaimBundles(ctx context.Context, actor parley.Actor, userID string) ([]parley.E2EEBundle, error) {
	if err := a.e2eeActor(actor); err != nil {
		return nil, err
	}
	if err := a.mayKnowDevices(ctx, actor, userID); err != nil {
		return nil, err
	}
	return a.store.ClaimE2EEBundles(ctx, userID)
}

// SetSignedPrekey rotates the signed prekey of one of actor's devices
// (checked against the device's identity key). Errors: unauthenticated,
// invalid, not_found (not actor's device), rate_limited.
func (a *App) SetSignedPrekey(ctx context.Context, actor parley.Actor, deviceID string, p parley.SignedPrekey) error {
	if err := a.e2eeActor(actor); err != nil {
		return err
	}
	d, err := a.ownDevice(ctx, actor, deviceID)
	if err != nil {
		return err
	}
	if err := parley.CheckSignedPrekey(d.IdentitySign, p); err != nil {
		return err
	}
	return a.store.SetSignedPrekey(ctx, actor.UserID, deviceID, p)
}

// AddOneTimePrekeys uploads one-time prekeys to one of actor's devices and
// returns how many it holds. Errors: unauthenticated, invalid, too_large
// (over parley.MaxOneTimePrekeys in all), not_found, rate_limited.
func (a *App) AddOneTimePrekeys(ctx context.Context, actor parley.Actor, deviceID string, ks []parley.OneTimePrekey) (int, error) {
	if err := a.e2eeActor(actor); err != nil {
		return 0, err
	}
	if err := checkDeviceID(deviceID); err != nil {
		return 0, err
	}
	if len(ks) == 0 {
		return 0, parley.Invalid("one_time_prekeys", "one_time_prekeys must hold at least one key")
	}
	if err := parley.CheckOneTimePrekeys(ks); err != nil {
		return 0, err
	}
	return a.store.AddOneTimePrekeys(ctx, actor.UserID, deviceID, ks, parley.MaxOneTimePrekeys)
}

// PrekeyCount returns how many one-time prekeys one of actor's devices has
// left. Errors: unauthenticated, invalid, not_found.
func (a *App) PrekeyCount(ctx context.Context, actor parley.Actor, deviceID string) (int, error) {
	if actor.Anonymous() {
		return 0, unauthenticated("sign in first")
	}
	if err := checkDeviceID(deviceID); err != nil {
		return 0, err
	}
	return a.store.OneTimePrekeyCount(ctx, actor.UserID, deviceID)
}

// DeleteDevice removes one of actor's devices and publishes e2ee_devices.
// Errors: unauthenticated, invalid, not_found.
func (a *App) DeleteDevice(ctx context.Context, actor parley.Actor, deviceID string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkDeviceID(deviceID); err != nil {
		return err
	}
	if err := a.store.DeleteE2EEDevice(ctx, actor.UserID, deviceID); err != nil {
		return err
	}
	a.publishDevices(ctx, actor.UserID)
	return nil
}

func (a *App) ownDevice(ctx context.Context, actor parley.Actor, deviceID string) (parley.E2EEDevice, error) {
	if err := checkDeviceID(deviceID); err != nil {
		return parley.E2EEDevice{}, err
	}
	d, err := a.store.E2EEDevice(ctx, deviceID)
	if err == nil && d.UserID != actor.UserID {
		err = &parley.Error{Code: parley.CodeNotFound, Field: "device_id", Message: "device not found"}
	}
	return d, err
}

// PutBackup stores actor's opaque key backup (parley.CheckE2EEBackup).
func (a *App) PutBackup(ctx context.Context, actor parley.Actor, blob json.RawMessage) (parley.E2EEBackup, error) {
	if err := a.e2eeActor(actor); err != nil {
		return parley.E2EEBackup{}, err
	}
	if err := parley.CheckE2EEBackup(blob); err != nil {
		return parley.E2EEBackup{}, err
	}
	b := parley.E2EEBackup{Blob: blob, UpdatedAt: a.now().UTC().Truncate(time.Millisecond)}
	return b, a.store.PutE2EEBackup(ctx, actor.UserID, b)
}

// Backup returns actor's key backup. Errors: unauthenticated, not_found.
func (a *App) Backup(ctx context.Context, actor parley.Actor) (parley.E2EEBackup, error) {
	if actor.Anonymous() {
		return parley.E2EEBackup{}, unauthenticated("sign in first")
	}
	return a.store.E2EEBackup(ctx, actor.UserID)
}

// DeleteBackup deletes actor's key backup. Errors: unauthenticated, not_found.
func (a *App) DeleteBackup(ctx context.Context, actor parley.Actor) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	return a.store.DeleteE2EEBackup(ctx, actor.UserID)
}

// devicesFrame is {"type":"e2ee_devices","user_id","devices":[ids]}.
type devicesFrame struct {
	Type    parley.EventKind `json:"type"`
	UserID  string           `json:"user_id"`
	Devices []string         `json:"devices"`
}

// publishDevices tells userID's own connections and every member of each
// of their conversations that their device list changed (a member of
// several shared conversations may get it more than once).
func (a *App) publishDevices(ctx context.Context, userID string) {
	ds, err := a.store.E2EEDevices(ctx, userID)
	if err != nil {
		a.log.Warn("e2ee_devices not published", "user_id", userID, "err", err)
		return
	}
	f := devicesFrame{Type: parley.EventE2EEDevices, UserID: userID, Devices: []string{}}
	for _, d := range ds {
		f.Devices = append(f.Devices, d.ID)
	}
	enc := frame(f)
	a.publish(ctx, parley.Event{Kind: parley.EventE2EEDevices, UserIDs: []string{userID}, Frame: enc})
	convs, err := a.store.ConversationIDs(ctx, userID)
	if err != nil {
		a.log.Warn("e2ee_devices not published to conversations", "user_id", userID, "err", err)
		return
	}
	for _, id := range convs {
		a.publish(ctx, parley.Event{Kind: parley.EventE2EEDevices, ConversationID: id, Frame: enc})
	}
}

// checkEncryptedInput enforces who carries the text: in an encrypted
// conversation the envelope (body empty), elsewhere the body (no envelope).
func checkEncryptedInput(encrypted bool, body string, env json.RawMessage) error {
	if encrypted {
		if env == nil {
			return parley.Invalid("e2ee", "this conversation is end-to-end encrypted: only a client with end-to-end encryption can post to it (send an e2ee envelope, not a plaintext body)")
		}
		if body != "" {
			return parley.Invalid("body", "this conversation is end-to-end encrypted: body must be empty")
		}
		return nil
	}
	if env != nil {
		return parley.Invalid("e2ee", "this conversation is not end-to-end encrypted")
	}
	return nil
}

// checkEnvelope checks env's shape for a conversation of kind and that its
// sender_device is one of actor's devices.
func (a *App) checkEnvelope(ctx context.Context, actor parley.Actor, kind parley.ConversationKind, env json.RawMessage) error {
	e, err := parley.ParseEnvelope(env, kind == parley.KindGroup)
	if err != nil {
		return err
	}
	d, err := a.store.E2EEDevice(ctx, e.SenderDevice)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && d.UserID != actor.UserID {
		return parley.Invalid("e2ee", "e2ee: sender_device is not one of your registered devices")
	}
	return err
}

// envelopeOrNil maps an absent or JSON null e2ee field to nil.
func envelopeOrNil(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// EncryptedBlobMIME is the only type of file an encrypted message binds:
// the client encrypts a file before uploading it (docs/e2ee.md §7), so the
// server sniffs nothing but random bytes.
const EncryptedBlobMIME = "application/octet-stream"

// checkEncryptedBlobs refuses files of an encrypted message that are not
// opaque blobs (an unencrypted upload would put the file in the clear
// beside ciphertext).
func checkEncryptedBlobs(as []parley.Attachment) error {
	for _, a := range as {
		if a.MIME != EncryptedBlobMIME {
			return parley.Invalid("attachment_ids",
				"files of an encrypted conversation must be encrypted before upload (%s, got %s)", EncryptedBlobMIME, a.MIME)
		}
	}
	return nil
}
