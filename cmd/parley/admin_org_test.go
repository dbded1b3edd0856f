package main

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// TestAdminOrgCommands: an organisation is created, listed and changed
// from the command line, and create-admin --org makes its organisation
// admin; bad input is refused with the field named.
func TestAdminOrgCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	code, out, errOut := runAdminCmd(t, "", "org", "create", "--data-dir", dir, "--slug", "Acme", "--name", "Acme Ltd",
		"--max-users", "5", "--require-2fa")
	if code != 0 || !strings.Contains(out, "created organisation acme") || !strings.Contains(out, "registration invite") {
		t.Fatalf("org create: %d %q %q", code, out, errOut)
	}
	if code, _, e := runAdminCmd(t, "", "org", "create", "--data-dir", dir, "--slug", "acme", "--name", "Again"); code != 1 || !strings.Contains(e, "slug") {
		t.Fatalf("duplicate slug: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "", "org", "create", "--data-dir", dir, "--slug", "-bad", "--name", "Bad"); code != 1 || !strings.Contains(e, "slug") {
		t.Fatalf("bad slug: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "", "org", "create", "--data-dir", dir, "--slug", "x2", "--name", "X", "--registration", "maybe"); code != 1 || !strings.Contains(e, "registration") {
		t.Fatalf("bad registration: %d %q", code, e)
	}
	if code, _, _ := runAdminCmd(t, "", "org", "create", "--data-dir", dir, "--slug", "noname"); code != 2 {
		t.Fatalf("missing --name: %d", code)
	}
	if code, _, _ := runAdminCmd(t, "", "org"); code != 2 {
		t.Fatalf("org without subcommand: %d", code)
	}
	code, out, errOut = runAdminCmd(t, "", "org", "update", "acme", "--data-dir", dir, "--registration", "open", "--max-message-chars", "100")
	if code != 0 || !strings.Contains(out, "registration open") || !strings.Contains(out, "require 2fa true") {
		t.Fatalf("org update: %d %q %q", code, out, errOut)
	}
	if code, _, e := runAdminCmd(t, "", "org", "update", "nope", "--data-dir", dir, "--name", "N"); code != 1 || !strings.Contains(e, "no organisation") {
		t.Fatalf("update unknown: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "", "org", "update", "acme", "--data-dir", dir, "--max-users", "-1"); code != 1 || !strings.Contains(e, "max_users") {
		t.Fatalf("negative limit: %d %q", code, e)
	}
	code, out, errOut = runAdminCmd(t, "", "org", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "acme") || !strings.Contains(out, "default") || !strings.Contains(out, "open") {
		t.Fatalf("org list: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runAdminCmd(t, "boss-password\n", "create-admin", "--data-dir", dir, "--username", "boss", "--org", "acme", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin boss") {
		t.Fatalf("create-admin --org: %d %q %q", code, out, errOut)
	}
	if code, _, e := runAdminCmd(t, "pw-password\n", "create-user", "--data-dir", dir, "--username", "lost", "--org", "nope", "--password-stdin"); code != 1 || !strings.Contains(e, "organisation") {
		t.Fatalf("create-user in unknown org: %d %q", code, e)
	}
	withStore(t, dir, func(s parley.Store, a *app.App) {
		o, err := s.OrgBySlug(ctx, "acme")
		if err != nil || o.Registration != parley.RegistrationOpen || o.Limits.MaxUsers != 5 || o.Limits.MaxMessageChars != 100 || !o.RequireTwoFactor {
			t.Fatalf("stored organisation %+v %v", o, err)
		}
		u, err := s.UserByUsername(ctx, "boss")
		if err != nil || u.Org != o.ID || u.Role != parley.UserRoleAdmin {
			t.Fatalf("boss %+v %v", u, err)
		}
	})
}
