package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/e2ee"
	"github.com/parley-chat/parley/client/offline"
)

// End-to-end encrypted conversations in the terminal client
// (docs/e2ee.md). Messages of an encrypted conversation are decrypted in
// seq order as they are read from the local store and shown with a lock;
// a failure is shown as "could not decrypt: …", never as text.

// Lock marks an encrypted conversation and its messages.
const Lock = "🔒"

// liveE2EE is Live's encryption state.
type liveE2EE struct {
	k     *client.E2EE
	mu    sync.Mutex
	shown map[string]string // message id + envelope digest → what the model shows
	upTo  map[string]int64  // conversation → seq decrypted up to (in order)
}

// NewLiveE2EE is NewLive with end-to-end encryption through k.
func NewLiveE2EE(s *offline.Sync, selfID string, k *client.E2EE) *Live {
	l := NewLive(s, selfID)
	l.x = liveE2EE{k: k, shown: map[string]string{}, upTo: map[string]int64{}}
	return l
}

func (l *Live) encrypted(id string) bool {
	c, err := l.st().Conversation(id)
	return err == nil && c.Encrypted
}

// encrypt turns a send into an encrypted conversation into an envelope
// (this needs the server: device lists and bundles).
func (l *Live) encrypt(id string, req client.SendRequest) (client.SendRequest, error) {
	if !l.encrypted(id) {
		return req, nil
	}
	if l.x.k == nil {
		return req, parley.Invalid("e2ee", "this conversation is end-to-end encrypted and this client has no keys")
	}
	if len(req.AttachmentIDs) > 0 {
		return req, parley.Invalid("attachment_ids", "the terminal client does not send files to encrypted conversations yet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return l.x.k.EncryptRequest(ctx, id, req)
}

func (l *Live) editEncrypted(ctx context.Context, id string, seq int64, body string) error {
	if l.x.k == nil {
		return parley.Invalid("e2ee", "this conversation is end-to-end encrypted and this client has no keys")
	}
	m, err := l.st().Messages(id, seq+1, 1)
	if err != nil || len(m) == 0 || m[0].Seq != seq {
		return parley.Errorf(parley.CodeNotFound, "message not found")
	}
	d, err := l.x.k.Edit(ctx, id, seq, m[0].ID, body)
	if err != nil {
		return err
	}
	return l.st().PutMessages(d.Message)
}

// decrypt replaces the body of each encrypted message of ms (a page of
// conversation id) with its decrypted text or failure, after decrypting,
// in seq order, every stored message of the conversation not decrypted yet.
func (l *Live) decrypt(id string, ms []parley.Message) ([]parley.Message, error) {
	e := &l.x
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		batch, err := l.st().MessagesAfter(id, e.upTo[id], 200)
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		for _, m := range batch {
			l.show(ctx, m)
			e.upTo[id] = m.Seq
		}
	}
	out := make([]parley.Message, len(ms))
	for i, m := range ms {
		if m.E2EE != nil {
			m.Body = l.show(ctx, m)
			m.Mentions = nil
		}
		out[i] = m
	}
	return out, nil
}

// show returns (and remembers) what the model shows for m.
func (l *Live) show(ctx context.Context, m parley.Message) string {
	if m.E2EE == nil {
		return m.Body
	}
	key := m.ID + ":" + digest(m.E2EE)
	if s, ok := l.x.shown[key]; ok {
		return s
	}
	d := l.x.k.Decrypt(ctx, m)
	s := Lock + " " + d.Body
	if d.Err != nil {
		s = Lock + " " + d.Err.Error()
		if !strings.HasPrefix(d.Err.Error(), "could not decrypt") {
			s = Lock + " could not decrypt: " + d.Err.Error()
		}
	}
	if d.Err == nil || !errors.Is(d.Err, e2ee.ErrUntrusted) { // the device list may come later
		l.x.shown[key] = s
	}
	return s
}

func digest(b []byte) string {
	var h uint64 = 14695981039346656037 // FNV-1a: a cache key, not security
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

// OpenEncryptedDirect implements Backend.
func (l *Live) OpenEncryptedDirect(ctx context.Context, username string) (string, error) {
	if l.x.k == nil {
		return "", parley.Invalid("e2ee", "end-to-end encryption is off in this client")
	}
	return openDirect(ctx, l.S, username, true)
}

// Safety implements Backend: the safety number with each other member of
// the conversation, and whether their keys changed since last looked at
// (looking acknowledges the change).
func (l *Live) Safety(ctx context.Context, id string) (string, error) {
	if l.x.k == nil {
		return "", parley.Invalid("e2ee", "end-to-end encryption is off in this client")
	}
	c, err := l.st().Conversation(id)
	if err != nil {
		return "", err
	}
	users, _ := l.st().Users()
	var lines []string
	for _, uid := range c.MemberIDs {
		if uid == l.self {
			continue
		}
		n, err := l.x.k.SafetyNumber(ctx, uid)
		if err != nil {
			return "", err
		}
		name := uid
		if u, ok := users[uid]; ok {
			name = u.Username
		}
		line := fmt.Sprintf("safety number with %s: %s", name, e2ee.FormatSafetyNumber(n))
		changed, verified := l.x.k.KeyChanged(uid)
		if changed {
			line = "⚠ " + name + "'s keys changed · " + line
		}
		if verified {
			line += " (verified ✓)"
		} else {
			line += " (not verified: compare, then /verify)"
		}
		_ = l.x.k.AckKeyChange(uid, false)
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "nobody else in this conversation", nil
	}
	return strings.Join(lines, " · "), nil
}

// Verify implements Backend.
func (l *Live) Verify(id string) (string, error) {
	if l.x.k == nil {
		return "", parley.Invalid("e2ee", "end-to-end encryption is off in this client")
	}
	c, err := l.st().Conversation(id)
	if err != nil {
		return "", err
	}
	n := 0
	for _, uid := range c.MemberIDs {
		if uid != l.self {
			if err := l.x.k.AckKeyChange(uid, true); err != nil {
				return "", err
			}
			n++
		}
	}
	return fmt.Sprintf("marked %d member(s) verified on this device", n), nil
}
