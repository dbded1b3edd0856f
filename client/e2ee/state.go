package e2ee

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"time"

	"github.com/parley-chat/parley"
)

// State is everything one device keeps: its private keys, its sessions and
// sender keys, what it has seen and the plaintexts it has decrypted or sent
// (a message key works once: history shown again comes from here). It is
// plain data, saved as JSON by a StateStore.
type State struct {
	V                int                       `json:"v"`
	UserID           string                    `json:"user_id"`
	DeviceID         string                    `json:"device_id"`
	Name             string                    `json:"name"`
	IdentitySignSeed []byte                    `json:"identity_sign_seed"`
	IdentityDH       KeyPair                   `json:"identity_dh"`
	SignedPrekeys    []SignedPrekeyPair        `json:"signed_prekeys"` // newest last
	OneTimePrekeys   map[uint32]KeyPair        `json:"one_time_prekeys"`
	NextPrekeyID     uint32                    `json:"next_prekey_id"`
	Sessions         map[string][]*Session     `json:"sessions"`         // peer device → sessions, active first
	SendCtr          map[string]uint64         `json:"send_ctr"`         // conversation → last ctr sent
	SeenCtr          map[string]uint64         `json:"seen_ctr"`         // conversation/device → highest ctr
	SenderKeys       map[string]*SenderKey     `json:"sender_keys"`      // conversation → own sender key
	PeerSenderKeys   map[string]*PeerSenderKey `json:"peer_sender_keys"` // conversation/device → theirs
	Peers            map[string]*Peer          `json:"peers"`            // user → known devices
	Plain            map[string]Inner          `json:"plain"`            // message key (PlainKey) → plaintext
	PlainOrder       []string                  `json:"plain_order"`
	Failures         map[string]int            `json:"failures"` // decryption failures by reason
}

// SignedPrekeyPair is one of this device's signed prekeys.
type SignedPrekeyPair struct {
	ID      uint32    `json:"id"`
	Pair    KeyPair   `json:"pair"`
	Created time.Time `json:"created"`
}

// Peer is what this device knows of another user's devices, to warn when
// they change (trust on first use) and to remember verification.
type Peer struct {
	Devices  map[string][]byte `json:"devices"` // device id → identity signing key
	Verified bool              `json:"verified"`
	Changed  bool              `json:"changed"` // the device set changed since the user last looked
}

// Limits of the state.
const (
	MaxPlainCache     = 20000 // plaintexts kept
	maxSessionsPerDev = 4
	SignedPrekeyEvery = 7 * 24 * time.Hour
	SignedPrekeyKeep  = 30 * 24 * time.Hour
	OneTimePrekeys    = 100
	ReplenishBelow    = 20
)

// Device is one device's e2ee engine. It is not safe for concurrent use:
// callers serialise (client.Session holds a lock) and save State after
// each change.
type Device struct {
	St   *State
	Rand io.Reader
	Now  func() time.Time
}

// NewDevice makes a device with fresh identity keys, a signed prekey and
// OneTimePrekeys one-time prekeys, to be registered (Registration).
func NewDevice(r io.Reader, userID, name string, now time.Time) (*Device, error) {
	seed := make([]byte, 32)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, err
	}
	ikd, err := NewKeyPair(r)
	if err != nil {
		return nil, err
	}
	d := &Device{St: &State{V: 1, UserID: userID, Name: name, IdentitySignSeed: seed, IdentityDH: ikd, NextPrekeyID: 1}, Rand: r,
		Now: func() time.Time { return now }}
	d.init()
	if _, err := d.RotateSignedPrekey(); err != nil {
		return nil, err
	}
	if _, err := d.NewOneTimePrekeys(OneTimePrekeys); err != nil {
		return nil, err
	}
	return d, nil
}

// Open wraps a loaded state.
func Open(st *State, r io.Reader) *Device {
	d := &Device{St: st, Rand: r, Now: time.Now}
	d.init()
	return d
}

func (d *Device) init() {
	s := d.St
	if s.OneTimePrekeys == nil {
		s.OneTimePrekeys = map[uint32]KeyPair{}
	}
	if s.Sessions == nil {
		s.Sessions = map[string][]*Session{}
	}
	if s.SendCtr == nil {
		s.SendCtr = map[string]uint64{}
	}
	if s.SeenCtr == nil {
		s.SeenCtr = map[string]uint64{}
	}
	if s.SenderKeys == nil {
		s.SenderKeys = map[string]*SenderKey{}
	}
	if s.PeerSenderKeys == nil {
		s.PeerSenderKeys = map[string]*PeerSenderKey{}
	}
	if s.Peers == nil {
		s.Peers = map[string]*Peer{}
	}
	if s.Plain == nil {
		s.Plain = map[string]Inner{}
	}
	if s.Failures == nil {
		s.Failures = map[string]int{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
}

func (d *Device) signKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(d.St.IdentitySignSeed) }

// IdentitySign is this device's public identity signing key.
func (d *Device) IdentitySign() []byte { return d.signKey().Public().(ed25519.PublicKey) }

// SignedPrekey is the current signed prekey, public and signed.
func (d *Device) SignedPrekey() parley.SignedPrekey {
	p := d.St.SignedPrekeys[len(d.St.SignedPrekeys)-1]
	return parley.SignedPrekey{ID: p.ID, Key: p.Pair.Pub, Sig: ed25519.Sign(d.signKey(), parley.SignedPrekeyMessage(p.ID, p.Pair.Pub))}
}

// Registration returns the public keys to register, with every one-time
// prekey held.
func (d *Device) Registration() (ikSign, ikDH, ikDHSig []byte, spk parley.SignedPrekey, opks []parley.OneTimePrekey) {
	for id, k := range d.St.OneTimePrekeys {
		opks = append(opks, parley.OneTimePrekey{ID: id, Key: k.Pub})
	}
	slices.SortFunc(opks, func(a, b parley.OneTimePrekey) int { return int(a.ID) - int(b.ID) })
	return d.IdentitySign(), d.St.IdentityDH.Pub, signIdentity(d.signKey(), d.St.IdentityDH.Pub), d.SignedPrekey(), opks
}

// NewOneTimePrekeys makes n one-time prekeys and returns their public halves.
func (d *Device) NewOneTimePrekeys(n int) ([]parley.OneTimePrekey, error) {
	var out []parley.OneTimePrekey
	for range n {
		k, err := NewKeyPair(d.Rand)
		if err != nil {
			return nil, err
		}
		id := d.St.NextPrekeyID
		d.St.NextPrekeyID++
		d.St.OneTimePrekeys[id] = k
		out = append(out, parley.OneTimePrekey{ID: id, Key: k.Pub})
	}
	return out, nil
}

// SignedPrekeyDue reports whether the signed prekey is older than a week.
func (d *Device) SignedPrekeyDue() bool {
	n := len(d.St.SignedPrekeys)
	return n == 0 || d.Now().Sub(d.St.SignedPrekeys[n-1].Created) > SignedPrekeyEvery
}

// RotateSignedPrekey makes a new signed prekey; old ones are kept
// SignedPrekeyKeep for messages in flight.
func (d *Device) RotateSignedPrekey() (parley.SignedPrekey, error) {
	k, err := NewKeyPair(d.Rand)
	if err != nil {
		return parley.SignedPrekey{}, err
	}
	now := d.Now()
	id := d.St.NextPrekeyID
	d.St.NextPrekeyID++
	kept := d.St.SignedPrekeys[:0]
	for _, p := range d.St.SignedPrekeys {
		if now.Sub(p.Created) < SignedPrekeyKeep {
			kept = append(kept, p)
		}
	}
	d.St.SignedPrekeys = append(kept, SignedPrekeyPair{ID: id, Pair: k, Created: now})
	return d.SignedPrekey(), nil
}

func (d *Device) signedPrekey(id uint32) (KeyPair, bool) {
	for _, p := range d.St.SignedPrekeys {
		if p.ID == id {
			return p.Pair, true
		}
	}
	return KeyPair{}, false
}

// PlainKey is the cache key of a message's plaintext: its id and a digest
// of its ciphertexts (an edit has a new envelope, so a new key).
func PlainKey(messageID string, env parley.Envelope) string {
	h := sha256.New()
	h.Write([]byte(env.SenderDevice))
	if env.Group != nil {
		h.Write(env.Group.CT)
	}
	for _, r := range env.Recipients {
		h.Write(r.CT)
	}
	return messageID + ":" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Remember keeps a plaintext (bounded; the oldest go first).
func (d *Device) Remember(key string, in Inner) {
	if _, ok := d.St.Plain[key]; !ok {
		d.St.PlainOrder = append(d.St.PlainOrder, key)
	}
	d.St.Plain[key] = in
	for len(d.St.PlainOrder) > MaxPlainCache {
		delete(d.St.Plain, d.St.PlainOrder[0])
		d.St.PlainOrder = d.St.PlainOrder[1:]
	}
}

// ObserveDevices records userID's current devices and reports whether they
// differ from what this device knew (never on the first sight: trust on
// first use). A change clears Verified and sets Changed.
func (d *Device) ObserveDevices(userID string, devs []parley.E2EEDevice) bool {
	now := map[string][]byte{}
	for _, dv := range devs {
		now[dv.ID] = dv.IdentitySign
	}
	p := d.St.Peers[userID]
	if p == nil {
		d.St.Peers[userID] = &Peer{Devices: now}
		return false
	}
	same := len(p.Devices) == len(now)
	for id, k := range now {
		if old, ok := p.Devices[id]; !ok || string(old) != string(k) {
			same = false
		}
	}
	if same {
		return false
	}
	p.Devices, p.Verified, p.Changed = now, false, true
	return true
}
