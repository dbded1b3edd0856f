package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/server"
)

// adminStdin is where --password-stdin reads from (tests replace it).
var adminStdin io.Reader = os.Stdin

const adminUsage = `Usage: parley admin <command> [flags]

Operator commands. They act on the same --data-dir/--db (and PARLEY_*
environment) as serve, and work whether or not the server runs: with
embedded SQLite and a running node they go through the node's admin socket
(<data-dir>/admin.sock, usable only by the account that runs the server);
otherwise they open the store themselves. USER is a username or a user id.

Commands:
  create-admin --username NAME [--password-stdin] [--org SLUG]
                                      create an admin account (of organisation SLUG:
                                      its organisation admin; default: a server admin)
  create-user  --username NAME [--password-stdin] [--org SLUG]
                                      create a user account
  users [--prefix P] [--limit N]      list accounts (disabled ones too)
  reset-password USER [--password-stdin]
                                      set a new password (generated and printed
                                      unless --password-stdin); ends every session
  reset-2fa USER                      remove an account's two-factor sign-in (a
                                      lost phone); audited; sessions stay
  promote USER | demote USER          make an admin / a plain user
  disable USER | enable USER          stop / allow sign-in (disable ends sessions)
  delete-user USER --yes              delete an account (messages stay, shown as
                                      "deleted user"; docs/accounts.md)
  sessions USER                       list an account's sessions
  overview                            version, uptime, counts, sockets, disk
  audit [--user USER] [--action A] [--conversation ID] [--limit N]
                                      the admin and moderation audit log, newest first
  deny-list [--words a,b] [--patterns RE,RE] [--action refuse|mask]
                                      show, or (with flags) replace, the server-wide
                                      deny list (docs/moderation.md)
  invites [list]                      list invite codes
  invites create [--uses N] [--expires 72h] [--note TEXT]
  invites revoke ID
  org create --slug S --name N [--registration open|invite|closed] [--max-users N]
             [--max-members N] [--max-message-chars N] [--max-upload-bytes N] [--require-2fa]
                                      create an organisation (docs/organisations.md)
  org list                            list organisations with their policy and limits
  org update ORG [same flags as create, but --slug]
                                      change an organisation (ORG: slug or id)

Run 'parley admin <command> --help' for a command's flags.
`

// runAdmin runs operator commands.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, adminUsage)
		return nil
	case "org":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "parley admin org: give a subcommand (create, list, update)\n\n%s", adminUsage)
			return errUsage
		}
		cmd, rest = "org "+rest[0], rest[1:]
	case "invites":
		sub := "list"
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			sub, rest = rest[0], rest[1:]
		}
		cmd = "invites " + sub
	}
	c, ok := adminCommands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "parley admin: unknown command %q\n\n%s", cmd, adminUsage)
		return errUsage
	}
	return c(ctx, newAdminCmd(cmd, stdout, stderr), rest)
}

// adminCmd is one invocation: its flags (the store location and the
// command's own) and, once connected, the operator API.
type adminCmd struct {
	name           string
	cfg            server.Config
	fs             *flag.FlagSet
	stdout, stderr io.Writer
	api            *http.Client
	close          func()
	envErr         error
}

// newAdminCmd binds the configuration: every PARLEY_* variable applies, but
// only --data-dir, --db and --nats are flags here (the rest of serve's
// settings do not concern these commands), so --help lists the command's
// own flags.
func newAdminCmd(name string, stdout, stderr io.Writer) *adminCmd {
	c := &adminCmd{name: name, cfg: server.Default(), stdout: stdout, stderr: stderr}
	all := flag.NewFlagSet("env", flag.ContinueOnError)
	all.SetOutput(io.Discard)
	c.envErr = c.cfg.Bind(all, os.Getenv)
	c.fs = flag.NewFlagSet("parley admin "+name, flag.ContinueOnError)
	c.fs.SetOutput(stderr)
	for _, n := range []string{"data-dir", "db", "nats"} {
		f := all.Lookup(n)
		c.fs.Var(f.Value, f.Name, f.Usage)
	}
	return c
}

// parse parses args; positional arguments may come before or after the
// flags. want is the number of positional arguments required.
func (c *adminCmd) parse(args []string, usage string, want int) ([]string, error) {
	c.fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: parley admin %s %s\n\nFlags:\n", c.name, usage)
		c.fs.PrintDefaults()
	}
	if c.envErr != nil {
		return nil, c.envErr
	}
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	pos = append(pos, c.fs.Args()...)
	if len(pos) != want {
		c.fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// connect reaches the operator API: over the running node's admin socket
// when the SQLite data directory is held by a server, else in-process on
// the store itself (SQLite not in use, or PostgreSQL, which many processes
// share). With --nats the in-process path's events reach running nodes.
func (c *adminCmd) connect(ctx context.Context) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, c.cfg)
	if err != nil {
		if !parley.IsCode(err, parley.CodeUnavailable) || c.cfg.DB != "" {
			return err
		}
		sock := filepath.Join(c.cfg.DataDir, server.AdminSocketName)
		if _, serr := os.Stat(sock); serr != nil { // #nosec G703 -- the operator's own --data-dir
			return fmt.Errorf("%v\n(the data directory is in use and has no admin socket %s: stop `parley serve` first)",
				parley.AsError(err).Message, sock)
		}
		c.api = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			}}}
		c.close = func() {}
		return nil
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bus, err := server.OpenBus(c.cfg, log)
	if err != nil {
		_ = store.Close()
		return err
	}
	a, err := server.NewApp(ctx, c.cfg, store, bus, log, nil)
	if err != nil {
		_ = bus.Close()
		_ = store.Close()
		return err
	}
	h := httpapi.New(a, log, nil, httpapi.Options{Version: server.Version}).OperatorHandler()
	c.api = &http.Client{Transport: handlerTransport{h}}
	c.close = func() { _ = bus.Close(); _ = store.Close() }
	return nil
}

// handlerTransport serves requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r.RemoteAddr = "127.0.0.1:0"
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// call sends a JSON request to the operator API and decodes the answer
// into out (if non-nil). API errors come back as readable errors.
func (c *adminCmd) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	// #nosec G704 -- the transport dials only the node's local admin socket; path is one of this file's fixed API paths
	req, err := http.NewRequestWithContext(ctx, method, "http://parley"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.api.Do(req) // #nosec G704 -- see above: the admin socket only
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
			if eb.Error.Field != "" && eb.Error.Field != "registration" {
				return fmt.Errorf("%s: %s", eb.Error.Field, eb.Error.Message)
			}
			return errors.New(eb.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// user resolves a username or user id.
func (c *adminCmd) user(ctx context.Context, ref string) (parley.User, error) {
	if name, err := parley.CanonicalUsername(ref); err == nil {
		var list struct{ Users []parley.User }
		if err := c.call(ctx, "GET", "/api/v1/admin/users?limit=1&prefix="+url.QueryEscape(name), nil, &list); err != nil {
			return parley.User{}, err
		}
		if len(list.Users) == 1 && list.Users[0].Username == name {
			return list.Users[0], nil
		}
	}
	if parley.ValidID(ref) {
		var u parley.User
		err := c.call(ctx, "GET", "/api/v1/admin/users/"+ref, nil, &u)
		return u, err
	}
	return parley.User{}, fmt.Errorf("no user with username or id %q", ref)
}

type adminFunc func(ctx context.Context, c *adminCmd, args []string) error

var adminCommands map[string]adminFunc

func init() {
	adminCommands = map[string]adminFunc{
		"create-admin":   adminCreate("admin"),
		"create-user":    adminCreate("user"),
		"users":          adminUsers,
		"reset-password": adminResetPassword,
		"reset-2fa":      adminResetTwoFactor,
		"promote":        adminRole("admin", "promoted"),
		"demote":         adminRole("user", "demoted"),
		"disable":        adminSetDisabled("disable"),
		"enable":         adminSetDisabled("enable"),
		"delete-user":    adminDelete,
		"sessions":       adminSessions,
		"overview":       adminOverview,
		"audit":          adminAudit,
		"deny-list":      adminDenyList,
		"invites list":   adminInvites,
		"invites create": adminInviteCreate,
		"invites revoke": adminInviteRevoke,
		"org create":     adminOrgCreate,
		"org list":       adminOrgList,
		"org update":     adminOrgUpdate,
	}
}

// withAPI connects, runs fn and disconnects.
func (c *adminCmd) withAPI(ctx context.Context, fn func() error) error {
	if err := c.connect(ctx); err != nil {
		return err
	}
	defer c.close()
	return fn()
}

func adminCreate(role string) adminFunc {
	return func(ctx context.Context, c *adminCmd, args []string) error {
		username := c.fs.String("username", "", "username of the new account (required)")
		fromStdin := c.fs.Bool("password-stdin", false, "read the password from the first line of standard input")
		display := c.fs.String("display-name", "", "display name (default: the username)")
		email := c.fs.String("email", "", "email address (optional)")
		org := c.fs.String("org", "", "slug of the account's organisation (default: the default organisation)")
		if _, err := c.parse(args, "--username NAME [--password-stdin] [flags]", 0); err != nil {
			return err
		}
		if *username == "" {
			c.fs.Usage()
			return errUsage
		}
		// Check the name before asking for a password.
		if _, err := parley.CanonicalUsername(*username); err != nil {
			return errors.New(parley.AsError(err).Message)
		}
		password, err := readPassword(*fromStdin, c.stderr)
		if err != nil {
			return err
		}
		return c.withAPI(ctx, func() error {
			var u parley.User
			err := c.call(ctx, "POST", "/api/v1/admin/users", map[string]string{"username": *username,
				"password": password, "display_name": *display, "email": *email, "role": role, "organisation": *org}, &u)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created %s %s (id %s)\n", role, u.Username, u.ID)
			return nil
		})
	}
}

// readPassword reads a password from the first line of adminStdin, or
// prompts for it twice on the terminal without echo.
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
		return "", errors.New(parley.AsError(err).Message)
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

func adminUsers(ctx context.Context, c *adminCmd, args []string) error {
	prefix := c.fs.String("prefix", "", "only usernames starting with this")
	limit := c.fs.Int("limit", 100, "at most this many (1-100)")
	if _, err := c.parse(args, "[--prefix P] [--limit N]", 0); err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		var list struct {
			Users     []parley.User `json:"users"`
			NextAfter string        `json:"next_after"`
		}
		q := url.Values{"prefix": {*prefix}, "limit": {fmt.Sprint(*limit)}}
		if err := c.call(ctx, "GET", "/api/v1/admin/users?"+q.Encode(), nil, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tID\tROLE\tSTATE\tCREATED")
		for _, u := range list.Users {
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.ID, u.Role, state, u.CreatedAt.Format(time.DateOnly))
		}
		if list.NextAfter != "" {
			fmt.Fprintf(tw, "(more: use --prefix, or raise --limit)\n")
		}
		return tw.Flush()
	})
}

func adminResetPassword(ctx context.Context, c *adminCmd, args []string) error {
	fromStdin := c.fs.Bool("password-stdin", false, "read the new password from the first line of standard input (default: generate one)")
	pos, err := c.parse(args, "USER [--password-stdin]", 1)
	if err != nil {
		return err
	}
	password := ""
	if *fromStdin {
		if password, err = readPassword(true, c.stderr); err != nil {
			return err
		}
	}
	return c.withAPI(ctx, func() error {
		u, err := c.user(ctx, pos[0])
		if err != nil {
			return err
		}
		var res struct{ Password string }
		if err := c.call(ctx, "POST", "/api/v1/admin/users/"+u.ID+"/password", map[string]string{"password": password}, &res); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "password of %s reset; every session of theirs ended\n", u.Username)
		if res.Password != "" {
			fmt.Fprintf(c.stdout, "new password: %s\n", res.Password)
		}
		return nil
	})
}

func adminRole(role, done string) adminFunc {
	return func(ctx context.Context, c *adminCmd, args []string) error {
		pos, err := c.parse(args, "USER", 1)
		if err != nil {
			return err
		}
		return c.withAPI(ctx, func() error {
			u, err := c.user(ctx, pos[0])
			if err != nil {
				return err
			}
			if err := c.call(ctx, "POST", "/api/v1/admin/users/"+u.ID+"/role", map[string]string{"role": role}, &u); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s %s (id %s): role %s\n", done, u.Username, u.ID, u.Role)
			return nil
		})
	}
}

func adminSetDisabled(cmd string) adminFunc {
	return func(ctx context.Context, c *adminCmd, args []string) error {
		pos, err := c.parse(args, "USER [flags]   (USER: username or user id)", 1)
		if err != nil {
			return err
		}
		return c.withAPI(ctx, func() error {
			u, err := c.user(ctx, pos[0])
			if err != nil {
				return err
			}
			if err := c.call(ctx, "POST", "/api/v1/admin/users/"+u.ID+"/"+cmd, nil, &u); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%sd %s (id %s)\n", cmd, u.Username, u.ID)
			return nil
		})
	}
}

func adminResetTwoFactor(ctx context.Context, c *adminCmd, args []string) error {
	pos, err := c.parse(args, "USER   (USER: username or user id)", 1)
	if err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		u, err := c.user(ctx, pos[0])
		if err != nil {
			return err
		}
		if err := c.call(ctx, "POST", "/api/v1/admin/users/"+u.ID+"/2fa/reset", nil, &u); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "two-factor sign-in removed for %s (id %s)\n", u.Username, u.ID)
		return nil
	})
}

func adminDelete(ctx context.Context, c *adminCmd, args []string) error {
	yes := c.fs.Bool("yes", false, "really delete (required)")
	pos, err := c.parse(args, "USER --yes", 1)
	if err != nil {
		return err
	}
	if !*yes {
		return errors.New("deleting an account cannot be undone: add --yes")
	}
	return c.withAPI(ctx, func() error {
		u, err := c.user(ctx, pos[0])
		if err != nil {
			return err
		}
		if err := c.call(ctx, "DELETE", "/api/v1/admin/users/"+u.ID, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "deleted %s (id %s); their messages now show \"deleted user\"\n", u.Username, u.ID)
		return nil
	})
}

func adminSessions(ctx context.Context, c *adminCmd, args []string) error {
	pos, err := c.parse(args, "USER", 1)
	if err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		u, err := c.user(ctx, pos[0])
		if err != nil {
			return err
		}
		var list struct{ Sessions []parley.Session }
		if err := c.call(ctx, "GET", "/api/v1/admin/users/"+u.ID+"/sessions", nil, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tADDRESS\tLAST SEEN\tCREATED\tCLIENT")
		for _, s := range list.Sessions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Address, s.LastSeenAt.Format(time.RFC3339),
				s.CreatedAt.Format(time.RFC3339), s.UserAgent)
		}
		return tw.Flush()
	})
}

func adminOverview(ctx context.Context, c *adminCmd, args []string) error {
	if _, err := c.parse(args, "", 0); err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		var o struct {
			Version       string
			StartedAt     time.Time `json:"started_at"`
			UptimeSeconds int64     `json:"uptime_seconds"`
			Store, Bus    string
			Registration  string
			Counts        parley.ServerCounts
			Sockets       int
			DataDirBytes  int64 `json:"data_dir_bytes"`
			Admins        int
		}
		if err := c.call(ctx, "GET", "/api/v1/admin/overview", nil, &o); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		if o.Version != "" {
			fmt.Fprintf(tw, "version\t%s\nuptime\t%s (since %s)\nstore\t%s\nbus\t%s\nsockets\t%d\n", o.Version,
				(time.Duration(o.UptimeSeconds) * time.Second).String(), o.StartedAt.Format(time.RFC3339), o.Store, o.Bus, o.Sockets)
		} else {
			fmt.Fprintf(tw, "server\tnot reached (this command opened the store itself)\n")
		}
		fmt.Fprintf(tw, "registration\t%s\nusers\t%d (admins %d)\nconversations\t%d\nmessages\t%d\n", o.Registration,
			o.Counts.Users, o.Admins, o.Counts.Conversations, o.Counts.Messages)
		if o.DataDirBytes >= 0 && o.Version != "" {
			fmt.Fprintf(tw, "data dir\t%.1f MiB\n", float64(o.DataDirBytes)/(1<<20))
		}
		return tw.Flush()
	})
}

func adminAudit(ctx context.Context, c *adminCmd, args []string) error {
	user := c.fs.String("user", "", "only actions on this user (username or id)")
	limit := c.fs.Int("limit", 50, "at most this many entries (1-500)")
	action := c.fs.String("action", "", "only this action, or a prefix ending in '.' (conversation., report.)")
	conv := c.fs.String("conversation", "", "only moderation actions in this conversation (id)")
	if _, err := c.parse(args, "[--user USER] [--action ACTION] [--conversation ID] [--limit N]", 0); err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		q := url.Values{"limit": {fmt.Sprint(*limit)}}
		if *action != "" {
			q.Set("action", *action)
		}
		if *conv != "" {
			q.Set("conversation_id", *conv)
		}
		if *user != "" {
			u, err := c.user(ctx, *user)
			if err != nil {
				return err
			}
			q.Set("target_id", u.ID)
		}
		var list struct{ Entries []parley.AuditEntry }
		if err := c.call(ctx, "GET", "/api/v1/admin/audit?"+q.Encode(), nil, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tDETAIL")
		for _, e := range list.Entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Actor, e.Action, e.Target, e.Detail)
		}
		return tw.Flush()
	})
}

// adminDenyList shows or replaces the server-wide deny list.
func adminDenyList(ctx context.Context, c *adminCmd, args []string) error {
	words := c.fs.String("words", "", "comma-separated words to deny (replaces the list)")
	patterns := c.fs.String("patterns", "", "comma-separated RE2 patterns to deny (replaces the list)")
	action := c.fs.String("action", "", "refuse or mask (default refuse)")
	if _, err := c.parse(args, "[--words a,b] [--patterns RE,RE] [--action refuse|mask]", 0); err != nil {
		return err
	}
	split := func(s string) []string {
		out := []string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return c.withAPI(ctx, func() error {
		var r parley.ConversationRules
		set := false
		c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "words" || f.Name == "patterns" || f.Name == "action" })
		if set {
			in := parley.ConversationRules{DenyWords: split(*words), DenyPatterns: split(*patterns), DenyAction: parley.DenyAction(*action)}
			if err := c.call(ctx, "PUT", "/api/v1/admin/content-rules", in, &r); err != nil {
				return err
			}
		} else if err := c.call(ctx, "GET", "/api/v1/admin/content-rules", nil, &r); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "action\t%s\nwords\t%s\npatterns\t%s\n", r.DenyAction, strings.Join(r.DenyWords, ", "),
			strings.Join(r.DenyPatterns, ", "))
		return nil
	})
}

func adminInvites(ctx context.Context, c *adminCmd, args []string) error {
	if _, err := c.parse(args, "", 0); err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		var list struct{ Invites []parley.Invite }
		if err := c.call(ctx, "GET", "/api/v1/admin/invites", nil, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCODE\tUSES\tEXPIRES\tSTATE\tNOTE")
		now := time.Now()
		for _, inv := range list.Invites {
			exp := "never"
			if inv.ExpiresAt != nil {
				exp = inv.ExpiresAt.Format(time.RFC3339)
			}
			state := "usable"
			if err := inv.Usable(now); err != nil {
				state = strings.TrimPrefix(parley.AsError(err).Message, "this invite ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", inv.ID, inv.Code, inv.Uses, inv.MaxUses, exp, state, inv.Note)
		}
		return tw.Flush()
	})
}

func adminInviteCreate(ctx context.Context, c *adminCmd, args []string) error {
	uses := c.fs.Int("uses", 1, "how many people may register with it")
	expires := c.fs.Duration("expires", 0, "lifetime, e.g. 72h (default: never)")
	note := c.fs.String("note", "", "who it is for (shown in the list)")
	if _, err := c.parse(args, "[--uses N] [--expires 72h] [--note TEXT]", 0); err != nil {
		return err
	}
	if *uses < 1 {
		return errors.New("--uses must be at least 1")
	}
	return c.withAPI(ctx, func() error {
		var inv parley.Invite
		err := c.call(ctx, "POST", "/api/v1/admin/invites", map[string]any{"max_uses": *uses,
			"expires_in_seconds": int64(expires.Seconds()), "note": *note}, &inv)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "invite %s (id %s), %d use(s)\npeople register by opening <your server URL>/?invite=%s\n",
			inv.Code, inv.ID, inv.MaxUses, inv.Code)
		return nil
	})
}

func adminInviteRevoke(ctx context.Context, c *adminCmd, args []string) error {
	pos, err := c.parse(args, "ID", 1)
	if err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		var inv parley.Invite
		if err := c.call(ctx, "POST", "/api/v1/admin/invites/"+url.PathEscape(pos[0])+"/revoke", nil, &inv); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "revoked invite %s (%d of %d uses taken)\n", inv.ID, inv.Uses, inv.MaxUses)
		return nil
	})
}
