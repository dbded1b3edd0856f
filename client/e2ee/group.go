package e2ee

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"slices"

	"github.com/parley-chat/parley"
)

// Sender keys for group conversations (docs/e2ee.md §9).

// SenderKey is this device's sending chain in one group conversation.
type SenderKey struct {
	KeyID     []byte `json:"key_id"`
	CK        []byte `json:"ck"`
	Iteration uint32 `json:"iteration"`
	SignSeed  []byte `json:"sign_seed"` // Ed25519 seed of SIG
	// Members are the user ids the key was distributed for; a member
	// leaving means rotation.
	Members []string `json:"members,omitempty"`
	// SentTo are the devices that have this key.
	SentTo []string `json:"sent_to,omitempty"`
}

// NewSenderKey makes a fresh sender key (iteration 0).
func NewSenderKey(r io.Reader) (*SenderKey, error) {
	b := make([]byte, 16+32+32)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return &SenderKey{KeyID: b[:16], CK: b[16:48], SignSeed: b[48:]}, nil
}

// Distribution is the skd part of an inner plaintext: the key's current
// position, for a device that does not have it.
func (k *SenderKey) Distribution(convID string) *SKD {
	return &SKD{ConversationID: convID, KeyID: k.KeyID, Iteration: k.Iteration, ChainKey: k.CK,
		SignPub: ed25519.NewKeyFromSeed(k.SignSeed).Public().(ed25519.PublicKey)}
}

func groupAAD(convID string, keyID []byte, i uint32) []byte {
	a := append([]byte(groupAADPrefix), convID...)
	a = append(a, keyID...)
	return u32(a, i)
}

func groupSigMsg(keyID []byte, i uint32, ct []byte) []byte {
	m := append([]byte(groupSigPrefix), keyID...)
	m = u32(m, i)
	return append(m, ct...)
}

// Encrypt encrypts pt at the current iteration and advances the chain.
func (k *SenderKey) Encrypt(convID string, pt []byte) *parley.EnvelopeGroup {
	ck, mk := kdfCK(k.CK)
	i := k.Iteration
	ct := seal(mk, pt, groupAAD(convID, k.KeyID, i))
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(k.SignSeed), groupSigMsg(k.KeyID, i, ct))
	k.CK, k.Iteration = ck, i+1
	return &parley.EnvelopeGroup{KeyID: slices.Clone(k.KeyID), Iteration: i, CT: ct, Sig: sig}
}

// PeerSenderKey is another device's sender key as received.
type PeerSenderKey struct {
	KeyID     []byte            `json:"key_id"`
	CK        []byte            `json:"ck"` // chain key at Iteration
	Iteration uint32            `json:"iteration"`
	SignPub   []byte            `json:"sign_pub"`
	Skipped   map[uint32][]byte `json:"skipped,omitempty"`
}

// PeerSenderKeyFrom is a received distribution as a receiving chain.
func PeerSenderKeyFrom(d *SKD) *PeerSenderKey {
	return &PeerSenderKey{KeyID: slices.Clone(d.KeyID), CK: slices.Clone(d.ChainKey), Iteration: d.Iteration,
		SignPub: slices.Clone(d.SignPub)}
}

// Decrypt verifies and decrypts g. It works on a copy and commits only on
// success.
func (p *PeerSenderKey) Decrypt(convID string, g *parley.EnvelopeGroup) ([]byte, error) {
	if !bytes.Equal(g.KeyID, p.KeyID) {
		return nil, ErrNoKey
	}
	if len(p.SignPub) != ed25519.PublicKeySize || !ed25519.Verify(p.SignPub, groupSigMsg(g.KeyID, g.Iteration, g.CT), g.Sig) {
		return nil, ErrForged
	}
	ad := groupAAD(convID, g.KeyID, g.Iteration)
	if mk, ok := p.Skipped[g.Iteration]; ok {
		pt, err := open(mk, g.CT, ad)
		if err != nil {
			return nil, err
		}
		delete(p.Skipped, g.Iteration)
		return pt, nil
	}
	if g.Iteration < p.Iteration {
		return nil, ErrReplay
	}
	if g.Iteration-p.Iteration > maxSkipPerGroup {
		return nil, ErrForged
	}
	ck, it := p.CK, p.Iteration
	skipped := map[uint32][]byte{}
	var mk []byte
	for it < g.Iteration {
		var k []byte
		ck, k = kdfCK(ck)
		skipped[it] = k
		it++
	}
	ck, mk = kdfCK(ck)
	pt, err := open(mk, g.CT, ad)
	if err != nil {
		return nil, err
	}
	if p.Skipped == nil {
		p.Skipped = map[uint32][]byte{}
	}
	for i, k := range skipped {
		p.Skipped[i] = k
	}
	for len(p.Skipped) > MaxSkippedKeys { // drop the oldest
		lo := uint32(1<<32 - 1)
		for i := range p.Skipped {
			lo = min(lo, i)
		}
		delete(p.Skipped, lo)
	}
	p.CK, p.Iteration = ck, it+1
	return pt, nil
}
