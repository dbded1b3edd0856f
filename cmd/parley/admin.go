package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// adminStdin is where --password-stdin reads from (tests replace it).
var adminStdin io.Reader = os.Stdin

const adminUsage = `Usage: parley admin <command> [flags]

Operator commands on the data directory (or database) that serve uses; they
take the same --data-dir/--db flags and PARLEY_* environment.

Commands:
  create-admin --username NAME [--password-stdin] [--display-name TEXT] [--email ADDR]
                     create an admin account; without --password-stdin the
                     password is prompted for (twice, not echoed)
  disable USER       disable an account (USER is a username or user id);
                     its sessions end at once
  enable USER        re-enable a disabled account

With embedded SQLite, stop the server first (it holds the data directory) or
use the REST admin endpoints (POST /api/v1/admin/users/{id}/disable) instead.
`

// runAdmin runs operator commands against the configured store.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, adminUsage)
		return nil
	case "create-admin":
		return adminCreate(ctx, args[1:], stdout, stderr)
	case "disable", "enable":
		return adminSetDisabled(ctx, args[0], args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "parley admin: unknown command %q\n\n%s", args[0], adminUsage)
	return errUsage
}

// adminFlags returns a flag set with serve's configuration flags bound to cfg.
func adminFlags(name string, cfg *server.Config, stderr io.Writer, usage string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("parley admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: parley admin %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, cfg.Bind(fs, os.Getenv)
}

func parseAdmin(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// openAdminApp opens the configured store and bus and an App acting on
// them. With --nats, the events it publishes reach the running nodes (a
// disabled account's sockets close at once); without, they go to an
// in-process bus no server listens to, and nodes notice disabled accounts
// at their next request.
func openAdminApp(ctx context.Context, cfg server.Config, stderr io.Writer) (*app.App, func(), error) {
	store, err := server.OpenStore(ctx, cfg)
	if err != nil {
		if parley.IsCode(err, parley.CodeUnavailable) && cfg.DB == "" {
			return nil, nil, fmt.Errorf("%v\n(stop `parley serve` first, or use the REST admin API)", parley.AsError(err).Message)
		}
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bus, err := server.OpenBus(cfg, log)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	limits := app.DefaultLimits()
	limits.SessionTTL = cfg.SessionTTL
	a := app.New(app.Options{Store: store, Bus: bus, Logger: log, Limits: limits})
	return a, func() { _ = bus.Close(); _ = store.Close() }, nil
}

// adminError makes app errors read well on a terminal.
func adminError(err error) error {
	var pe *parley.Error
	if errors.As(err, &pe) && pe.Code != parley.CodeInternal {
		if pe.Field != "" {
			return fmt.Errorf("%s: %s", pe.Field, pe.Message)
		}
		return errors.New(pe.Message)
	}
	return err
}

func adminCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := server.Default()
	fs, err := adminFlags("create-admin", &cfg, stderr, "--username NAME [--password-stdin] [flags]")
	if err != nil {
		return err
	}
	username := fs.String("username", "", "username of the new admin (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	display := fs.String("display-name", "", "display name (default: the username)")
	email := fs.String("email", "", "email address (optional)")
	if err := parseAdmin(fs, args); err != nil {
		return err
	}
	if *username == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	// Check the name before asking for a password.
	if _, err := parley.CanonicalUsername(*username); err != nil {
		return adminError(err)
	}
	password, err := readPassword(*fromStdin, stderr)
	if err != nil {
		return err
	}
	a, closeFn, err := openAdminApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	u, err := a.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: *username, Password: password,
		DisplayName: *display, Email: *email})
	if err != nil {
		return adminError(err)
	}
	fmt.Fprintf(stdout, "created admin %s (id %s)\n", u.Username, u.ID)
	return nil
}

// readPassword reads the new password from the first line of adminStdin,
// or prompts for it twice on the terminal without echo.
func readPassword(fromStdin bool, stderr io.Writer) (string, error) {
	if fromStdin {
		line, err := bufio.NewReaderSize(adminStdin, 4096).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("standard input is not a terminal: pass the password with --password-stdin")
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if err := parley.CheckPassword("password", string(p1)); err != nil {
		return "", adminError(err)
	}
	fmt.Fprint(stderr, "Repeat password: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords do not match")
	}
	return string(p1), nil
}

func adminSetDisabled(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	cfg := server.Default()
	fs, err := adminFlags(cmd, &cfg, stderr, "USER [flags]   (USER: username or user id)")
	if err != nil {
		return err
	}
	// Accept the user before or after the flags.
	var ref string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		ref, args = args[0], args[1:]
	}
	if err := parseAdmin(fs, args); err != nil {
		return err
	}
	if ref == "" && fs.NArg() == 1 {
		ref = fs.Arg(0)
	} else if fs.NArg() > 0 {
		ref = ""
	}
	if ref == "" {
		fs.Usage()
		return errUsage
	}
	a, closeFn, err := openAdminApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	u, err := a.FindUser(ctx, app.Operator, ref)
	if err != nil {
		return adminError(err)
	}
	if cmd == "disable" {
		u, err = a.DisableUser(ctx, app.Operator, u.ID)
	} else {
		u, err = a.EnableUser(ctx, app.Operator, u.ID)
	}
	if err != nil {
		return adminError(err)
	}
	fmt.Fprintf(stdout, "%sd %s (id %s)\n", cmd, u.Username, u.ID)
	return nil
}
