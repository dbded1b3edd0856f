package e2ee

import (
	"bytes"
	"crypto/ed25519"

	"github.com/parley-chat/parley"
)

// X3DH (docs/e2ee.md §4).

// VerifyBundle checks a claimed bundle's signatures with its identity key.
func VerifyBundle(b parley.E2EEBundle) error {
	d := parley.E2EEDevice{IdentitySign: b.IdentitySign, IdentityDH: b.IdentityDH, IdentityDHSig: b.IdentityDHSig,
		SignedPrekey: b.SignedPrekey}
	if err := parley.CheckE2EEDevice(d); err != nil {
		return &DecryptError{Reason: ErrForged, Detail: "bundle signature: " + err.Error()}
	}
	if b.OneTimePrekey != nil && len(b.OneTimePrekey.Key) != KeySize {
		return &DecryptError{Reason: ErrForged, Detail: "bad one-time prekey"}
	}
	return nil
}

// associatedData is AD = "ParleyAD1" || IKs_A || IKd_A || IKs_B || IKd_B.
func associatedData(iksA, ikdA, iksB, ikdB []byte) []byte {
	ad := make([]byte, 0, len(adPrefix)+128)
	ad = append(ad, adPrefix...)
	ad = append(ad, iksA...)
	ad = append(ad, ikdA...)
	ad = append(ad, iksB...)
	return append(ad, ikdB...)
}

func x3dhSecret(dhs ...[]byte) []byte {
	ikm := bytes.Repeat([]byte{0xFF}, 32)
	for _, d := range dhs {
		ikm = append(ikm, d...)
	}
	return hkdfKey(zeroSalt, ikm, infoX3DH, 32)
}

// x3dhInitiate computes SK as initiator A (identity ikdA, ephemeral ek)
// towards bundle b (already verified).
func x3dhInitiate(ikdA []byte, ek []byte, b parley.E2EEBundle) ([]byte, error) {
	dh1, err := dh(ikdA, b.SignedPrekey.Key)
	if err != nil {
		return nil, err
	}
	dh2, err := dh(ek, b.IdentityDH)
	if err != nil {
		return nil, err
	}
	dh3, err := dh(ek, b.SignedPrekey.Key)
	if err != nil {
		return nil, err
	}
	parts := [][]byte{dh1, dh2, dh3}
	if b.OneTimePrekey != nil {
		dh4, err := dh(ek, b.OneTimePrekey.Key)
		if err != nil {
			return nil, err
		}
		parts = append(parts, dh4)
	}
	return x3dhSecret(parts...), nil
}

// x3dhRespond computes SK as responder B from its identity ikdB, signed
// prekey spkB and one-time prekey opkB (nil if none was used).
func x3dhRespond(ikdB, spkB, opkB []byte, ikdA, ek []byte) ([]byte, error) {
	dh1, err := dh(spkB, ikdA)
	if err != nil {
		return nil, err
	}
	dh2, err := dh(ikdB, ek)
	if err != nil {
		return nil, err
	}
	dh3, err := dh(spkB, ek)
	if err != nil {
		return nil, err
	}
	parts := [][]byte{dh1, dh2, dh3}
	if opkB != nil {
		dh4, err := dh(opkB, ek)
		if err != nil {
			return nil, err
		}
		parts = append(parts, dh4)
	}
	return x3dhSecret(parts...), nil
}

// signIdentity returns IKd_sig for an identity pair.
func signIdentity(sign ed25519.PrivateKey, ikdPub []byte) []byte {
	return ed25519.Sign(sign, parley.IdentityDHMessage(ikdPub))
}
