package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// AdminSocketName is the file name of the operator socket in the data
// directory: a node on embedded SQLite serves the REST API on it to the
// `parley admin` command line, which acts as the operator (an admin) there.
// The socket is mode 0600 inside the 0700 data directory, so only the
// account that runs the server can use it.
const AdminSocketName = "admin.sock"

// runtime fills in what only the node knows for the admin overview.
func (s *Server) runtime(o *app.Overview) {
	o.Version = Version
	o.StartedAt = s.started.UTC().Truncate(time.Second)
	o.UptimeSeconds = int64(time.Since(s.started).Seconds())
	o.Store = storeName(s.cfg)
	o.Bus = busName(s.cfg)
	if s.Gateway != nil {
		o.Sockets = s.Gateway.Connections()
	}
	o.DataDirBytes = -1
	if s.cfg.DB == "" || s.cfg.S3Endpoint == "" {
		o.DataDirBytes = dirSize(s.cfg.DataDir)
	}
}

// dirSize returns the bytes of the regular files under dir (-1 if it
// cannot be read).
func dirSize(dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed while walking
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

// listenAdmin binds <data-dir>/admin.sock (SQLite only: with PostgreSQL the
// command line opens the database itself). The node holds the data
// directory's lock, so a socket file already there is stale.
func (s *Server) listenAdmin() error {
	if s.cfg.DB != "" {
		return nil
	}
	path := filepath.Join(s.cfg.DataDir, AdminSocketName)
	if len(path) > 100 {
		s.log.Warn("admin socket path too long; `parley admin` needs the server stopped", "path", path)
		return nil
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	s.adminLn = ln
	srv := &http.Server{Handler: s.HTTP.OperatorHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("admin socket failed", "err", err)
		}
	}()
	s.closers = append(s.closers, func() error {
		err := srv.Close()
		_ = os.Remove(path)
		return err
	})
	return nil
}

// publicURL is the address people open: --public-url if set, else the ACME
// domain, else the listener's (localhost when it is on every interface).
func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	if u := s.acmeURL(); u != "" {
		return u
	}
	addr := s.ln.Addr().(*net.TCPAddr)
	if addr.IP.IsUnspecified() {
		return fmt.Sprintf("%s://localhost:%d", s.scheme(), addr.Port)
	}
	return s.URL()
}

// announce logs what an operator needs at start: the URL, the registration
// policy and, on a server with no admin yet, the one-time setup link.
func (s *Server) announce(ctx context.Context) {
	url := s.publicURL()
	switch s.App.Registration() {
	case parley.RegistrationOpen:
		s.log.Info(fmt.Sprintf("registration open: anyone who can reach %s can create an account; --registration=invite to restrict", url),
			"registration", "open", "url", url)
	case parley.RegistrationInvite:
		s.log.Info(fmt.Sprintf("registration by invite: people register at %s with an invite link from an admin (admin page, or `parley admin invites create`)", url),
			"registration", "invite", "url", url)
	case parley.RegistrationClosed:
		s.log.Info(fmt.Sprintf("registration closed: admins create accounts (admin page at %s/#/admin, or `parley admin create-user`)", url),
			"registration", "closed", "url", url)
	}
	tok, err := s.App.PrepareSetup(ctx)
	if err != nil {
		s.log.Warn("could not check for an admin account", "err", err)
		return
	}
	if tok != "" {
		s.log.Warn(fmt.Sprintf("no admin account yet: open %s/?setup=%s to register the first admin (works once), or run `parley admin create-admin`", url, tok),
			"setup_url", url+"/?setup="+tok)
	}
}
