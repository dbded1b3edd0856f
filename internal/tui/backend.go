// Package tui is `parley chat`, the terminal client: a Bubble Tea v2 model
// over the SDK's offline-first store (client/offline). The model is pure:
// it reads the store and asks for side effects through Backend, so its
// Update and View are unit-tested without a terminal or a server.
package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
)

// Backend is everything the model reads and does. Reads come from the
// local store and work offline; the methods taking a context need the
// server and return its typed errors (unavailable when offline).
type Backend interface {
	Self() string
	Conversations() ([]offline.Conversation, error)
	Messages(conversationID string, before int64, limit int) ([]parley.Message, error)
	Outbox(conversationID string) ([]offline.Outbound, error)
	Receipts(conversationID string) ([]parley.Receipt, error)
	Users() (map[string]parley.User, error)
	// Send composes into the outbox (works offline).
	Send(conversationID string, req client.SendRequest) error
	MarkRead(conversationID string, seq int64) error
	Retry(clientMsgID string) error
	Discard(clientMsgID string) error

	Edit(ctx context.Context, conversationID string, seq int64, body string) error
	React(ctx context.Context, conversationID string, seq int64, emoji string, add bool) error
	Typing(conversationID string, typing bool)
	WatchPresence(ctx context.Context, userIDs []string) ([]parley.PresenceStatus, error)
	// Upload sends the file at path as a message (with body as caption).
	Upload(ctx context.Context, conversationID, path, body string, replyTo int64) error
	// Download writes an attachment into dir and returns the file's path.
	Download(ctx context.Context, a parley.Attachment, dir string) (string, error)
	// OpenDirect returns the direct conversation with username, creating it.
	OpenDirect(ctx context.Context, username string) (string, error)
	// OpenEncryptedDirect is OpenDirect for the end-to-end encrypted direct
	// conversation (e2ee.go).
	OpenEncryptedDirect(ctx context.Context, username string) (string, error)
	// Safety describes the safety number of the conversation's other
	// members (e2ee.go).
	Safety(ctx context.Context, conversationID string) (string, error)
	// Verify marks the conversation's other members verified (after the
	// safety numbers were compared; a key change clears it).
	Verify(conversationID string) (string, error)
}

// Live is the Backend of a running client: a Store kept in step by a Sync.
type Live struct {
	S    *offline.Sync
	self string
	x    liveE2EE // e2ee.go; zero: encryption off
}

// NewLive returns the Backend over s for the signed-in user selfID.
func NewLive(s *offline.Sync, selfID string) *Live { return &Live{S: s, self: selfID} }

var _ Backend = (*Live)(nil)

func (l *Live) st() *offline.Store { return l.S.Store() }

func (l *Live) Self() string                                   { return l.self }
func (l *Live) Conversations() ([]offline.Conversation, error) { return l.st().Conversations() }
func (l *Live) Messages(id string, before int64, limit int) ([]parley.Message, error) {
	ms, err := l.st().Messages(id, before, limit)
	if err != nil || l.x.k == nil {
		return ms, err
	}
	return l.decrypt(id, ms)
}
func (l *Live) Outbox(id string) ([]offline.Outbound, error) { return l.st().Outbox(id) }
func (l *Live) Receipts(id string) ([]parley.Receipt, error) { return l.st().Receipts(id) }
func (l *Live) Users() (map[string]parley.User, error)       { return l.st().Users() }
func (l *Live) Send(id string, req client.SendRequest) error {
	req, err := l.encrypt(id, req) // e2ee.go: unchanged for a plain conversation
	if err != nil {
		return err
	}
	_, err = l.S.Send(id, req)
	return err
}
func (l *Live) MarkRead(id string, seq int64) error { return l.S.MarkRead(id, seq) }
func (l *Live) Retry(cmid string) error {
	err := l.st().Retry(cmid)
	l.S.Kick()
	return err
}
func (l *Live) Discard(cmid string) error { return l.st().Discard(cmid) }

func (l *Live) Edit(ctx context.Context, id string, seq int64, body string) error {
	if l.encrypted(id) {
		return l.editEncrypted(ctx, id, seq, body)
	}
	m, err := l.S.Client().EditMessage(ctx, id, seq, body)
	if err != nil {
		return err
	}
	return l.st().PutMessages(m)
}

func (l *Live) React(ctx context.Context, id string, seq int64, emoji string, add bool) error {
	var rs []parley.Reaction
	var err error
	if add {
		rs, err = l.S.Client().React(ctx, id, seq, emoji)
	} else {
		rs, err = l.S.Client().Unreact(ctx, id, seq, emoji)
	}
	if err != nil {
		return err
	}
	return l.st().SetReactions(id, seq, rs)
}

func (l *Live) Typing(id string, typing bool) {
	rt := l.S.Realtime()
	if rt == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Typing(ctx, id, typing)
	}()
}

func (l *Live) WatchPresence(ctx context.Context, ids []string) ([]parley.PresenceStatus, error) {
	rt := l.S.Realtime()
	if rt == nil || len(ids) == 0 {
		return nil, nil
	}
	return rt.WatchPresence(ctx, ids...)
}

func (l *Live) Upload(ctx context.Context, id, path, body string, replyTo int64) error {
	f, err := os.Open(path) // #nosec G304 -- the user names the file to send
	if err != nil {
		return parley.Invalid("path", "%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return parley.Invalid("path", "%s is not a regular file", path)
	}
	a, err := l.S.Client().Upload(ctx, filepath.Base(path), f, fi.Size())
	if err != nil {
		return err
	}
	return l.Send(id, client.SendRequest{Body: body, ReplyTo: replyTo, AttachmentIDs: []string{a.ID}})
}

func (l *Live) Download(ctx context.Context, a parley.Attachment, dir string) (string, error) {
	return Download(ctx, l.S.Client(), a, dir)
}

// Download writes attachment a into dir under its own (sanitised) name,
// never overwriting: an existing name gets a " (n)" suffix.
func Download(ctx context.Context, c *client.Client, a parley.Attachment, dir string) (string, error) {
	d, err := c.Fetch(ctx, a.ID, client.FetchOptions{})
	if err != nil {
		return "", err
	}
	defer d.Body.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", parley.Invalid("dir", "%v", err)
	}
	name := filepath.Base(strings.ReplaceAll(a.Name, "\\", "/"))
	if name == "." || name == "/" || name == ".." || name == "" {
		name = a.ID
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		p := filepath.Join(dir, name)
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, i, ext))
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- name sanitised above
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", parley.Invalid("dir", "%v", err)
		}
		if _, err := io.Copy(f, d.Body); err != nil {
			f.Close()
			os.Remove(p)
			return "", parley.Unavailable(err)
		}
		return p, f.Close()
	}
}

func (l *Live) OpenDirect(ctx context.Context, username string) (string, error) {
	return openDirect(ctx, l.S, username, false)
}

// OpenDirect finds username (exactly) and returns the id of the direct
// conversation with them, creating it; it records it in the store.
// CodeNotFound for an unknown user.
func OpenDirect(ctx context.Context, s *offline.Sync, username string) (string, error) {
	return openDirect(ctx, s, username, false)
}

// openDirect is OpenDirect for the plain or the encrypted conversation.
func openDirect(ctx context.Context, s *offline.Sync, username string, encrypted bool) (string, error) {
	name, err := parley.CanonicalUsername(strings.TrimPrefix(username, "@"))
	if err != nil {
		return "", err
	}
	page, err := s.Client().SearchUsers(ctx, name, "", 20)
	if err != nil {
		return "", err
	}
	for _, u := range page.Users {
		if u.Username != name {
			continue
		}
		c, _, err := s.Client().CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect,
			MemberIDs: []string{u.ID}, Encrypted: encrypted})
		if err != nil {
			return "", err
		}
		_ = s.Store().PutUsers(u)
		if err := s.Store().PutConversation(c); err != nil {
			return "", err
		}
		_ = s.Store().SetMembers(c.ID, []string{s.Store().UserID(), u.ID})
		return c.ID, nil
	}
	return "", parley.Errorf(parley.CodeNotFound, "no user %q", name)
}
