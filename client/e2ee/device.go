package e2ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"

	"github.com/parley-chat/parley"
)

// Encrypting and decrypting envelopes (docs/e2ee.md §6–9).

// NeedBundles returns the devices among devs this device has no session
// with: claim their bundles before encrypting.
func (d *Device) NeedBundles(devs []parley.E2EEDevice) []string {
	var out []string
	for _, dv := range devs {
		if dv.ID != d.St.DeviceID && len(d.St.Sessions[dv.ID]) == 0 {
			out = append(out, dv.ID)
		}
	}
	return out
}

// nextInner fills the outer binding and the next ctr of convID.
func (d *Device) nextInner(convID string, in Inner) Inner {
	d.St.SendCtr[convID]++
	in.Kind, in.ConversationID, in.SenderDevice, in.Ctr = "msg", convID, d.St.DeviceID, d.St.SendCtr[convID]
	if in.Mentions == nil {
		in.Mentions = []string{}
	}
	if in.Attachments == nil {
		in.Attachments = []Attachment{}
	}
	return in
}

// pairwise encrypts pt for one device, starting a session from its bundle
// when there is none.
func (d *Device) pairwise(dv parley.E2EEDevice, bundles map[string]parley.E2EEBundle, pt []byte) (parley.EnvelopeRecipient, error) {
	ss := d.St.Sessions[dv.ID]
	if len(ss) == 0 {
		b, ok := bundles[dv.ID]
		if !ok {
			return parley.EnvelopeRecipient{}, errors.New("e2ee: no session and no bundle for device " + dv.ID)
		}
		s, err := d.initiate(dv, b)
		if err != nil {
			return parley.EnvelopeRecipient{}, err
		}
		ss = []*Session{s}
		d.St.Sessions[dv.ID] = ss
	}
	s := ss[0]
	hdr, ct := s.Encrypt(pt)
	r := parley.EnvelopeRecipient{Device: dv.ID, Type: "msg", Header: hdr, CT: ct}
	if p := s.Pending; p != nil {
		r.Type = "prekey"
		r.X3DH = &parley.EnvelopeX3DH{IKSign: slices.Clone(p.IKSign), IKDH: slices.Clone(p.IKDH), EK: slices.Clone(p.EK),
			SPKID: p.SPKID, OPKID: p.OPKID}
	}
	return r, nil
}

// initiate runs X3DH as initiator towards dv with its claimed bundle b.
func (d *Device) initiate(dv parley.E2EEDevice, b parley.E2EEBundle) (*Session, error) {
	if err := VerifyBundle(b); err != nil {
		return nil, err
	}
	if !bytes.Equal(b.IdentitySign, dv.IdentitySign) || !bytes.Equal(b.IdentityDH, dv.IdentityDH) {
		return nil, &DecryptError{Reason: ErrForged, Detail: "bundle identity differs from the device list"}
	}
	ek, err := NewKeyPair(d.Rand)
	if err != nil {
		return nil, err
	}
	return d.initiateWith(ek, b, nil)
}

// initiateWith is initiate with the ephemeral key and (if not nil) the first
// ratchet key given: test vectors fix them.
func (d *Device) initiateWith(ek KeyPair, b parley.E2EEBundle, ratchet *KeyPair) (*Session, error) {
	sk, err := x3dhInitiate(d.St.IdentityDH.Priv, ek.Priv, b)
	if err != nil {
		return nil, err
	}
	ad := associatedData(d.IdentitySign(), d.St.IdentityDH.Pub, b.IdentitySign, b.IdentityDH)
	var s *Session
	if ratchet != nil {
		s, err = initiatorSessionWith(*ratchet, sk, b.SignedPrekey.Key, ad)
	} else {
		s, err = newInitiatorSession(d.Rand, sk, b.SignedPrekey.Key, ad)
	}
	if err != nil {
		return nil, err
	}
	s.Pending = &PendingX3DH{IKSign: d.IdentitySign(), IKDH: d.St.IdentityDH.Pub, EK: ek.Pub, SPKID: b.SignedPrekey.ID}
	if b.OneTimePrekey != nil {
		id := b.OneTimePrekey.ID
		s.Pending.OPKID = &id
	}
	return s, nil
}

// EncryptDirect encrypts in for a direct conversation: one entry per
// device in devs (both users' devices; this one is skipped). bundles holds
// claimed bundles of the devices NeedBundles named.
func (d *Device) EncryptDirect(convID string, in Inner, devs []parley.E2EEDevice, bundles map[string]parley.E2EEBundle) (parley.Envelope, Inner, error) {
	in = d.nextInner(convID, in)
	pt, err := json.Marshal(in)
	if err != nil {
		return parley.Envelope{}, in, err
	}
	env := parley.Envelope{V: 1, SenderDevice: d.St.DeviceID, Recipients: []parley.EnvelopeRecipient{}}
	for _, dv := range devs {
		if dv.ID == d.St.DeviceID {
			continue
		}
		r, err := d.pairwise(dv, bundles, pt)
		if err != nil {
			return parley.Envelope{}, in, err
		}
		env.Recipients = append(env.Recipients, r)
	}
	return env, in, nil
}

// EncryptGroup encrypts in for a group conversation with the current
// members (user ids) and their devices (this one is skipped). The sender
// key is rotated when a member or a device it was given to is gone, and
// distributed (pairwise skd entries) to every device without it.
func (d *Device) EncryptGroup(convID string, in Inner, members []string, devs []parley.E2EEDevice, bundles map[string]parley.E2EEBundle) (parley.Envelope, Inner, error) {
	sk := d.St.SenderKeys[convID]
	current := map[string]bool{}
	for _, dv := range devs {
		current[dv.ID] = true
	}
	rotate := sk == nil
	if sk != nil {
		for _, u := range sk.Members {
			if !slices.Contains(members, u) {
				rotate = true
			}
		}
		for _, id := range sk.SentTo {
			if !current[id] {
				rotate = true
			}
		}
	}
	if rotate {
		var err error
		if sk, err = NewSenderKey(d.Rand); err != nil {
			return parley.Envelope{}, in, err
		}
		d.St.SenderKeys[convID] = sk
	}
	sk.Members = slices.Clone(members)
	in = d.nextInner(convID, in)
	env := parley.Envelope{V: 1, SenderDevice: d.St.DeviceID, Recipients: []parley.EnvelopeRecipient{}}
	skd := Inner{Kind: "skd", ConversationID: convID, SenderDevice: d.St.DeviceID, Ctr: in.Ctr, Mentions: []string{},
		Attachments: []Attachment{}, SKD: sk.Distribution(convID)}
	spt, err := json.Marshal(skd)
	if err != nil {
		return parley.Envelope{}, in, err
	}
	for _, dv := range devs {
		if dv.ID == d.St.DeviceID || slices.Contains(sk.SentTo, dv.ID) {
			continue
		}
		r, err := d.pairwise(dv, bundles, spt)
		if err != nil {
			return parley.Envelope{}, in, err
		}
		env.Recipients = append(env.Recipients, r)
		sk.SentTo = append(sk.SentTo, dv.ID)
	}
	pt, err := json.Marshal(in)
	if err != nil {
		return parley.Envelope{}, in, err
	}
	env.Group = sk.Encrypt(convID, pt)
	return env, in, nil
}

// Forget drops the sender key of convID so the next message rotates it
// (a member left or was removed: docs/e2ee.md §9).
func (d *Device) Forget(convID string) { delete(d.St.SenderKeys, convID) }

// Decrypt decrypts an envelope of conversation convID (group: a group
// conversation) sent by sender (the registered device named by
// env.SenderDevice; nil when unknown). It checks the inner binding and the
// ctr, and changes the state only on success. Failures are *DecryptError
// and are counted in State.Failures.
func (d *Device) Decrypt(convID string, group bool, env parley.Envelope, sender *parley.E2EEDevice) (Inner, error) {
	in, err := d.decrypt(convID, group, env, sender)
	if err != nil {
		var de *DecryptError
		if !errors.As(err, &de) {
			de = &DecryptError{Reason: err}
			if !errors.Is(err, ErrReplay) && !errors.Is(err, ErrForged) && !errors.Is(err, ErrTruncated) &&
				!errors.Is(err, ErrNoKey) && !errors.Is(err, ErrUntrusted) {
				de = &DecryptError{Reason: ErrForged, Detail: err.Error()}
			}
		}
		d.St.Failures[de.Reason.Error()]++
		return Inner{}, de
	}
	return in, nil
}

func (d *Device) decrypt(convID string, group bool, env parley.Envelope, sender *parley.E2EEDevice) (Inner, error) {
	if sender == nil || sender.ID != env.SenderDevice {
		return Inner{}, ErrUntrusted
	}
	var mine *parley.EnvelopeRecipient
	for i := range env.Recipients {
		if env.Recipients[i].Device == d.St.DeviceID {
			mine = &env.Recipients[i]
		}
	}
	// Work on copies: commit sessions and sender keys only at the end.
	var commitSession func()
	var pairwise []byte
	if mine != nil {
		pt, commit, err := d.openPairwise(*mine, sender)
		if err != nil {
			return Inner{}, err
		}
		pairwise, commitSession = pt, commit
	}
	key := convID + "/" + env.SenderDevice
	var in Inner
	var newPeerKey *PeerSenderKey
	if !group {
		if env.Group != nil {
			return Inner{}, ErrForged
		}
		if pairwise == nil {
			return Inner{}, ErrNoKey
		}
		var err error
		if in, err = ParseInner(pairwise, convID, env.SenderDevice); err != nil {
			return Inner{}, err
		}
		if in.Kind != "msg" {
			return Inner{}, ErrForged
		}
	} else {
		if env.Group == nil {
			return Inner{}, ErrTruncated
		}
		pk := d.St.PeerSenderKeys[key]
		if pairwise != nil {
			skd, err := ParseInner(pairwise, convID, env.SenderDevice)
			if err != nil {
				return Inner{}, err
			}
			if skd.Kind != "skd" {
				return Inner{}, ErrForged
			}
			if pk == nil || !bytes.Equal(pk.KeyID, skd.SKD.KeyID) {
				pk = PeerSenderKeyFrom(skd.SKD)
			}
		}
		if pk == nil {
			return Inner{}, ErrNoKey
		}
		c := clonePeerKey(pk)
		pt, err := c.Decrypt(convID, env.Group)
		if err != nil {
			return Inner{}, err
		}
		if in, err = ParseInner(pt, convID, env.SenderDevice); err != nil {
			return Inner{}, err
		}
		if in.Kind != "msg" {
			return Inner{}, ErrForged
		}
		newPeerKey = c
	}
	if in.Ctr <= d.St.SeenCtr[key] {
		return Inner{}, ErrReplay
	}
	d.St.SeenCtr[key] = in.Ctr
	if commitSession != nil {
		commitSession()
	}
	if newPeerKey != nil {
		d.St.PeerSenderKeys[key] = newPeerKey
	}
	return in, nil
}

func clonePeerKey(p *PeerSenderKey) *PeerSenderKey {
	c := *p
	c.Skipped = make(map[uint32][]byte, len(p.Skipped))
	for k, v := range p.Skipped {
		c.Skipped[k] = v
	}
	return &c
}

// openPairwise decrypts this device's entry with the session it belongs to
// (trying every session with the sender, or building one from a prekey
// entry) and returns a commit function that stores the advanced session.
func (d *Device) openPairwise(r parley.EnvelopeRecipient, sender *parley.E2EEDevice) ([]byte, func(), error) {
	ss := d.St.Sessions[sender.ID]
	var firstErr error
	for i, s := range ss {
		if r.Type == "prekey" && r.X3DH != nil && s.PeerEK != nil && !bytes.Equal(s.PeerEK, r.X3DH.EK) {
			continue // built from another X3DH
		}
		c := s.clone()
		pt, err := c.Decrypt(d.Rand, r.Header, r.CT)
		if err == nil {
			return pt, func() { d.St.Sessions[sender.ID] = promote(ss, i, c) }, nil
		}
		if firstErr == nil || errors.Is(err, ErrReplay) {
			firstErr = err
		}
	}
	if r.Type != "prekey" {
		if firstErr == nil {
			firstErr = ErrNoKey
		}
		return nil, nil, firstErr
	}
	x := r.X3DH
	if x == nil {
		return nil, nil, ErrTruncated
	}
	for _, s := range ss {
		if bytes.Equal(s.PeerEK, x.EK) {
			if firstErr == nil {
				firstErr = ErrReplay
			}
			return nil, nil, firstErr // this X3DH's session exists: its key is used
		}
	}
	if !bytes.Equal(x.IKSign, sender.IdentitySign) || !bytes.Equal(x.IKDH, sender.IdentityDH) {
		return nil, nil, &DecryptError{Reason: ErrForged, Detail: "prekey identity differs from the sender's registered device"}
	}
	spk, ok := d.signedPrekey(x.SPKID)
	if !ok {
		return nil, nil, &DecryptError{Reason: ErrNoKey, Detail: "signed prekey expired"}
	}
	var opk []byte
	if x.OPKID != nil {
		k, ok := d.St.OneTimePrekeys[*x.OPKID]
		if !ok {
			return nil, nil, &DecryptError{Reason: ErrReplay, Detail: "one-time prekey already used"}
		}
		opk = k.Priv
	}
	sk, err := x3dhRespond(d.St.IdentityDH.Priv, spk.Priv, opk, x.IKDH, x.EK)
	if err != nil {
		return nil, nil, err
	}
	s := newResponderSession(sk, spk, associatedData(x.IKSign, x.IKDH, d.IdentitySign(), d.St.IdentityDH.Pub))
	s.PeerEK = slices.Clone(x.EK)
	pt, err := s.Decrypt(d.Rand, r.Header, r.CT)
	if err != nil {
		return nil, nil, err
	}
	return pt, func() {
		if x.OPKID != nil {
			delete(d.St.OneTimePrekeys, *x.OPKID) // single use
		}
		d.St.Sessions[sender.ID] = promote(append([]*Session{s}, ss...), 0, s)
	}, nil
}

// promote returns ss with c (the advanced copy of ss[i]) first, at most
// maxSessionsPerDev long.
func promote(ss []*Session, i int, c *Session) []*Session {
	out := []*Session{c}
	for j, s := range ss {
		if j != i {
			out = append(out, s)
		}
	}
	if len(out) > maxSessionsPerDev {
		out = out[:maxSessionsPerDev]
	}
	return out
}
