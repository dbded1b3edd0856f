// Package e2ee is Parley's end-to-end encryption for Go clients (the SDK
// and the terminal client): X3DH key agreement, the Double Ratchet for
// direct chats, sender keys for groups, the inner plaintext checks, the
// safety number and the passphrase key backup, exactly as docs/e2ee.md
// specifies them, so that it interoperates with the web client.
//
// It imports the root package only (for the envelope types). Nothing here
// talks to the network: client.Session drives it.
package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol constants (docs/e2ee.md).
const (
	KeySize         = 32
	MaxSkip         = 1000 // message keys skipped in one chain
	MaxSkippedKeys  = 2000 // skipped keys kept per session (oldest dropped)
	headerSize      = 40
	infoX3DH        = "ParleyX3DH1"
	infoRatchet     = "ParleyRatchet1"
	infoMsg         = "ParleyMsg1"
	adPrefix        = "ParleyAD1"
	groupAADPrefix  = "ParleyGroup1"
	groupSigPrefix  = "ParleyGroupSig1"
	safetyPrefix    = "ParleySafety1"
	backupAAD       = "ParleyBackup1"
	safetyRounds    = 5200
	maxOldChains    = 16 // receiving chains remembered to tell a replay from a forgery
	maxSkipPerGroup = MaxSkip
)

var zeroSalt = make([]byte, 32)

func hkdfKey(salt, ikm []byte, info string, n int) []byte {
	k, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		panic("e2ee: hkdf: " + err.Error()) // only for n > 255*32
	}
	return k
}

// kdfRK is KDF_RK: (root key', chain key).
func kdfRK(rk, dh []byte) ([]byte, []byte) {
	k := hkdfKey(rk, dh, infoRatchet, 64)
	return k[:32], k[32:]
}

// kdfCK is KDF_CK: (chain key', message key).
func kdfCK(ck []byte) ([]byte, []byte) {
	return hmacSHA256(ck, 0x02), hmacSHA256(ck, 0x01)
}

func hmacSHA256(key []byte, b byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte{b})
	return m.Sum(nil)
}

// seal is ENC(mk, pt, ad) of docs/e2ee.md §5.
func seal(mk, pt, ad []byte) []byte {
	aead, nonce := msgAEAD(mk)
	return aead.Seal(nil, nonce, pt, ad)
}

// open is ENC's inverse; any failure is ErrForged.
func open(mk, ct, ad []byte) ([]byte, error) {
	aead, nonce := msgAEAD(mk)
	pt, err := aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, ErrForged
	}
	return pt, nil
}

func msgAEAD(mk []byte) (cipher.AEAD, []byte) {
	okm := hkdfKey(zeroSalt, mk, infoMsg, 44)
	return newGCM(okm[:32]), okm[32:44]
}

func newGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("e2ee: aes: " + err.Error()) // key is always 32 bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic("e2ee: gcm: " + err.Error())
	}
	return g
}

// dh is X25519(priv, pub). A low-order public key (all-zero output) is ErrForged.
func dh(priv, pub []byte) ([]byte, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, ErrForged
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, ErrForged
	}
	s, err := k.ECDH(p)
	if err != nil {
		return nil, ErrForged
	}
	return s, nil
}

// KeyPair is an X25519 key pair (raw 32-byte keys).
type KeyPair struct {
	Priv []byte `json:"priv"`
	Pub  []byte `json:"pub"`
}

// NewKeyPair makes an X25519 pair from 32 bytes of r.
func NewKeyPair(r io.Reader) (KeyPair, error) {
	priv := make([]byte, 32)
	if _, err := io.ReadFull(r, priv); err != nil {
		return KeyPair{}, err
	}
	return KeyPairFrom(priv)
}

// KeyPairFrom returns the pair of a raw X25519 private key.
func KeyPairFrom(priv []byte) (KeyPair, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Priv: append([]byte{}, priv...), Pub: k.PublicKey().Bytes()}, nil
}

// Decryption outcomes (docs/e2ee.md §7). Their messages are what clients
// show after "could not decrypt: ".
var (
	ErrReplay    = errors.New("replayed or reordered")
	ErrForged    = errors.New("forged or corrupted")
	ErrTruncated = errors.New("truncated")
	ErrNoKey     = errors.New("not encrypted for this device")
	ErrUntrusted = errors.New("unknown sender device")
)

// DecryptError is a decryption failure: Reason is one of the errors above.
type DecryptError struct {
	Reason error
	Detail string
}

func (e *DecryptError) Error() string {
	if e.Detail == "" {
		return "could not decrypt: " + e.Reason.Error()
	}
	return fmt.Sprintf("could not decrypt: %s (%s)", e.Reason, e.Detail)
}

func (e *DecryptError) Unwrap() error { return e.Reason }

func u32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
