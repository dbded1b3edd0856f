package e2ee

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
)

// The Double Ratchet (docs/e2ee.md §5).

// skippedKey is a message key of a message not received yet.
type skippedKey struct {
	DH []byte `json:"dh"`
	N  uint32 `json:"n"`
	MK []byte `json:"mk"`
}

// PendingX3DH is what every message carries until the peer replies.
type PendingX3DH struct {
	IKSign []byte  `json:"ik_sign"`
	IKDH   []byte  `json:"ik_dh"`
	EK     []byte  `json:"ek"`
	SPKID  uint32  `json:"spk_id"`
	OPKID  *uint32 `json:"opk_id,omitempty"`
}

// Session is the ratchet state with one peer device. It is plain data
// (JSON) so the state store can keep it.
type Session struct {
	RK      []byte       `json:"rk"`
	DHs     KeyPair      `json:"dhs"`
	DHr     []byte       `json:"dhr,omitempty"`
	CKs     []byte       `json:"cks,omitempty"`
	CKr     []byte       `json:"ckr,omitempty"`
	Ns      uint32       `json:"ns"`
	Nr      uint32       `json:"nr"`
	PN      uint32       `json:"pn"`
	AD      []byte       `json:"ad"`
	Skipped []skippedKey `json:"skipped,omitempty"`
	// OldDHr are earlier receiving ratchet keys: a message on one of them
	// whose key is gone is a replay, not a forgery.
	OldDHr [][]byte `json:"old_dhr,omitempty"`
	// Pending is set on the initiator's side until the first reply.
	Pending *PendingX3DH `json:"pending,omitempty"`
	// PeerEK is the ephemeral key of the X3DH that built a responder's
	// session: a prekey message with the same EK belongs to this session.
	PeerEK []byte `json:"peer_ek,omitempty"`
}

func (s *Session) clone() *Session {
	c := *s
	c.Skipped = slices.Clone(s.Skipped)
	c.OldDHr = slices.Clone(s.OldDHr)
	return &c
}

// newInitiatorSession starts A's side: DHs fresh, DHr = SPK_B.
func newInitiatorSession(r io.Reader, sk, spkB, ad []byte) (*Session, error) {
	dhs, err := NewKeyPair(r)
	if err != nil {
		return nil, err
	}
	return initiatorSessionWith(dhs, sk, spkB, ad)
}

func initiatorSessionWith(dhs KeyPair, sk, spkB, ad []byte) (*Session, error) {
	out, err := dh(dhs.Priv, spkB)
	if err != nil {
		return nil, err
	}
	rk, cks := kdfRK(sk, out)
	return &Session{RK: rk, DHs: dhs, DHr: slices.Clone(spkB), CKs: cks, AD: ad}, nil
}

// newResponderSession starts B's side: DHs = the signed prekey pair, RK = SK.
func newResponderSession(sk []byte, spk KeyPair, ad []byte) *Session {
	return &Session{RK: sk, DHs: spk, AD: ad}
}

func header(pub []byte, pn, n uint32) []byte {
	h := make([]byte, 0, headerSize)
	h = append(h, pub...)
	h = u32(h, pn)
	return u32(h, n)
}

func parseHeader(h []byte) (pub []byte, pn, n uint32, err error) {
	if len(h) != headerSize {
		return nil, 0, 0, ErrTruncated
	}
	return h[:32], binary.BigEndian.Uint32(h[32:36]), binary.BigEndian.Uint32(h[36:40]), nil
}

// Encrypt encrypts pt and returns the header bytes and the ciphertext.
func (s *Session) Encrypt(pt []byte) (hdr, ct []byte) {
	var mk []byte
	s.CKs, mk = kdfCK(s.CKs)
	hdr = header(s.DHs.Pub, s.PN, s.Ns)
	s.Ns++
	return hdr, seal(mk, pt, append(slices.Clone(s.AD), hdr...))
}

// Decrypt decrypts one message. It works on a copy and replaces s's
// contents only on success, so a failure leaves the session as it was.
func (s *Session) Decrypt(r io.Reader, hdr, ct []byte) ([]byte, error) {
	c := s.clone()
	pt, err := c.decrypt(r, hdr, ct)
	if err != nil {
		return nil, err
	}
	*s = *c
	return pt, nil
}

func (s *Session) decrypt(r io.Reader, hdr, ct []byte) ([]byte, error) {
	pub, pn, n, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	if len(ct) < 16 {
		return nil, ErrTruncated
	}
	ad := append(slices.Clone(s.AD), hdr...)
	for i, k := range s.Skipped {
		if k.N == n && bytes.Equal(k.DH, pub) {
			pt, err := open(k.MK, ct, ad)
			if err != nil {
				return nil, err
			}
			s.Skipped = slices.Delete(s.Skipped, i, i+1)
			return pt, nil
		}
	}
	if s.DHr != nil && !bytes.Equal(pub, s.DHr) && slices.ContainsFunc(s.OldDHr, func(o []byte) bool { return bytes.Equal(o, pub) }) {
		return nil, ErrReplay // an earlier chain whose key for n is used or dropped
	}
	if s.DHr == nil || !bytes.Equal(pub, s.DHr) {
		if err := s.skip(pn); err != nil {
			return nil, err
		}
		if err := s.ratchetStep(r, pub); err != nil {
			return nil, err
		}
	} else if n < s.Nr {
		return nil, ErrReplay
	}
	if err := s.skip(n); err != nil {
		return nil, err
	}
	var mk []byte
	s.CKr, mk = kdfCK(s.CKr)
	s.Nr++
	pt, err := open(mk, ct, ad)
	if err != nil {
		return nil, err
	}
	s.Pending = nil // the peer has the session
	return pt, nil
}

// skip stores the message keys of the current receiving chain up to until.
func (s *Session) skip(until uint32) error {
	if s.CKr == nil {
		return nil
	}
	if until > s.Nr+MaxSkip {
		return ErrForged
	}
	for s.Nr < until {
		var mk []byte
		s.CKr, mk = kdfCK(s.CKr)
		s.Skipped = append(s.Skipped, skippedKey{DH: slices.Clone(s.DHr), N: s.Nr, MK: mk})
		s.Nr++
	}
	if over := len(s.Skipped) - MaxSkippedKeys; over > 0 {
		s.Skipped = slices.Delete(s.Skipped, 0, over)
	}
	return nil
}

func (s *Session) ratchetStep(r io.Reader, pub []byte) error {
	if s.DHr != nil {
		s.OldDHr = append(s.OldDHr, s.DHr)
		if over := len(s.OldDHr) - maxOldChains; over > 0 {
			s.OldDHr = slices.Delete(s.OldDHr, 0, over)
		}
	}
	s.PN, s.Ns, s.Nr = s.Ns, 0, 0
	s.DHr = slices.Clone(pub)
	out, err := dh(s.DHs.Priv, s.DHr)
	if err != nil {
		return err
	}
	s.RK, s.CKr = kdfRK(s.RK, out)
	if s.DHs, err = NewKeyPair(r); err != nil {
		return err
	}
	if out, err = dh(s.DHs.Priv, s.DHr); err != nil {
		return err
	}
	s.RK, s.CKs = kdfRK(s.RK, out)
	return nil
}
