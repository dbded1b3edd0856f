package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/tui"
)

// TestMain lets the chat tests run this test binary as the parley command
// (inside tmux): with PARLEY_CHAT_TEST_EXEC=1 it is main.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_CHAT_TEST_EXEC") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// chatCmd runs `parley <args>` in-process and returns the exit code and output.
func chatCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func historyBodies(t *testing.T, c *client.Client, conv string) map[string]int {
	t.Helper()
	ms, err := c.History(context.Background(), conv, client.HistoryQuery{After: 0, Limit: 200})
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Body]++
	}
	return out
}

// TestChatScriptable: login, send (by username and by id), tail --json
// resuming from the local store, and the documented exit codes.
func TestChatScriptable(t *testing.T) {
	env := apitest.Start(t, nil)
	bob, _ := env.NewUser(t, "bob")
	proxy := apitest.NewCutProxy(t, strings.TrimPrefix(env.URL, "http://"))
	dir := t.TempDir()
	t.Setenv("PARLEY_PASSWORD", apitest.Password)

	if code, _, _ := chatCmd("chat", "send", "--config", dir, "--to", "bob", "hi"); code != exitSignedOut {
		t.Errorf("send before login: exit %d, want %d", code, exitSignedOut)
	}
	if code, out, errs := chatCmd("chat", "login", "--config", dir, "--server", proxy.URL(), "--user", "alice", "--register"); code != 0 {
		t.Fatalf("login: exit %d: %s %s", code, out, errs)
	}
	if fi, err := os.Stat(filepath.Join(dir, "session.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v, mode %v; want 0600", err, fi.Mode())
	}
	code, out, errs := chatCmd("chat", "send", "--config", dir, "--to", "bob", "--json", "hello bob")
	if code != 0 {
		t.Fatalf("send: exit %d: %s", code, errs)
	}
	var sent parley.Message
	if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.Body != "hello bob" {
		t.Fatalf("send --json printed %q (%v)", out, err)
	}
	conv := sent.ConversationID
	if _, _, err := bob.Send(context.Background(), conv, client.SendRequest{Body: "hello alice\nline two"}); err != nil {
		t.Fatal(err)
	}
	// Bad input: usage errors exit 2, refusals 1.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"chat", "send", "--config", dir, "x"}, 2},
		{[]string{"chat", "send", "--config", dir, "--to", "bob", "--conv", conv, "x"}, 2},
		{[]string{"chat", "send", "--config", dir, "--to", "bob"}, 2},
		{[]string{"chat", "send", "--config", dir, "--to", "nobody", "x"}, exitRefused},
		{[]string{"chat", "send", "--config", dir, "--conv", "bad id", "x"}, exitRefused},
		{[]string{"chat", "send", "--config", dir, "--conv", conv, strings.Repeat("x", 100_000)}, exitRefused},
		{[]string{"chat", "tail", "--config", dir}, 2},
		{[]string{"chat", "tail", "--config", dir, "--conv", "../../etc"}, exitRefused},
	} {
		if code, _, errs := chatCmd(tc.args...); code != tc.code {
			t.Errorf("%v: exit %d (%s), want %d", tc.args[2:], code, errs, tc.code)
		}
	}
	code, out, errs = chatCmd("chat", "tail", "--config", dir, "--conv", conv, "--json", "--follow=false", "--after", "0")
	if code != 0 {
		t.Fatalf("tail: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last parley.Message
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Body != "hello alice\nline two" {
		t.Fatalf("tail's last line %q (%v)", lines[len(lines)-1], err)
	}
	for i, l := range lines {
		var m parley.Message
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Seq != int64(i+1) {
			t.Errorf("tail line %d: seq %d (%v), want %d", i, m.Seq, err, i+1)
		}
	}

	// Offline: send queues (exit 3), tail shows the local store (exit 3),
	// and the next send delivers the queued message once.
	proxy.Down()
	if code, _, _ := chatCmd("chat", "send", "--config", dir, "--to", "bob", "--timeout", "3s", "queued one"); code != exitOffline {
		t.Fatalf("offline send: exit %d, want %d", code, exitOffline)
	}
	if code, _, errs := chatCmd("chat", "send", "--config", dir, "--to", "carol", "--timeout", "3s", "x"); code != exitOffline ||
		!strings.Contains(errs, "nothing queued") {
		t.Errorf("offline send to an unknown chat: exit %d, %q", code, errs)
	}
	code, out, _ = chatCmd("chat", "tail", "--config", dir, "--conv", conv, "--follow=false", "--after", fmt.Sprint(last.Seq-1))
	if code != exitOffline || !strings.Contains(out, `hello alice\nline two`) {
		t.Fatalf("offline tail: exit %d, output %q", code, out)
	}
	if n := historyBodies(t, bob, conv)["queued one"]; n != 0 {
		t.Fatalf("queued message on the server while offline: %d", n)
	}
	proxy.Up()
	if code, _, errs := chatCmd("chat", "send", "--config", dir, "--conv", conv, "after"); code != 0 {
		t.Fatalf("send after reconnect: exit %d: %s", code, errs)
	}
	got := historyBodies(t, bob, conv)
	if got["queued one"] != 1 || got["after"] != 1 {
		t.Fatalf("after reconnect the server holds %v; want queued one and after once each", got)
	}
	// tail resumes after a seq.
	_, out, _ = chatCmd("chat", "tail", "--config", dir, "--conv", conv, "--follow=false", "--after", fmt.Sprint(last.Seq))
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "queued one") || strings.Contains(out, "hello bob") {
		t.Errorf("tail --after %d printed %q", last.Seq, out)
	}
	if code, _, _ := chatCmd("chat", "logout", "--config", dir); code != 0 {
		t.Errorf("logout: exit %d", code)
	}
	if _, err := tui.LoadSession(dir); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Errorf("session after logout: %v", err)
	}
}

// tmuxPane is one tmux server (private socket) running a command in a pane.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func (p *tmuxPane) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.tmux(append([]string{"send-keys", "-t", "chat"}, keys...)...); err != nil {
		p.t.Fatalf("send-keys: %v %s", err, out)
	}
}

func (p *tmuxPane) screen() string {
	out, _ := p.tmux("capture-pane", "-p", "-t", "chat")
	return out
}

func (p *tmuxPane) waitScreen(what string, cond func(string) bool) {
	p.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		s := p.screen()
		if cond(s) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChatTUIUnderTmux drives `parley chat` in a real terminal (tmux)
// against a real server: sign in, open a conversation, send, receive,
// multi-line compose, then a cut connection: compose offline, link back →
// delivered exactly once, the state line following along.
func TestChatTUIUnderTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("tmux not installed but PARLEY_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("tmux not installed")
	}
	env := apitest.Start(t, nil)
	bob, _ := env.NewUser(t, "bob")
	proxy := apitest.NewCutProxy(t, strings.TrimPrefix(env.URL, "http://"))
	dir := t.TempDir()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, socket: fmt.Sprintf("parley-chat-test-%d", os.Getpid())}
	command := fmt.Sprintf("env PARLEY_CHAT_TEST_EXEC=1 TERM=xterm-256color %q chat --config %q --server %q --notify=false --download-dir %q 2>%q",
		exe, dir, proxy.URL(), t.TempDir(), filepath.Join(dir, "stderr.txt"))
	if out, err := p.tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "32", command); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	t.Cleanup(func() { _, _ = p.tmux("kill-server") })

	// Not signed in: the sign-in screen; create the account there.
	p.waitScreen("the sign-in screen", func(s string) bool { return strings.Contains(s, "Sign in to Parley") })
	p.keys("alice", "Tab", "short", "C-r", "Enter")
	p.waitScreen("a refused registration", func(s string) bool { return strings.Contains(s, "invalid") })
	for range 5 {
		p.keys("BSpace")
	}
	p.keys(apitest.Password, "Enter")
	p.waitScreen("the chat screen, online", func(s string) bool {
		return strings.Contains(s, "Conversations") && strings.Contains(s, "● online")
	})
	sess, err := tui.LoadSession(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "session.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v %v", err, fi)
	}
	// bob starts a chat: it appears live.
	conv, _, err := bob.CreateConversation(context.Background(), client.CreateConversationRequest{Kind: parley.KindDirect,
		MemberIDs: []string{sess.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.Send(context.Background(), conv.ID, client.SendRequest{Body: "welcome alice"}); err != nil {
		t.Fatal(err)
	}

	p.waitScreen("the conversation list, online", func(s string) bool {
		return strings.Contains(s, "bob (1)") && strings.Contains(s, "● online")
	})
	p.keys("Enter")
	p.waitScreen("the conversation open", func(s string) bool { return strings.Contains(s, "welcome alice") })
	p.keys("hello from tmux", "Enter")
	eventually(t, "the message on the server", func() bool { return historyBodies(t, bob, conv.ID)["hello from tmux"] == 1 })
	// Multi-line compose: ctrl+j inserts a newline.
	p.keys("first line", "C-j", "second line", "Enter")
	eventually(t, "the two-line message on the server", func() bool {
		return historyBodies(t, bob, conv.ID)["first line\nsecond line"] == 1
	})
	if _, _, err := bob.Send(context.Background(), conv.ID, client.SendRequest{Body: "bob answers"}); err != nil {
		t.Fatal(err)
	}
	p.waitScreen("bob's answer", func(s string) bool { return strings.Contains(s, "bob answers") })

	// Cut the connection, compose offline, bring it back.
	proxy.Down()
	p.waitScreen("the offline state line", func(s string) bool { return strings.Contains(s, "offline — reconnecting") })
	p.keys("written while offline", "Enter")
	p.waitScreen("the queued message", func(s string) bool {
		return strings.Contains(s, "queued (offline)") && strings.Contains(s, "1 unsent")
	})
	if n := historyBodies(t, bob, conv.ID)["written while offline"]; n != 0 {
		t.Fatalf("sent while offline: %d", n)
	}
	proxy.Up()
	p.waitScreen("back online, outbox empty", func(s string) bool {
		return strings.Contains(s, "● online") && !strings.Contains(s, "unsent") && strings.Contains(s, "written while offline")
	})
	eventually(t, "the offline message on the server", func() bool {
		return historyBodies(t, bob, conv.ID)["written while offline"] == 1
	})
	// Once, even after another reconnect.
	proxy.Down()
	p.waitScreen("offline again", func(s string) bool { return strings.Contains(s, "offline — reconnecting") })
	proxy.Up()
	p.waitScreen("online again", func(s string) bool { return strings.Contains(s, "● online") })
	if got := historyBodies(t, bob, conv.ID); got["written while offline"] != 1 || got["hello from tmux"] != 1 {
		t.Fatalf("server history after reconnects: %v", got)
	}

	p.keys("C-c")
	eventually(t, "parley chat to exit", func() bool {
		_, err := p.tmux("has-session", "-t", "chat")
		return err != nil
	})
	if b, _ := os.ReadFile(filepath.Join(dir, "stderr.txt")); len(bytes.TrimSpace(b)) > 0 {
		t.Errorf("parley chat wrote to stderr: %s", b)
	}
}

// TestChatLoginTwoFactor: an account with two-factor sign-in signs in
// with --code; without one (and no terminal) the answer says what to do.
func TestChatLoginTwoFactor(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	carol, _ := env.NewUser(t, "carol")
	en, err := carol.BeginTwoFactor(ctx, apitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := app.TOTPCode(en.Secret, time.Now())
	codes, err := carol.ConfirmTwoFactor(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("PARLEY_PASSWORD", apitest.Password)
	t.Setenv("PARLEY_2FA_CODE", "")
	if code, _, errs := chatCmd("chat", "login", "--config", dir, "--server", env.URL, "--user", "carol"); code == 0 ||
		!strings.Contains(errs, "code") {
		t.Fatalf("login without a code: exit %d: %s", code, errs)
	}
	if code, out, errs := chatCmd("chat", "login", "--config", dir, "--server", env.URL, "--user", "carol", "--code", codes[0]); code != 0 ||
		!strings.Contains(out, "signed in as carol") {
		t.Fatalf("login with a recovery code: exit %d: %s %s", code, out, errs)
	}
}
