package tui

import (
	"context"
	"io"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// LoginFunc signs in (or, with register, creates the account) and returns
// the server's answer.
type LoginFunc func(ctx context.Context, server, username, password string, register bool) (client.AuthResponse, error)

// SignInModel is the sign-in screen `parley chat` shows when there is no
// session: server, username, password; ctrl+r switches to creating an
// account.
type SignInModel struct {
	inputs   [3]textinput.Model
	focus    int
	register bool
	busy     bool
	err      string
	login    LoginFunc
	timeout  time.Duration

	// Result is set once signed in.
	Result *Session
	// Cancelled is set when the user quit.
	Cancelled bool
}

type signInResult struct {
	server string
	res    client.AuthResponse
	err    error
}

// NewSignIn returns the sign-in screen with server prefilled.
func NewSignIn(server string, login LoginFunc) SignInModel {
	m := SignInModel{login: login, timeout: 20 * time.Second}
	for i, ph := range []string{"server URL", "username", "password"} {
		in := textinput.New()
		in.Placeholder = ph
		in.SetWidth(40)
		st := in.Styles()
		st.Cursor.Blink = false
		in.SetStyles(st)
		m.inputs[i] = in
	}
	m.inputs[0].SetValue(server)
	m.inputs[2].EchoMode = textinput.EchoPassword
	m.focus = 1
	if server == "" {
		m.focus = 0
	}
	m.inputs[m.focus].Focus()
	return m
}

// Init implements tea.Model.
func (m SignInModel) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m SignInModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case signInResult:
		m.busy = false
		if msg.err != nil {
			m.err = msg.err.Error()
			return m, nil
		}
		m.Result = &Session{Server: msg.server, Username: msg.res.User.Username, UserID: msg.res.User.ID, Token: msg.res.Token}
		return m, tea.Quit
	case tea.KeyPressMsg:
		switch msg.String() {
		case "ctrl+c", "esc":
			m.Cancelled = true
			return m, tea.Quit
		case "ctrl+r":
			m.register = !m.register
			return m, nil
		case "tab", "down":
			return m, m.move(1)
		case "shift+tab", "up":
			return m, m.move(-1)
		case "enter":
			if m.busy {
				return m, nil
			}
			for i := range m.inputs {
				if strings.TrimSpace(m.inputs[i].Value()) == "" {
					if i != m.focus {
						return m, m.move(i - m.focus)
					}
					m.err = m.inputs[i].Placeholder + " is required"
					return m, nil
				}
			}
			m.busy, m.err = true, ""
			server := strings.TrimSpace(m.inputs[0].Value())
			user, pw, reg, login, timeout := strings.TrimSpace(m.inputs[1].Value()), m.inputs[2].Value(), m.register, m.login, m.timeout
			return m, func() tea.Msg {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				res, err := login(ctx, server, user, pw, reg)
				return signInResult{server: server, res: res, err: err}
			}
		}
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	return m, cmd
}

func (m *SignInModel) move(d int) tea.Cmd {
	m.inputs[m.focus].Blur()
	m.focus = (m.focus + d + len(m.inputs)) % len(m.inputs)
	return m.inputs[m.focus].Focus()
}

// View implements tea.Model.
func (m SignInModel) View() tea.View {
	return tea.NewView(m.Render())
}

// Render returns the screen as text.
func (m SignInModel) Render() string {
	var b strings.Builder
	title := "Sign in to Parley"
	if m.register {
		title = "Create a Parley account"
	}
	b.WriteString(stTitle.Render(title) + "\n\n")
	for i, label := range []string{"Server  ", "Username", "Password"} {
		mark := "  "
		if i == m.focus {
			mark = "▸ "
		}
		b.WriteString(mark + label + " " + m.inputs[i].View() + "\n")
	}
	b.WriteString("\n")
	switch {
	case m.busy:
		b.WriteString(stWarn.Render("signing in…") + "\n")
	case m.err != "":
		b.WriteString(stErr.Render(m.err) + "\n")
	}
	b.WriteString(stDim.Render("enter: sign in · tab: next field · ctrl+r: create an account instead · esc: quit") + "\n")
	return b.String()
}

// ClientLogin is the LoginFunc over the SDK.
func ClientLogin(userAgent string) LoginFunc {
	return func(ctx context.Context, server, username, password string, register bool) (client.AuthResponse, error) {
		if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
			return client.AuthResponse{}, parley.Invalid("server", "the server URL starts with http:// or https://")
		}
		c := client.New(server, client.WithUserAgent(userAgent))
		if register {
			return c.Register(ctx, client.RegisterRequest{Username: username, Password: password})
		}
		return c.Login(ctx, username, password)
	}
}

// SignIn shows the sign-in screen on the terminal and returns the new
// session (not yet saved). Quitting is CodeUnauthenticated.
func SignIn(ctx context.Context, server string, login LoginFunc, in io.Reader, out io.Writer) (Session, error) {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	}
	if out != nil {
		opts = append(opts, tea.WithOutput(out))
	}
	final, err := tea.NewProgram(NewSignIn(server, login), opts...).Run()
	if err != nil {
		return Session{}, parley.Errorf(parley.CodeUnauthenticated, "sign-in: %v", err)
	}
	m := final.(SignInModel)
	if m.Result == nil {
		return Session{}, parley.Errorf(parley.CodeUnauthenticated, "not signed in")
	}
	s := *m.Result
	s.Server = strings.TrimRight(s.Server, "/")
	return s, nil
}
