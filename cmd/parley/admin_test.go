package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
	"github.com/parley-chat/parley/internal/sqlite"
)

// runAdminCmd runs `parley admin args…` with stdin and returns the exit code
// and outputs.
func runAdminCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	adminStdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"admin"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// withStore opens the data dir (no server holds it) and runs fn on an App.
func withStore(t *testing.T, dir string, fn func(s parley.Store, a *app.App)) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn(s, app.New(app.Options{Store: s, Bus: memory.New()}))
}

func TestAdminCreateAdminDisableEnable(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	code, out, errOut := runAdminCmd(t, "root-password\n", "create-admin", "--data-dir", dir, "--username", "Root", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin root") {
		t.Fatalf("create-admin: %d %q %q", code, out, errOut)
	}
	var userID string
	withStore(t, dir, func(s parley.Store, a *app.App) {
		u, err := s.UserByUsername(ctx, "root")
		if err != nil || u.Role != parley.UserRoleAdmin {
			t.Fatalf("stored admin %+v, %v", u, err)
		}
		h, _ := s.PasswordHash(ctx, u.ID)
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("admin hash %q", h)
		}
		if _, _, err := a.Login(ctx, app.LoginInput{Username: "root", Password: "root-password"}); err != nil {
			t.Fatalf("admin login: %v", err)
		}
		nu, _, err := a.Register(ctx, app.RegisterInput{Username: "mallory", Password: "mallory-password"})
		if err != nil {
			t.Fatal(err)
		}
		userID = nu.ID
	})

	// Duplicate name, weak password, missing flag, unknown command.
	if code, _, e := runAdminCmd(t, "another-password\n", "create-admin", "--data-dir", dir, "--username", "ROOT", "--password-stdin"); code != 1 || !strings.Contains(e, "taken") {
		t.Fatalf("duplicate: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "short\n", "create-admin", "--data-dir", dir, "--username", "other", "--password-stdin"); code != 1 || !strings.Contains(e, "password") {
		t.Fatalf("short password: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "", "create-admin", "--data-dir", dir, "--username", "other", "--password-stdin"); code != 1 || !strings.Contains(e, "no password") {
		t.Fatalf("empty stdin: %d %q", code, e)
	}
	if code, _, _ := runAdminCmd(t, "", "create-admin", "--data-dir", dir); code != 2 {
		t.Fatalf("missing --username: %d", code)
	}
	if code, _, _ := runAdminCmd(t, "", "frobnicate"); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}

	// Disable by username (with the flags after it), then enable by id.
	if code, out, e := runAdminCmd(t, "", "disable", "mallory", "--data-dir", dir); code != 0 || !strings.Contains(out, "disabled mallory") {
		t.Fatalf("disable: %d %q %q", code, out, e)
	}
	withStore(t, dir, func(s parley.Store, a *app.App) {
		if u, _ := s.User(ctx, userID); !u.Disabled {
			t.Fatal("not disabled")
		}
		if list, _ := s.Sessions(ctx, userID); len(list) != 0 {
			t.Fatalf("sessions survived disable: %d", len(list))
		}
	})
	if code, _, e := runAdminCmd(t, "", "enable", "--data-dir", dir, userID); code != 0 {
		t.Fatalf("enable: %d %q", code, e)
	}
	withStore(t, dir, func(s parley.Store, a *app.App) {
		if u, _ := s.User(ctx, userID); u.Disabled {
			t.Fatal("still disabled")
		}
	})
	if code, _, e := runAdminCmd(t, "", "disable", "nobody", "--data-dir", dir); code != 1 || !strings.Contains(e, "no user") {
		t.Fatalf("unknown user: %d %q", code, e)
	}
	if code, _, e := runAdminCmd(t, "", "disable", "root", "--data-dir", dir); code != 1 || !strings.Contains(e, "last enabled admin") {
		t.Fatalf("last admin: %d %q", code, e)
	}
}

func TestAdminRefusesADataDirInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir) // stands in for a running server
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code, _, e := runAdminCmd(t, "", "disable", "someone", "--data-dir", dir)
	if code != 1 || !strings.Contains(e, "stop `parley serve` first") {
		t.Fatalf("locked dir: %d %q", code, e)
	}
}

func TestAdminReadsDataDirFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PARLEY_DATA_DIR", dir)
	code, _, e := runAdminCmd(t, "env-password\n", "create-admin", "--username", "envadmin", "--password-stdin")
	if code != 0 {
		t.Fatalf("create-admin: %d %q", code, e)
	}
	withStore(t, dir, func(s parley.Store, a *app.App) {
		if _, err := s.UserByUsername(context.Background(), "envadmin"); err != nil {
			t.Fatal(err)
		}
	})
}

// startNode runs a server on dir in-process (holding the data directory,
// as `parley serve` does) until the test ends.
func startNode(t *testing.T, dir string) *server.Server {
	t.Helper()
	cfg := server.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.PasswordParams = app.FastPasswordParams()
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

func TestAdminCommandsAgainstARunningNode(t *testing.T) {
	dir, err := os.MkdirTemp("", "padm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv := startNode(t, dir)
	fi, err := os.Stat(filepath.Join(dir, server.AdminSocketName))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}
	ok := func(stdin string, want string, args ...string) string {
		t.Helper()
		code, out, e := runAdminCmd(t, stdin, append(args, "--data-dir", dir)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("admin %v: %d %q %q (want %q)", args, code, out, e, want)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		code, out, e := runAdminCmd(t, "", append(args, "--data-dir", dir)...)
		if code == 0 || !strings.Contains(e, want) {
			t.Fatalf("admin %v: %d %q %q, want failure with %q", args, code, out, e, want)
		}
	}
	ok("root-password\n", "created admin root", "create-admin", "--username", "root", "--password-stdin")
	ok("bob-password\n", "created user bob", "create-user", "--username", "bob", "--password-stdin")
	ctx := context.Background()
	if _, _, err := srv.App.Login(ctx, app.LoginInput{Username: "bob", Password: "bob-password"}); err != nil {
		t.Fatalf("bob signs in on the node: %v", err)
	}
	out := ok("", "bob", "users")
	if !strings.Contains(out, "root") || !strings.Contains(out, "admin") {
		t.Fatalf("users: %q", out)
	}
	if out := ok("", "SESSION", "sessions", "bob"); strings.Count(out, "\n") != 2 {
		t.Fatalf("sessions of bob: %q", out)
	}
	out = ok("", "new password: ", "reset-password", "bob")
	newPw := strings.TrimSpace(out[strings.Index(out, "new password: ")+len("new password: "):])
	if _, _, err := srv.App.Login(ctx, app.LoginInput{Username: "bob", Password: newPw}); err != nil {
		t.Fatalf("bob signs in with the reset password %q: %v", newPw, err)
	}
	fails("has no two-factor sign-in", "reset-2fa", "bob")
	bobUser, _ := srv.App.FindUser(ctx, app.Operator, "bob")
	bobActor := parley.Actor{UserID: bobUser.ID, Role: bobUser.Role}
	en, err := srv.App.BeginTwoFactor(ctx, bobActor, newPw)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := app.TOTPCode(en.Secret, time.Now())
	if _, err := srv.App.ConfirmTwoFactor(ctx, bobActor, code); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.App.Login(ctx, app.LoginInput{Username: "bob", Password: newPw}); err == nil {
		t.Fatal("bob signs in with a password alone while two-factor sign-in is on")
	}
	ok("", "two-factor sign-in removed for bob", "reset-2fa", "bob")
	if _, _, err := srv.App.Login(ctx, app.LoginInput{Username: "bob", Password: newPw}); err != nil {
		t.Fatalf("bob signs in after reset-2fa: %v", err)
	}
	ok("", "promoted bob", "promote", "bob")
	ok("", "demoted root", "demote", "root")
	fails("last enabled admin", "demote", "bob")
	ok("", "disabled root", "disable", "root")
	ok("", "enabled root", "enable", "root")
	fails("--yes", "delete-user", "root")
	ok("", "deleted root", "delete-user", "root", "--yes")
	fails("no user", "sessions", "root")
	out = ok("", "invite ", "invites", "create", "--uses", "3", "--expires", "48h", "--note", "the team")
	id := strings.Fields(out[strings.Index(out, "(id ")+4:])[0]
	id = strings.TrimSuffix(id, "),")
	ok("", "the team", "invites")
	ok("", "revoked invite", "invites", "revoke", id)
	fails("not found", "invites", "revoke", parley.NewID())
	fails("uses", "invites", "create", "--uses", "0")
	out = ok("", "version", "overview")
	if !strings.Contains(out, "users          1") && !strings.Contains(out, "users") {
		t.Fatalf("overview: %q", out)
	}
	out = ok("", "user.delete", "audit")
	for _, want := range []string{"invite.revoke", "invite.create", "user.enable", "user.disable", "user.demote",
		"user.promote", "user.reset_password", "user.create", "operator"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s", want, out)
		}
	}
	ok("", "user.promote", "audit", "--user", "bob")
	// The server-wide deny list, and the audit filters.
	ok("", "words\tspam, scam", "deny-list", "--words", "spam, scam", "--action", "mask")
	ok("", "action\tmask", "deny-list")
	fails("deny_patterns", "deny-list", "--patterns", "(oops")
	if out := ok("", "server.rules", "audit", "--action", "server."); strings.Contains(out, "user.") {
		t.Fatalf("audit --action server.: %q", out)
	}
}

func TestAdminSubcommandHelpListsOwnFlags(t *testing.T) {
	code, _, e := runAdminCmd(t, "", "invites", "create", "--help")
	if code != 0 || !strings.Contains(e, "-uses") || !strings.Contains(e, "-data-dir") {
		t.Fatalf("help: %d %q", code, e)
	}
	for _, foreign := range []string{"-max-file-bytes", "-s3-bucket", "-pprof", "-registration"} {
		if strings.Contains(e, foreign) {
			t.Errorf("admin invites create --help lists serve's %s", foreign)
		}
	}
}

// With PostgreSQL the command line opens the database itself, next to a
// running node, and its changes are the node's at once.
func TestAdminCommandsNextToAPostgresNode(t *testing.T) {
	db := pgtest.Schema(t)
	dir := t.TempDir()
	cfg := server.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.DB = db
	cfg.PasswordParams = app.FastPasswordParams()
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := os.Stat(filepath.Join(dir, server.AdminSocketName)); err == nil {
		t.Fatal("a PostgreSQL node serves an admin socket")
	}
	code, out, e := runAdminCmd(t, "root-password\n", "create-admin", "--db", db, "--data-dir", dir, "--username", "root", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin root") {
		t.Fatalf("create-admin: %d %q %q", code, out, e)
	}
	if _, _, err := srv.App.Login(context.Background(), app.LoginInput{Username: "root", Password: "root-password"}); err != nil {
		t.Fatalf("the node does not know the admin: %v", err)
	}
	code, out, e = runAdminCmd(t, "", "audit", "--db", db, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "user.create") {
		t.Fatalf("audit: %d %q %q", code, out, e)
	}
}
