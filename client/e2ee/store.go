package e2ee

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// StateStore loads and saves a device's State.
type StateStore interface {
	// Load returns the saved state; fs.ErrNotExist when there is none.
	Load() (*State, error)
	// Save replaces the saved state durably.
	Save(*State) error
}

// FileStore keeps the state in one JSON file, mode 0600, replaced
// atomically (write to a temporary file, fsync, rename).
type FileStore struct{ Path string }

// Load implements StateStore.
func (f FileStore) Load() (*State, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, errors.New("e2ee: state file " + f.Path + " is corrupt: " + err.Error())
	}
	return &s, nil
}

// Save implements StateStore.
func (f FileStore) Save(s *State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".e2ee-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}

// MemStore keeps the state in memory (tests, short-lived bots).
type MemStore struct{ s []byte }

// Load implements StateStore.
func (m *MemStore) Load() (*State, error) {
	if m.s == nil {
		return nil, fs.ErrNotExist
	}
	var s State
	return &s, json.Unmarshal(m.s, &s)
}

// Save implements StateStore.
func (m *MemStore) Save(s *State) error {
	b, err := json.Marshal(s)
	m.s = b
	return err
}

// BackupState returns the part of the state a backup carries.
func (d *Device) BackupState() BackupState {
	b := BackupState{DeviceID: d.St.DeviceID, IdentitySignPriv: d.St.IdentitySignSeed, IdentityDHPriv: d.St.IdentityDH.Priv,
		SignedPrekeys: []BackupPrekey{}, OneTimePrekeys: []BackupPrekey{}}
	for _, p := range d.St.SignedPrekeys {
		b.SignedPrekeys = append(b.SignedPrekeys, BackupPrekey{ID: p.ID, Priv: p.Pair.Priv})
	}
	for id, k := range d.St.OneTimePrekeys {
		b.OneTimePrekeys = append(b.OneTimePrekeys, BackupPrekey{ID: id, Priv: k.Priv})
	}
	ext, _ := json.Marshal(map[string]any{"user_id": d.St.UserID, "name": d.St.Name, "next_prekey_id": d.St.NextPrekeyID})
	b.Ext = ext
	return b
}

// Restore rebuilds a device from a backup: its identity and prekeys, no
// sessions (they restart with a new X3DH; older history stays unreadable).
func Restore(b BackupState, userID string, d *Device) error {
	ikd, err := KeyPairFrom(b.IdentityDHPriv)
	if err != nil || len(b.IdentitySignPriv) != 32 {
		return errors.New("e2ee: the backup holds malformed keys")
	}
	st := &State{V: 1, UserID: userID, DeviceID: b.DeviceID, IdentitySignSeed: b.IdentitySignPriv, IdentityDH: ikd, NextPrekeyID: 1}
	var ext struct {
		Name         string `json:"name"`
		NextPrekeyID uint32 `json:"next_prekey_id"`
	}
	_ = json.Unmarshal(b.Ext, &ext) // another client's ext is ignored
	st.Name = ext.Name
	for _, p := range b.SignedPrekeys {
		kp, err := KeyPairFrom(p.Priv)
		if err != nil {
			return errors.New("e2ee: the backup holds a malformed prekey")
		}
		st.SignedPrekeys = append(st.SignedPrekeys, SignedPrekeyPair{ID: p.ID, Pair: kp, Created: d.Now()})
		st.NextPrekeyID = max(st.NextPrekeyID, p.ID+1)
	}
	st.OneTimePrekeys = map[uint32]KeyPair{}
	for _, p := range b.OneTimePrekeys {
		kp, err := KeyPairFrom(p.Priv)
		if err != nil {
			return errors.New("e2ee: the backup holds a malformed prekey")
		}
		st.OneTimePrekeys[p.ID] = kp
		st.NextPrekeyID = max(st.NextPrekeyID, p.ID+1)
	}
	st.NextPrekeyID = max(st.NextPrekeyID, ext.NextPrekeyID)
	if len(st.SignedPrekeys) == 0 {
		return errors.New("e2ee: the backup holds no signed prekey")
	}
	d.St = st
	d.init()
	return nil
}
