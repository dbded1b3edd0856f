package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/apitest"
)

// TestBackupRestoreCommands runs `parley backup` against a running node
// and `parley restore` into a new directory, then the refusals an operator
// can meet.
func TestBackupRestoreCommands(t *testing.T) {
	ctx := context.Background()
	env := apitest.Start(t, nil)
	env.NewUser(t, "alice")
	out := filepath.Join(t.TempDir(), "parley.tgz")
	cmd := func(args ...string) (int, string) {
		var o, e bytes.Buffer
		code := run(ctx, args, &o, &e)
		return code, o.String() + e.String()
	}
	if code, text := cmd("backup", "--out", out, "--data-dir", env.Config.DataDir); code != 0 || !strings.Contains(text, "backup of") {
		t.Fatalf("backup: exit %d\n%s", code, text)
	}
	if code, text := cmd("backup", "--out", out, "--data-dir", env.Config.DataDir); code != 1 || !strings.Contains(text, "exists") {
		t.Errorf("backup over an existing file: exit %d\n%s", code, text)
	}
	if code, text := cmd("backup", "--out", filepath.Join(t.TempDir(), "x.tar"), "--data-dir", t.TempDir()); code != 1 || !strings.Contains(text, "no Parley database") {
		t.Errorf("backup of an empty dir: exit %d\n%s", code, text)
	}
	if code, _ := cmd("backup"); code != 2 {
		t.Errorf("backup without --out: exit %d", code)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if code, text := cmd("restore", out, "--data-dir", dst); code != 0 || !strings.Contains(text, "parley serve --data-dir "+dst) {
		t.Fatalf("restore: exit %d\n%s", code, text)
	}
	if code, text := cmd("restore", "--data-dir", dst, out); code != 1 || !strings.Contains(text, "not empty") {
		t.Errorf("restore into a non-empty dir: exit %d\n%s", code, text)
	}
	if code, text := cmd("restore", "--force", "--data-dir", dst, out); code != 0 {
		t.Errorf("restore --force: exit %d\n%s", code, text)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.tar")
	os.WriteFile(garbage, bytes.Repeat([]byte("parley"), 1000), 0o600)
	if code, text := cmd("restore", garbage, "--data-dir", t.TempDir()); code != 1 || !strings.Contains(text, "not a valid Parley backup") {
		t.Errorf("restore of garbage: exit %d\n%s", code, text)
	}
	if code, _ := cmd("restore", out); code != 2 {
		t.Errorf("restore without --data-dir: exit %d", code)
	}
	t.Setenv("PARLEY_DB", "postgres://db.internal/parley")
	if code, text := cmd("backup", "--out", filepath.Join(t.TempDir(), "pg.tar")); code != 1 || !strings.Contains(text, "pg_dump") {
		t.Errorf("backup of a PostgreSQL node: exit %d\n%s", code, text)
	}
}
