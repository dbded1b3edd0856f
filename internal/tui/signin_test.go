package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

func driveSignIn(t *testing.T, m SignInModel, msgs ...tea.Msg) (SignInModel, bool) {
	t.Helper()
	quit := false
	queue := append([]tea.Msg{}, msgs...)
	for len(queue) > 0 {
		next, cmd := m.Update(queue[0])
		queue = queue[1:]
		m = next.(SignInModel)
		if cmd == nil {
			continue
		}
		switch msg := cmd().(type) {
		case tea.QuitMsg:
			quit = true
		case signInResult:
			queue = append(queue, msg)
		}
	}
	return m, quit
}

func TestSignIn(t *testing.T) {
	var calls []string
	login := func(ctx context.Context, server, user, pw string, register bool) (client.AuthResponse, error) {
		calls = append(calls, server+"|"+user+"|"+pw+"|"+map[bool]string{true: "register", false: "login"}[register])
		if pw != "right password" {
			return client.AuthResponse{}, parley.Errorf(parley.CodeUnauthenticated, "wrong username or password")
		}
		return client.AuthResponse{Token: "tok", User: parley.User{ID: "u1", Username: user}}, nil
	}
	m := NewSignIn("http://chat.test", login)
	if m.focus != 1 {
		t.Fatalf("focus starts on %d, want the username", m.focus)
	}
	// Enter with an empty field moves to it instead of signing in.
	m, _ = driveSignIn(t, m, typeText("alice")...)
	m, _ = driveSignIn(t, m, press("enter"))
	if len(calls) != 0 || m.focus != 2 {
		t.Fatalf("enter with no password: calls %v focus %d", calls, m.focus)
	}
	m, _ = driveSignIn(t, m, typeText("wrong")...)
	if out := m.Render(); strings.Contains(out, "wrong") {
		t.Errorf("password echoed:\n%s", out)
	}
	m, quit := driveSignIn(t, m, press("enter"))
	if quit || m.Result != nil || !strings.Contains(m.Render(), "wrong username or password") {
		t.Fatalf("refused sign-in: quit %v result %v screen\n%s", quit, m.Result, m.Render())
	}
	// ctrl+r switches to creating the account.
	m, _ = driveSignIn(t, m, tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	if !strings.Contains(m.Render(), "Create a Parley account") {
		t.Error("ctrl+r did not switch to registration")
	}
	for range 5 {
		m, _ = driveSignIn(t, m, tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	m, _ = driveSignIn(t, m, typeText("right password")...)
	m, quit = driveSignIn(t, m, press("enter"))
	if !quit || m.Result == nil || m.Result.Token != "tok" || m.Result.Server != "http://chat.test" {
		t.Fatalf("sign-in: quit %v result %+v", quit, m.Result)
	}
	if calls[len(calls)-1] != "http://chat.test|alice|right password|register" {
		t.Errorf("last call %q", calls[len(calls)-1])
	}
	// esc quits without a session.
	m2, quit := driveSignIn(t, NewSignIn("", login), press("esc"))
	if !quit || !m2.Cancelled || m2.Result != nil {
		t.Error("esc did not cancel")
	}
	if _, err := ClientLogin("t")(context.Background(), "chat.test", "a", "b", false); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("server without scheme: %v", err)
	}
}
