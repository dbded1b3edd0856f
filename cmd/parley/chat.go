package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/parley-chat/parley/client/e2ee"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
	"github.com/parley-chat/parley/internal/server"
	"github.com/parley-chat/parley/internal/tui"
)

// Exit codes of parley chat (docs/chat.md).
const (
	exitRefused   = 1 // the server refused (typed error printed), or a local failure
	exitOffline   = 3 // the server was unreachable: queued in the outbox / shown from the local store
	exitSignedOut = 4 // not signed in, or the token was refused
)

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// chatExit maps a typed error to its exit code.
func chatExit(err error) error {
	if err == nil || errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	switch parley.ErrorCode(err) {
	case parley.CodeUnavailable:
		return &exitError{exitOffline, err}
	case parley.CodeUnauthenticated:
		return &exitError{exitSignedOut, err}
	}
	return &exitError{exitRefused, err}
}

func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "login":
			return chatExit(runChatLogin(ctx, args[1:], stdout, stderr))
		case "logout":
			return chatExit(runChatLogout(ctx, args[1:], stdout, stderr))
		case "send":
			return chatExit(runChatSend(ctx, args[1:], stdout, stderr))
		case "tail":
			return chatExit(runChatTail(ctx, args[1:], stdout, stderr))
		}
	}
	fs := chatFlags("parley chat", "[flags]\n       parley chat login|logout|send|tail --help\n\n"+
		"The terminal client. Keys and files: docs/chat.md.", stderr)
	config := fs.String("config", "", "config directory (default: the user's config dir + /parley)")
	dl := fs.String("download-dir", ".", "where d saves attachments")
	notify := fs.Bool("notify", true, "ring the bell and send an OSC 9 notification on messages from others")
	serverURL := fs.String("server", "http://localhost:8080", "the server the sign-in screen suggests (when not signed in)")
	useE2EE := fs.Bool("e2ee", true, "end-to-end encryption: this install is a device with its own keys (docs/e2ee.md)")
	restoreKeys := fs.Bool("restore-keys", false, "bring this account's device keys back from the key backup (asks for the passphrase), then start")
	backupKeys := fs.Bool("backup-keys", false, "store an encrypted backup of this device's keys on the server (asks for a passphrase), then exit")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley chat: unknown subcommand %q (login, logout, send, tail)\n", fs.Arg(0))
		return errUsage
	}
	if err := signInIfNeeded(ctx, *config, *serverURL); err != nil {
		return chatExit(err)
	}
	sess, st, c, err := openAccount(*config)
	if err != nil {
		return chatExit(err)
	}
	defer st.Close()
	opts := tui.Options{DownloadDir: *dl, Notify: *notify}
	if *useE2EE || *restoreKeys || *backupKeys {
		k, err := openKeys(ctx, c, sess, *config, *restoreKeys, *backupKeys, stderr)
		if err != nil || *backupKeys {
			return chatExit(err)
		}
		opts.E2EE = k
	}
	return chatExit(tui.Run(ctx, st, c, sess.UserID, opts, nil, nil))
}

// openKeys opens (or makes and registers) this install's e2ee device, or
// restores it from the key backup, or backs it up.
func openKeys(ctx context.Context, c *client.Client, sess tui.Session, config string, restore, backup bool,
	stderr io.Writer) (*client.E2EE, error) {
	dir, err := tui.ConfigDir(config)
	if err != nil {
		return nil, err
	}
	store := e2ee.FileStore{Path: sess.KeysPath(dir)}
	if restore {
		if _, err := os.Stat(store.Path); err == nil {
			return nil, fmt.Errorf("%s exists: move it aside before restoring keys", store.Path)
		}
		pass, err := readPassphrase(stderr, false)
		if err != nil {
			return nil, err
		}
		return c.RestoreE2EE(ctx, store, pass)
	}
	host, _ := os.Hostname()
	k, err := c.EnableE2EE(ctx, store, "parley chat on "+host)
	if err != nil || !backup {
		return k, err
	}
	pass, err := readPassphrase(stderr, true)
	if err != nil {
		return nil, err
	}
	if err := k.Backup(ctx, pass); err != nil {
		return nil, err
	}
	fmt.Fprintln(stderr, "key backup stored on the server")
	return k, nil
}

// readPassphrase asks for the key-backup passphrase on the terminal
// (twice, for a new backup).
func readPassphrase(stderr io.Writer, confirm bool) (string, error) {
	fd := int(os.Stdin.Fd()) // #nosec G115 -- a file descriptor fits in int
	if !term.IsTerminal(fd) {
		return "", errors.New("the key-backup passphrase is read from a terminal")
	}
	fmt.Fprint(stderr, "Key backup passphrase: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if len([]rune(string(p1))) < 10 {
		return "", errors.New("use a passphrase of at least 10 characters")
	}
	if confirm {
		fmt.Fprint(stderr, "Repeat passphrase: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passphrases do not match")
		}
	}
	return string(p1), nil
}

// signInIfNeeded shows the sign-in screen when there is no session and
// stdin is a terminal, and saves the new session.
func signInIfNeeded(ctx context.Context, config, serverURL string) error {
	dir, err := tui.ConfigDir(config)
	if err != nil {
		return err
	}
	_, err = tui.LoadSession(dir)
	if !parley.IsCode(err, parley.CodeUnauthenticated) || !term.IsTerminal(int(os.Stdin.Fd())) { // #nosec G115 -- a file descriptor fits in int
		return err
	}
	sess, err := tui.SignIn(ctx, serverURL, tui.ClientLogin("parley-chat/"+versionString()), nil, nil)
	if err != nil {
		return err
	}
	return tui.SaveSession(dir, sess)
}

func chatFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// openAccount loads the session and opens its store.
func openAccount(config string) (tui.Session, *offline.Store, *client.Client, error) {
	dir, err := tui.ConfigDir(config)
	if err != nil {
		return tui.Session{}, nil, nil, err
	}
	sess, err := tui.LoadSession(dir)
	if err != nil {
		return sess, nil, nil, err
	}
	st, err := offline.Open(sess.StorePath(dir))
	if err != nil {
		return sess, nil, nil, err
	}
	c := client.New(sess.Server, client.WithToken(sess.Token), client.WithUserAgent("parley-chat/"+versionString()))
	return sess, st, c, nil
}

func versionString() string { return server.Version }

func runChatLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := chatFlags("parley chat login", "--server URL --user NAME [--register] [--password-stdin]\n\n"+
		"Signs in and keeps the token in <config>/session.json (mode 0600). The password comes from\n"+
		"$PARLEY_PASSWORD, else one line of stdin with --password-stdin, else a terminal prompt.", stderr)
	config := fs.String("config", "", "config directory")
	server := fs.String("server", "http://localhost:8080", "server URL")
	user := fs.String("user", "", "username")
	register := fs.Bool("register", false, "create the account first")
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin")
	code := fs.String("code", "", "two-factor code or recovery code (else $PARLEY_2FA_CODE, else a terminal prompt when asked)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *user == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "parley chat login: --user is required (and takes no arguments)")
		return errUsage
	}
	dir, err := tui.ConfigDir(*config)
	if err != nil {
		return err
	}
	pw := os.Getenv("PARLEY_PASSWORD")
	switch {
	case pw != "":
	case *fromStdin:
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return parley.Invalid("password", "no password on stdin")
		}
		pw = strings.TrimRight(line, "\r\n")
	default:
		fd := int(os.Stdin.Fd()) // #nosec G115 -- a file descriptor fits in int
		if !term.IsTerminal(fd) {
			return parley.Invalid("password", "no terminal: set PARLEY_PASSWORD or use --password-stdin")
		}
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return parley.Invalid("password", "%v", err)
		}
		pw = string(b)
	}
	c := client.New(*server, client.WithUserAgent("parley-chat/"+versionString()))
	var res client.AuthResponse
	if *register {
		res, err = c.Register(ctx, client.RegisterRequest{Username: *user, Password: pw})
	} else {
		res, err = c.Login(ctx, *user, pw)
	}
	var tf *client.TwoFactorRequired
	if errors.As(err, &tf) {
		res, err = secondFactor(ctx, c, tf, *code, stderr)
	}
	if err != nil {
		return err
	}
	if err := tui.SaveSession(dir, tui.Session{Server: c.BaseURL(), Username: res.User.Username, UserID: res.User.ID,
		Token: res.Token}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed in as %s on %s\n", res.User.Username, c.BaseURL())
	return nil
}

func runChatLogout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := chatFlags("parley chat logout", "\n\nRevokes the token and forgets it; the local store stays.", stderr)
	config := fs.String("config", "", "config directory")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	dir, err := tui.ConfigDir(*config)
	if err != nil {
		return err
	}
	sess, err := tui.LoadSession(dir)
	if err != nil {
		return err
	}
	c := client.New(sess.Server, client.WithToken(sess.Token))
	if err := c.Logout(ctx); err != nil && !parley.IsCode(err, parley.CodeUnauthenticated) {
		fmt.Fprintln(stderr, "parley chat logout: could not revoke the token on the server:", err)
	}
	if err := tui.RemoveSession(dir); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signed out")
	return nil
}

// secondFactor finishes a sign-in that asks for a two-factor code
// (docs/twofactor.md): from --code, $PARLEY_2FA_CODE or a terminal prompt.
// Enrolment (a server requiring two-factor sign-in) happens in the web
// client.
func secondFactor(ctx context.Context, c *client.Client, tf *client.TwoFactorRequired, code string, stderr io.Writer) (client.AuthResponse, error) {
	if tf.Kind != "verify" {
		return client.AuthResponse{}, parley.Errorf(parley.CodeUnauthenticated,
			"this server requires two-factor sign-in: set it up in the web client first, then sign in here")
	}
	if code == "" {
		code = os.Getenv("PARLEY_2FA_CODE")
	}
	if code == "" {
		fd := int(os.Stdin.Fd()) // #nosec G115 -- a file descriptor fits in int
		if !term.IsTerminal(fd) {
			return client.AuthResponse{}, parley.Invalid("code", "a two-factor code is required: use --code or $PARLEY_2FA_CODE")
		}
		fmt.Fprint(stderr, "Two-factor code (or a recovery code): ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return client.AuthResponse{}, parley.Invalid("code", "no code entered")
		}
		code = strings.TrimSpace(line)
	}
	res, err := c.FinishSignIn(ctx, tf.Challenge, code)
	if err != nil {
		return client.AuthResponse{}, err
	}
	return client.AuthResponse{User: res.User, Token: res.Token}, nil
}
