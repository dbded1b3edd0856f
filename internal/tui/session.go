package tui

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley"
)

// Session is a signed-in account, kept in <config>/session.json (mode 0600).
type Session struct {
	Server   string `json:"server"`
	Username string `json:"username"`
	UserID   string `json:"user_id"`
	Token    string `json:"token"`
}

// ConfigDir returns dir, or <the user's config dir>/parley when dir is "".
func ConfigDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", parley.Invalid("config", "no config directory: %v (use --config)", err)
	}
	return filepath.Join(base, "parley"), nil
}

func sessionPath(dir string) string { return filepath.Join(dir, "session.json") }

// LoadSession reads the session in dir. Not signed in is CodeUnauthenticated.
func LoadSession(dir string) (Session, error) {
	b, err := os.ReadFile(sessionPath(dir)) // #nosec G304 -- the user's own config dir
	if errors.Is(err, os.ErrNotExist) {
		return Session{}, parley.Errorf(parley.CodeUnauthenticated, "not signed in: run parley chat login")
	}
	if err != nil {
		return Session{}, parley.Invalid("config", "read session: %v", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" || s.Server == "" {
		return Session{}, parley.Invalid("config", "%s is damaged; run parley chat login again", sessionPath(dir))
	}
	return s, nil
}

// SaveSession writes the session atomically with mode 0600 (the directory 0700).
func SaveSession(dir string, s Session) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return parley.Invalid("config", "%v", err)
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp, err := os.CreateTemp(dir, ".session-*")
	if err != nil {
		return parley.Invalid("config", "%v", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return parley.Invalid("config", "%v", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return parley.Invalid("config", "%v", err)
	}
	if err := tmp.Close(); err != nil {
		return parley.Invalid("config", "%v", err)
	}
	if err := os.Rename(tmp.Name(), sessionPath(dir)); err != nil {
		return parley.Invalid("config", "%v", err)
	}
	return nil
}

// RemoveSession signs out locally (the store files stay).
func RemoveSession(dir string) error {
	err := os.Remove(sessionPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// StorePath is the client store file of the session's account:
// <config>/stores/<server host>/<user id>.db.
func (s Session) StorePath(dir string) string {
	return s.accountPath(dir, ".db")
}

// KeysPath is where this account's end-to-end encryption keys live on this
// install (0600; docs/e2ee.md): next to the store, "<user id>.e2ee.json".
func (s Session) KeysPath(dir string) string { return s.accountPath(dir, ".e2ee.json") }

func (s Session) accountPath(dir, ext string) string {
	host := s.Server
	if u, err := url.Parse(s.Server); err == nil && u.Host != "" {
		host = u.Host
	}
	host = strings.NewReplacer(":", "_", "/", "_", "\\", "_").Replace(host)
	return filepath.Join(dir, "stores", host, s.UserID+ext)
}
