package e2ee

import (
	"encoding/json"
	"errors"
	"io"

	"golang.org/x/crypto/argon2"
)

// Key backup (docs/e2ee.md §8).

// Backup is the blob the server stores.
type Backup struct {
	V     int    `json:"v"`
	KDF   string `json:"kdf"`
	T     uint32 `json:"t"`
	M     uint32 `json:"m"`
	P     uint8  `json:"p"`
	Salt  []byte `json:"salt"`
	Nonce []byte `json:"nonce"`
	CT    []byte `json:"ct"`
}

// Argon2id parameters of new backups.
const (
	BackupTime    = 3
	BackupMemory  = 64 * 1024 // KiB
	BackupThreads = 1
	maxBackupMem  = 1 << 20 // KiB: refuse blobs that ask for more than 1 GiB
	maxBackupTime = 10
)

// BackupState is the common part of the state JSON both clients read.
type BackupState struct {
	DeviceID         string          `json:"device_id"`
	IdentitySignPriv []byte          `json:"identity_sign_priv"` // the 32-byte Ed25519 seed
	IdentityDHPriv   []byte          `json:"identity_dh_priv"`
	SignedPrekeys    []BackupPrekey  `json:"signed_prekeys"`
	OneTimePrekeys   []BackupPrekey  `json:"one_time_prekeys"`
	Ext              json.RawMessage `json:"ext,omitempty"`
}

// BackupPrekey is one private prekey.
type BackupPrekey struct {
	ID   uint32 `json:"id"`
	Priv []byte `json:"priv"`
}

// ErrPassphrase is a wrong passphrase or a corrupted backup.
var ErrPassphrase = errors.New("wrong passphrase or corrupted backup")

// SealBackup encrypts state under passphrase with the given Argon2id cost.
func SealBackup(r io.Reader, passphrase string, state BackupState, t, m uint32, p uint8) (Backup, error) {
	pt, err := json.Marshal(state)
	if err != nil {
		return Backup{}, err
	}
	b := Backup{V: 1, KDF: "argon2id", T: t, M: m, P: p, Salt: make([]byte, 16), Nonce: make([]byte, 12)}
	if _, err := io.ReadFull(r, b.Salt); err != nil {
		return Backup{}, err
	}
	if _, err := io.ReadFull(r, b.Nonce); err != nil {
		return Backup{}, err
	}
	key := argon2.IDKey([]byte(passphrase), b.Salt, t, m, p, 32)
	b.CT = newGCM(key).Seal(nil, b.Nonce, pt, []byte(backupAAD))
	return b, nil
}

// OpenBackup decrypts a backup. A wrong passphrase is ErrPassphrase.
func OpenBackup(passphrase string, b Backup) (BackupState, error) {
	var s BackupState
	if b.V != 1 || b.KDF != "argon2id" || len(b.Salt) != 16 || len(b.Nonce) != 12 || b.T == 0 || b.P == 0 ||
		b.M < 8*uint32(b.P) || b.M > maxBackupMem || b.T > maxBackupTime {
		return s, errors.New("not a backup this client can open")
	}
	key := argon2.IDKey([]byte(passphrase), b.Salt, b.T, b.M, b.P, 32)
	pt, err := newGCM(key).Open(nil, b.Nonce, b.CT, []byte(backupAAD))
	if err != nil {
		return s, ErrPassphrase
	}
	if err := json.Unmarshal(pt, &s); err != nil {
		return s, ErrPassphrase
	}
	return s, nil
}
