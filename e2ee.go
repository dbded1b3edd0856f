package parley

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// End-to-end encryption (docs/e2ee.md). The server keeps each device's public
// keys and relays ciphertext envelopes it cannot read; the rules below are
// what it can check: key sizes, signatures over public keys, and the shape
// and size of an envelope.

// E2EE limits.
const (
	MaxE2EEDevices         = 16        // devices per user
	MaxOneTimePrekeys      = 100       // one-time prekeys stored per device
	MaxE2EEDeviceNameChars = 64        // device name
	MaxEnvelopeBytes       = 256 << 10 // one envelope, encoded
	MaxEnvelopeRecipients  = 64        // recipient entries of one envelope
	MaxE2EEBackupBytes     = 1 << 20   // the backup blob
	E2EEKeyBytes           = 32        // X25519 and Ed25519 public keys
)

// Signature contexts (docs/e2ee.md §1).
var (
	sigContextIKd = []byte("ParleyIKd1")
	sigContextSPK = []byte("ParleySPK1")
)

// SignedPrekey is a device's medium-term X25519 prekey, signed by its
// identity signing key: Sig = Ed25519(IKs, "ParleySPK1" || u32(ID) || Key).
type SignedPrekey struct {
	ID  uint32 `json:"id"`
	Key []byte `json:"key"`
	Sig []byte `json:"sig"`
}

// OneTimePrekey is a single-use X25519 prekey.
type OneTimePrekey struct {
	ID  uint32 `json:"id"`
	Key []byte `json:"key"`
}

// E2EEDevice is one device's public identity. IdentityDHSig =
// Ed25519(IdentitySign, "ParleyIKd1" || IdentityDH). SignedPrekey is not part
// of the public device list (bundles carry it).
type E2EEDevice struct {
	ID            string       `json:"device_id"`
	UserID        string       `json:"user_id"`
	Name          string       `json:"name"`
	IdentitySign  []byte       `json:"identity_sign"`
	IdentityDH    []byte       `json:"identity_dh"`
	IdentityDHSig []byte       `json:"identity_dh_sig"`
	SignedPrekey  SignedPrekey `json:"-"`
	CreatedAt     time.Time    `json:"created_at"`
}

// E2EEBundle is what an initiator needs to start an X3DH session with one
// device: its identity, signed prekey and at most one one-time prekey (nil
// when the device has none left).
type E2EEBundle struct {
	DeviceID      string         `json:"device_id"`
	IdentitySign  []byte         `json:"identity_sign"`
	IdentityDH    []byte         `json:"identity_dh"`
	IdentityDHSig []byte         `json:"identity_dh_sig"`
	SignedPrekey  SignedPrekey   `json:"signed_prekey"`
	OneTimePrekey *OneTimePrekey `json:"one_time_prekey"`
}

// SignedPrekeyMessage is the byte string an identity key signs for a signed prekey.
func SignedPrekeyMessage(id uint32, key []byte) []byte {
	b := append([]byte{}, sigContextSPK...)
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, key...)
}

// IdentityDHMessage is the byte string an identity key signs for its X25519 identity key.
func IdentityDHMessage(key []byte) []byte { return append(append([]byte{}, sigContextIKd...), key...) }

// CheckSignedPrekey validates p's sizes and its signature by identitySign.
func CheckSignedPrekey(identitySign []byte, p SignedPrekey) error {
	if len(p.Key) != E2EEKeyBytes {
		return Invalid("signed_prekey", "signed_prekey.key must be 32 bytes")
	}
	if len(p.Sig) != ed25519.SignatureSize {
		return Invalid("signed_prekey", "signed_prekey.sig must be 64 bytes")
	}
	if len(identitySign) != ed25519.PublicKeySize ||
		!ed25519.Verify(ed25519.PublicKey(identitySign), SignedPrekeyMessage(p.ID, p.Key), p.Sig) {
		return Invalid("signed_prekey", "signed_prekey.sig does not verify with identity_sign")
	}
	return nil
}

// CheckOneTimePrekeys validates sizes and that ids are distinct within ks.
func CheckOneTimePrekeys(ks []OneTimePrekey) error {
	if len(ks) > MaxOneTimePrekeys {
		return TooLarge("one_time_prekeys", "at most %d one-time prekeys at a time", MaxOneTimePrekeys)
	}
	seen := make(map[uint32]bool, len(ks))
	for _, k := range ks {
		if len(k.Key) != E2EEKeyBytes {
			return Invalid("one_time_prekeys", "every one-time prekey key must be 32 bytes")
		}
		if seen[k.ID] {
			return Invalid("one_time_prekeys", "one-time prekey ids must be distinct")
		}
		seen[k.ID] = true
	}
	return nil
}

// CheckE2EEDevice validates a device registration: a name, key sizes and
// both signatures.
func CheckE2EEDevice(d E2EEDevice) error {
	if !utf8.ValidString(d.Name) || bytes.ContainsRune([]byte(d.Name), 0) {
		return Invalid("name", "name must be valid UTF-8 without NUL")
	}
	if n := utf8.RuneCountInString(d.Name); n > MaxE2EEDeviceNameChars {
		return TooLarge("name", "name must be at most %d characters", MaxE2EEDeviceNameChars)
	}
	if len(d.IdentitySign) != ed25519.PublicKeySize {
		return Invalid("identity_sign", "identity_sign must be a 32-byte Ed25519 public key")
	}
	if len(d.IdentityDH) != E2EEKeyBytes {
		return Invalid("identity_dh", "identity_dh must be a 32-byte X25519 public key")
	}
	if len(d.IdentityDHSig) != ed25519.SignatureSize ||
		!ed25519.Verify(ed25519.PublicKey(d.IdentitySign), IdentityDHMessage(d.IdentityDH), d.IdentityDHSig) {
		return Invalid("identity_dh_sig", "identity_dh_sig does not verify with identity_sign")
	}
	return CheckSignedPrekey(d.IdentitySign, d.SignedPrekey)
}

// Envelope is the e2ee field of a send and of a stored Message
// (docs/e2ee.md §6). The server checks only its shape (CheckEnvelope).
type Envelope struct {
	V            int                 `json:"v"`
	SenderDevice string              `json:"sender_device"`
	Recipients   []EnvelopeRecipient `json:"recipients"`
	Group        *EnvelopeGroup      `json:"group,omitempty"`
}

// EnvelopeRecipient is the pairwise ciphertext for one device.
type EnvelopeRecipient struct {
	Device string        `json:"device"`
	Type   string        `json:"type"` // "prekey" or "msg"
	Header []byte        `json:"header"`
	CT     []byte        `json:"ct"`
	X3DH   *EnvelopeX3DH `json:"x3dh,omitempty"`
}

// EnvelopeX3DH lets a responder build the session of a prekey message.
type EnvelopeX3DH struct {
	IKSign []byte  `json:"ik_sign"`
	IKDH   []byte  `json:"ik_dh"`
	EK     []byte  `json:"ek"`
	SPKID  uint32  `json:"spk_id"`
	OPKID  *uint32 `json:"opk_id,omitempty"`
}

// EnvelopeGroup is a sender-key ciphertext for a group conversation.
type EnvelopeGroup struct {
	KeyID     []byte `json:"key_id"`
	Iteration uint32 `json:"iteration"`
	CT        []byte `json:"ct"`
	Sig       []byte `json:"sig"`
}

// Envelope sizes.
const (
	EnvelopeHeaderBytes = 40
	EnvelopeKeyIDBytes  = 16
	minCiphertextBytes  = 16 // the AES-GCM tag
)

// ParseEnvelope decodes raw strictly (unknown fields, trailing data and
// non-canonical base64 are refused) and checks its shape: version 1, a
// device id, at most MaxEnvelopeRecipients distinct devices with 40-byte
// headers and ciphertexts, x3dh exactly on prekey entries, and a group part
// exactly when group is true (a direct conversation has none and needs at
// least one recipient). Errors are CodeInvalid or CodeTooLarge, field e2ee.
func ParseEnvelope(raw []byte, group bool) (Envelope, error) {
	var e Envelope
	if len(raw) > MaxEnvelopeBytes {
		return e, TooLarge("e2ee", "the e2ee envelope must be at most %d bytes", MaxEnvelopeBytes)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return e, Invalid("e2ee", "the e2ee envelope is malformed: %v", err)
	}
	if d.More() {
		return e, Invalid("e2ee", "the e2ee envelope has trailing data")
	}
	bad := func(format string, args ...any) (Envelope, error) {
		return e, Invalid("e2ee", "e2ee: "+format, args...)
	}
	if e.V != 1 {
		return bad("v must be 1")
	}
	if !ValidID(e.SenderDevice) {
		return bad("sender_device must be a device id")
	}
	if len(e.Recipients) > MaxEnvelopeRecipients {
		return e, TooLarge("e2ee", "e2ee: at most %d recipients", MaxEnvelopeRecipients)
	}
	seen := map[string]bool{}
	for _, r := range e.Recipients {
		if !ValidID(r.Device) || r.Device == e.SenderDevice || seen[r.Device] {
			return bad("every recipient device must be a distinct device id other than sender_device")
		}
		seen[r.Device] = true
		if len(r.Header) != EnvelopeHeaderBytes {
			return bad("header must be %d bytes", EnvelopeHeaderBytes)
		}
		if len(r.CT) < minCiphertextBytes {
			return bad("ct is too short")
		}
		switch r.Type {
		case "msg":
			if r.X3DH != nil {
				return bad("x3dh is only for prekey entries")
			}
		case "prekey":
			x := r.X3DH
			if x == nil || len(x.IKSign) != E2EEKeyBytes || len(x.IKDH) != E2EEKeyBytes || len(x.EK) != E2EEKeyBytes {
				return bad("a prekey entry needs x3dh with 32-byte ik_sign, ik_dh and ek")
			}
		default:
			return bad("type must be prekey or msg")
		}
	}
	if group {
		g := e.Group
		if g == nil || len(g.KeyID) != EnvelopeKeyIDBytes || len(g.CT) < minCiphertextBytes || len(g.Sig) != ed25519.SignatureSize {
			return bad("a group conversation needs group with a 16-byte key_id, ct and a 64-byte sig")
		}
	} else {
		if e.Group != nil {
			return bad("a direct conversation has no group part")
		}
		if len(e.Recipients) == 0 {
			return bad("a direct message needs at least one recipient")
		}
	}
	if !canonicalBase64(raw) {
		return bad("binary fields must be standard base64 with padding")
	}
	return e, nil
}

// canonicalBase64 reports whether raw has no escaped CR or LF: encoding/json
// decodes base64 that contains them (the wire format forbids it), and no
// other envelope string may hold one either. Padding is already enforced by
// the standard encoding.
func canonicalBase64(raw []byte) bool {
	return !bytes.Contains(raw, []byte(`\n`)) && !bytes.Contains(raw, []byte(`\r`))
}

// E2EEBackup is a user's opaque key backup (docs/e2ee.md §8).
type E2EEBackup struct {
	Blob      json.RawMessage `json:"blob"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// CheckE2EEBackup checks the backup blob's size and that it is a JSON object
// naming version 1 (the rest is opaque to the server).
func CheckE2EEBackup(blob []byte) error {
	if len(blob) > MaxE2EEBackupBytes {
		return TooLarge("blob", "the backup must be at most %d bytes", MaxE2EEBackupBytes)
	}
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(blob, &head); err != nil || head.V != 1 {
		return Invalid("blob", "the backup must be a JSON object with \"v\":1")
	}
	return nil
}

// EncryptedDirectKey is the DirectKey of the encrypted direct conversation
// between a and b: a pair may have one plain and one encrypted direct chat,
// each unique. DirectPeer understands both forms.
func EncryptedDirectKey(a, b string) string { return DirectKey(a, b) + encryptedDirectSuffix }

const encryptedDirectSuffix = "+e2ee"

// EncryptedPlaceholder is the text gateways that cannot decrypt (XMPP, MQTT)
// deliver for a message of an encrypted conversation.
const EncryptedPlaceholder = "[encrypted message — open Parley to read]"

// EncryptedPushPreview is the notification preview of an encrypted message.
const EncryptedPushPreview = "New encrypted message"

// E2EEStore persists device keys and key backups. See internal/storetest.
type E2EEStore interface {
	// CreateE2EEDevice inserts d (ID, UserID, CreatedAt set by the caller)
	// with its one-time prekeys. CodeTooLarge when the user has max devices
	// already; CodeNotFound for an unknown user.
	CreateE2EEDevice(ctx context.Context, d E2EEDevice, opks []OneTimePrekey, max int) error
	// E2EEDevice returns one device. CodeNotFound.
	E2EEDevice(ctx context.Context, id string) (E2EEDevice, error)
	// E2EEDevices lists a user's devices, oldest first.
	E2EEDevices(ctx context.Context, userID string) ([]E2EEDevice, error)
	// DeleteE2EEDevice deletes userID's device id and its prekeys. CodeNotFound.
	DeleteE2EEDevice(ctx context.Context, userID, id string) error
	// SetSignedPrekey replaces userID's device's signed prekey. CodeNotFound.
	SetSignedPrekey(ctx context.Context, userID, deviceID string, p SignedPrekey) error
	// AddOneTimePrekeys stores ks for userID's device (replacing keys with the
	// same id) and returns the count after. CodeNotFound; CodeTooLarge when
	// the count would exceed max (nothing is stored then).
	AddOneTimePrekeys(ctx context.Context, userID, deviceID string, ks []OneTimePrekey, max int) (int, error)
	// OneTimePrekeyCount returns how many one-time prekeys userID's device
	// has left. CodeNotFound.
	OneTimePrekeyCount(ctx context.Context, userID, deviceID string) (int, error)
	// ClaimE2EEBundles returns one bundle per device of userID (oldest device
	// first), each with one of its one-time prekeys, which is deleted in the
	// same transaction: concurrent claims never receive the same prekey.
	ClaimE2EEBundles(ctx context.Context, userID string) ([]E2EEBundle, error)
	// SharesConversation reports whether users a and b are both current
	// members of some conversation.
	SharesConversation(ctx context.Context, a, b string) (bool, error)
	// PutE2EEBackup stores (replaces) userID's backup.
	PutE2EEBackup(ctx context.Context, userID string, b E2EEBackup) error
	// E2EEBackup returns userID's backup. CodeNotFound.
	E2EEBackup(ctx context.Context, userID string) (E2EEBackup, error)
	// DeleteE2EEBackup deletes it. CodeNotFound when there is none.
	DeleteE2EEBackup(ctx context.Context, userID string) error
}
