package e2ee

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
)

// EncryptFile encrypts a file for upload as an opaque blob
// (docs/e2ee.md §7): AES-256-GCM under a random key and nonce. The returned
// Attachment (without URL, name and type, which the caller sets) travels
// only inside the inner plaintext.
func EncryptFile(r io.Reader, data []byte) ([]byte, Attachment, error) {
	a := Attachment{Key: make([]byte, 32), Nonce: make([]byte, 12), Size: int64(len(data))}
	if _, err := io.ReadFull(r, a.Key); err != nil {
		return nil, a, err
	}
	if _, err := io.ReadFull(r, a.Nonce); err != nil {
		return nil, a, err
	}
	sum := sha256.Sum256(data)
	a.SHA256 = sum[:]
	return newGCM(a.Key).Seal(nil, a.Nonce, data, nil), a, nil
}

// DecryptFile decrypts a downloaded blob and checks its SHA-256.
func DecryptFile(ct []byte, a Attachment) ([]byte, error) {
	if len(a.Key) != 32 || len(a.Nonce) != 12 {
		return nil, ErrForged
	}
	pt, err := newGCM(a.Key).Open(nil, a.Nonce, ct, nil)
	if err != nil {
		return nil, ErrForged
	}
	sum := sha256.Sum256(pt)
	if subtle.ConstantTimeCompare(sum[:], a.SHA256) != 1 {
		return nil, ErrForged
	}
	return pt, nil
}
