package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
	"github.com/parley-chat/parley/internal/tui"
)

// runChatSend is `parley chat send`: compose into the outbox, then send
// the whole outbox once. Exit 0: stored by the server; 3: queued (the
// server is unreachable; the next send, tail or chat delivers it, once);
// 1: refused (the typed error is printed; the entry stays failed in the
// outbox until chat's /retry or /discard).
func runChatSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := chatFlags("parley chat send", "(--to USER | --conv ID) [flags] TEXT...  (TEXT \"-\": read stdin)", stderr)
	config := fs.String("config", "", "config directory")
	to := fs.String("to", "", "username: the direct chat with them (created if needed)")
	conv := fs.String("conv", "", "conversation id")
	reply := fs.Int64("reply-to", 0, "seq of the message replied to")
	file := fs.String("file", "", "attach this file (needs the server)")
	asJSON := fs.Bool("json", false, "print the stored message as JSON")
	timeout := fs.Duration("timeout", 20*time.Second, "give up sending after this long (the message stays queued)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if (*to == "") == (*conv == "") {
		fmt.Fprintln(stderr, "parley chat send: give exactly one of --to and --conv")
		return errUsage
	}
	text := strings.Join(fs.Args(), " ")
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return parley.Invalid("body", "read stdin: %v", err)
		}
		text = strings.TrimRight(string(b), "\n")
	}
	if strings.TrimSpace(text) == "" && *file == "" {
		fmt.Fprintln(stderr, "parley chat send: nothing to send")
		return errUsage
	}
	sess, st, c, err := openAccount(*config)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	s := offline.NewSync(st, c, offline.SyncOptions{})
	if err := st.Bind(sess.Server, sess.UserID); err != nil {
		return err
	}
	id := *conv
	if *to != "" {
		if id, err = directWith(ctx, s, sess, *to); err != nil {
			if parley.IsCode(err, parley.CodeUnavailable) {
				fmt.Fprintf(stderr, "parley chat send: server unreachable and no direct chat with %s in the local store yet: nothing queued\n", *to)
			}
			return err
		}
	}
	req := client.SendRequest{Body: text, ReplyTo: *reply}
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return parley.Invalid("file", "%v", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return parley.Invalid("file", "%v", err)
		}
		a, err := c.Upload(ctx, fi.Name(), f, fi.Size())
		f.Close()
		if err != nil {
			return err
		}
		req.AttachmentIDs = []string{a.ID}
	}
	o, err := st.Compose(id, req)
	if err != nil {
		return err
	}
	if _, err := s.SendOutbox(ctx); err != nil {
		if parley.IsCode(err, parley.CodeUnavailable) || ctx.Err() != nil {
			fmt.Fprintf(stderr, "parley chat send: server unreachable; queued as %s (sent with the next send, tail or chat)\n", o.ClientMsgID)
			return parley.Unavailable(err)
		}
		return err
	}
	ob, err := st.Outbox(id)
	if err != nil {
		return err
	}
	for _, e := range ob {
		if e.ClientMsgID == o.ClientMsgID {
			if e.Err != nil {
				return e.Err
			}
			return parley.Errorf(parley.CodeUnavailable, "not sent yet; queued as %s", o.ClientMsgID)
		}
	}
	ms, err := st.Messages(id, 0, 200)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ClientMsgID == o.ClientMsgID && m.SenderID == sess.UserID {
			if *asJSON {
				return json.NewEncoder(stdout).Encode(m)
			}
			_, err := fmt.Fprintf(stdout, "sent #%d to %s\n", m.Seq, id)
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "sent to %s\n", id)
	return err
}

// directWith finds the direct conversation with username: in the local
// store first (works offline), else on the server (created if needed).
func directWith(ctx context.Context, s *offline.Sync, sess tui.Session, username string) (string, error) {
	name, err := parley.CanonicalUsername(strings.TrimPrefix(username, "@"))
	if err != nil {
		return "", err
	}
	users, err := s.Store().Users()
	if err != nil {
		return "", err
	}
	convs, err := s.Store().Conversations()
	if err != nil {
		return "", err
	}
	for _, c := range convs {
		if c.Kind != parley.KindDirect || len(c.MemberIDs) != 2 {
			continue
		}
		for _, id := range c.MemberIDs {
			if id != sess.UserID && users[id].Username == name {
				return c.ID, nil
			}
		}
	}
	return tui.OpenDirect(ctx, s, name)
}

// runChatTail is `parley chat tail`: print a conversation's messages from
// the local store after --after, then (with --follow, the default) keep
// the store in step and print each new message once, in seq order.
func runChatTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := chatFlags("parley chat tail", "--conv ID [flags]", stderr)
	config := fs.String("config", "", "config directory")
	conv := fs.String("conv", "", "conversation id")
	after := fs.Int64("after", -1, "print messages after this seq (default: the last --last)")
	last := fs.Int("last", 20, "without --after: how many of the newest stored messages to print first")
	asJSON := fs.Bool("json", false, "one JSON message object per line")
	follow := fs.Bool("follow", true, "keep running and print new messages as they arrive")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *conv == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "parley chat tail: --conv is required")
		return errUsage
	}
	if !parley.ValidID(*conv) {
		return parley.Invalid("conv", "malformed conversation id %q", *conv)
	}
	_, st, c, err := openAccount(*config)
	if err != nil {
		return err
	}
	defer st.Close()
	s := offline.NewSync(st, c, offline.SyncOptions{})
	users, _ := st.Users()
	pos := *after
	if pos < 0 {
		ms, err := st.Messages(*conv, 0, max(1, *last))
		if err != nil {
			return err
		}
		pos = 0
		if len(ms) > 0 {
			pos = ms[0].Seq - 1
		}
	}
	print := func() error {
		for {
			ms, err := st.MessagesAfter(*conv, pos, 500)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return nil
			}
			for _, m := range ms {
				if m.Seq != pos+1 {
					// A gap: wait until resync fills it, so each message prints once, in order.
					return nil
				}
				if err := printMessage(stdout, m, users, *asJSON); err != nil {
					return err
				}
				pos = m.Seq
			}
		}
	}
	changed := st.Changed()
	if err := print(); err != nil {
		return err
	}
	if !*follow {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := s.Refresh(rctx)
		cancel()
		if err == nil {
			_, err = s.SendOutbox(ctx)
		}
		users, _ = st.Users()
		if perr := print(); perr != nil {
			return perr
		}
		if err != nil {
			fmt.Fprintln(stderr, "parley chat tail: showing the local store only:", err)
		}
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case err := <-done:
			return err
		case <-changed:
			users, _ = st.Users()
			if err := print(); err != nil {
				return err
			}
		}
	}
}

func printMessage(w io.Writer, m parley.Message, users map[string]parley.User, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(m)
	}
	name := m.SenderID
	if u, ok := users[m.SenderID]; ok {
		name = u.Username
	}
	body := m.Body
	if m.Kind == parley.MessageSystem && m.System != nil {
		body = "[" + string(m.System.Action) + "]"
	}
	if m.Deleted {
		body = "[deleted]"
	}
	_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", m.Seq, m.CreatedAt.UTC().Format(time.RFC3339), name,
		strings.ReplaceAll(body, "\n", "\\n"))
	return err
}
