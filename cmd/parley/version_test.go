package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionOfABuiltBinary builds parley the way an operator does and
// checks that `parley version` reports the build (module version, commit)
// rather than a placeholder, and that -ldflags -X still overrides it.
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	dir := t.TempDir()
	build := func(name string, extra ...string) string {
		bin := filepath.Join(dir, name)
		args := append([]string{"build", "-o", bin}, extra...)
		out, err := exec.Command(gobin, append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err = exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("parley version: %v\n%s", err, out)
		}
		return string(out)
	}
	out := build("parley", "-buildvcs=auto")
	first, _, _ := strings.Cut(out, "\n")
	if first == "parley dev" || first == "parley " || !strings.HasPrefix(first, "parley ") {
		t.Errorf("version line %q names no build", first)
	}
	if !strings.Contains(out, "built with go") {
		t.Errorf("no Go release in:\n%s", out)
	}
	// A build inside a git checkout is stamped with its commit. (The go
	// command does not stamp builds in a linked worktree, whose .git is a
	// file, nor without git.)
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Logf("not in a git checkout (%v): commit not checked", err)
	} else if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		t.Logf("linked worktree: the go command does not stamp the commit here")
	} else {
		head, _ := exec.Command("git", "rev-parse", "HEAD").Output()
		rev := strings.TrimSpace(string(head))
		if !regexp.MustCompile(`commit [0-9a-f]{40}`).MatchString(out) || !strings.Contains(out, rev) {
			t.Errorf("commit %s not reported:\n%s", rev, out)
		}
		if !strings.Contains(first, rev[:12]) {
			t.Errorf("version line %q does not name commit %s", first, rev[:12])
		}
	}
	out = build("parley-release", "-ldflags", "-X github.com/parley-chat/parley/internal/server.Version=v9.8.7")
	if first, _, _ := strings.Cut(out, "\n"); first != "parley v9.8.7" {
		t.Errorf("-ldflags override: version line %q, want %q", first, "parley v9.8.7")
	}
}
