package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/parley-chat/parley"
)

// deliverDigest sends one email for a user's due email entries (channel
// email, enqueued DigestAfter after a mention or direct message): the
// conversations whose news is still unread, if the user is not online and
// has a verified address. It settles every entry.
func (n *Notifier) deliverDigest(ctx context.Context, es []parley.Notification) {
	const ch = string(parley.ChannelEmail)
	userID := es[0].UserID
	finish := func(list []parley.Notification) {
		for _, e := range list {
			if err := n.a.store.FinishNotification(ctx, e.ID, e.Rev); err != nil {
				n.a.log.Warn("settling a digest entry", "user_id", userID, "err", err)
			}
		}
	}
	lines, unread, err := n.digestLines(ctx, es)
	if err == nil && len(unread) == 0 {
		n.skip(ch, "read")
		finish(es)
		return
	}
	var u parley.User
	var verified bool
	if err == nil {
		u, err = n.a.store.User(ctx, userID)
	}
	if err == nil {
		verified, err = n.a.emailVerified(ctx, u)
	}
	switch {
	case err != nil:
	case u.Disabled || !verified:
		n.skip(ch, "unverified")
		finish(es)
		return
	case n.online(ctx, userID):
		n.skip(ch, "online")
		finish(es)
		return
	default:
		subject := fmt.Sprintf("%s: unread mentions and messages", n.a.mail.o.SiteName)
		text := fmt.Sprintf("Hello %s,\n\nwhile you were away:\n\n%s\nOpen %s to read them.\n\n"+
			"You get this because of your notification settings; change them in Parley's settings.\n",
			u.Username, strings.Join(lines, ""), n.a.mail.o.PublicURL+"/")
		err = n.a.mail.o.Mailer.Send(ctx, u.Email, subject, text)
	}
	if err == nil {
		if n.o.Metrics != nil {
			n.o.Metrics.NotifySent(ch, 1)
		}
		finish(es)
		return
	}
	for _, e := range es {
		n.settleFailure(ctx, e, err)
	}
}

// digestLines describes the entries whose messages are still unread, one
// line per conversation; unread lists those entries.
func (n *Notifier) digestLines(ctx context.Context, es []parley.Notification) ([]string, []parley.Notification, error) {
	var lines []string
	var unread []parley.Notification
	for _, e := range es {
		m, err := n.a.store.Member(ctx, e.ConversationID, e.UserID)
		if parley.IsCode(err, parley.CodeNotFound) {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		if m.ReadSeq >= e.Seq {
			continue
		}
		c, err := n.a.store.Conversation(ctx, e.ConversationID)
		if err != nil {
			return nil, nil, err
		}
		title := c.Title
		if c.Kind == parley.KindDirect || title == "" {
			title = "a direct conversation"
			if msg, err := n.a.store.Message(ctx, e.ConversationID, e.Seq); err == nil {
				if s, err := n.a.store.User(ctx, msg.SenderID); err == nil {
					title = s.DisplayName + " (direct)"
				}
			}
		}
		what := fmt.Sprintf("%d new message(s)", e.Count)
		if e.Reason == parley.ReasonMention {
			what += ", you were mentioned"
		}
		lines = append(lines, fmt.Sprintf("- %s: %s\n  %s/c/%s\n", title, what, n.a.mail.o.PublicURL, url.PathEscape(c.ID)))
		unread = append(unread, e)
	}
	return lines, unread, nil
}

// online reports whether the user has a connection anywhere.
func (n *Notifier) online(ctx context.Context, userID string) bool {
	if n.o.Presence == nil {
		return false
	}
	st, err := n.o.Presence.Status(ctx, []string{userID})
	return err == nil && len(st) == 1 && st[0].Online
}
