package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// registerTestDevice registers a device for a with valid signatures.
func registerTestDevice(t *testing.T, e *notifyEnv, a parley.Actor) parley.E2EEDevice {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ikd, spk := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(ikd)
	_, _ = rand.Read(spk)
	d, err := e.app.RegisterDevice(e.ctx, a, app.RegisterDeviceInput{Name: "t", IdentitySign: pub, IdentityDH: ikd,
		IdentityDHSig: ed25519.Sign(priv, parley.IdentityDHMessage(ikd)),
		SignedPrekey:  parley.SignedPrekey{ID: 1, Key: spk, Sig: ed25519.Sign(priv, parley.SignedPrekeyMessage(1, spk))}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// shapeEnvelope is a well-formed direct envelope (random ciphertext).
func shapeEnvelope(sender, to string) json.RawMessage {
	b := func(n int) string {
		x := make([]byte, n)
		_, _ = rand.Read(x)
		return base64.StdEncoding.EncodeToString(x)
	}
	return json.RawMessage(`{"v":1,"sender_device":"` + sender + `","recipients":[{"device":"` + to +
		`","type":"msg","header":"` + b(40) + `","ct":"` + b(48) + `"}]}`)
}

// TestEncryptedConversationPushAndRules: push previews of encrypted
// messages say only "New encrypted message"; the app refuses plaintext,
// mentions-as-text, files and foreign sender devices there.
func TestEncryptedConversationPushAndRules(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	bob, carol := e.user(t, "bob"), e.user(t, "carol")
	if _, err := e.app.SetNotifyPrefs(e.ctx, carol, parley.NotifyPrefs{Level: parley.NotifyAll, Previews: true}); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.app.CreateConversation(e.ctx, bob, app.CreateConversationInput{Kind: parley.KindDirect,
		MemberIDs: []string{carol.UserID}, Encrypted: true})
	if err != nil || !c.Encrypted {
		t.Fatal(c, err)
	}
	if _, _, err := e.app.CreateConversation(e.ctx, bob, app.CreateConversationInput{Kind: parley.KindChannel, Title: "x",
		Encrypted: true}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("encrypted channel: %v", err)
	}
	db, dc := registerTestDevice(t, e, bob), registerTestDevice(t, e, carol)
	send := func(a parley.Actor, in app.SendMessageInput) error {
		in.ConversationID, in.ClientMsgID = c.ID, parley.NewID()
		_, _, err := e.app.SendMessage(e.ctx, a, in)
		return err
	}
	for name, in := range map[string]app.SendMessageInput{
		"plaintext":                       {Body: "hello"},
		"body and envelope":               {Body: "hello", E2EE: shapeEnvelope(db.ID, dc.ID)},
		"files and envelope":              {AttachmentIDs: []string{parley.NewID()}, E2EE: shapeEnvelope(db.ID, dc.ID)},
		"someone else's device as sender": {E2EE: shapeEnvelope(dc.ID, db.ID)},
		"unknown sender device":           {E2EE: shapeEnvelope(parley.NewID(), dc.ID)},
		"a group part in a direct chat": {E2EE: json.RawMessage(strings.Replace(string(shapeEnvelope(db.ID, dc.ID)), `]}`,
			`],"group":{"key_id":"AAAAAAAAAAAAAAAAAAAAAA==","iteration":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA==","sig":"`+
				base64.StdEncoding.EncodeToString(make([]byte, 64))+`"}}`, 1))},
		"malformed envelope": {E2EE: json.RawMessage(`{"v":1}`)},
	} {
		if err := send(bob, in); !parley.IsCode(err, parley.CodeInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if err := send(bob, app.SendMessageInput{E2EE: shapeEnvelope(db.ID, dc.ID)}); err != nil {
		t.Fatal(err)
	}
	got := pushedTo(e.settle(t, c.ID))
	if p := got[carol.UserID]; p.Body != parley.EncryptedPushPreview {
		t.Fatalf("push %+v", got)
	}
	// An envelope into a plain conversation is refused too.
	plain, _, _ := e.app.CreateConversation(e.ctx, bob, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{carol.UserID}})
	if plain.ID == c.ID {
		t.Fatal("the plain and the encrypted direct chat are one")
	}
	_, _, err = e.app.SendMessage(e.ctx, bob, app.SendMessageInput{ConversationID: plain.ID, ClientMsgID: parley.NewID(),
		E2EE: shapeEnvelope(db.ID, dc.ID)})
	if !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("envelope into a plain chat: %v", err)
	}
	// Plain edits of an encrypted message are refused; an envelope edit works.
	h, _ := e.app.History(e.ctx, bob, c.ID, app.HistoryInput{After: 0, Limit: 10})
	seq := h[len(h)-1].Seq
	if _, err := e.app.EditMessage(e.ctx, bob, c.ID, seq, "clear"); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("plain edit: %v", err)
	}
	m, err := e.app.EditMessageE2EE(e.ctx, bob, c.ID, seq, "", shapeEnvelope(db.ID, dc.ID))
	if err != nil || m.E2EE == nil || m.EditedAt == nil {
		t.Fatalf("envelope edit: %+v %v", m, err)
	}
}
