package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client/e2ee"
)

// E2EE is the SDK's end-to-end encryption layer (docs/e2ee.md): one device
// of the signed-in user, its keys kept by a StateStore. It encrypts sends
// to encrypted conversations and decrypts what arrives (events, history),
// each message with a decryption status. Safe for concurrent use.
type E2EE struct {
	c     *Client
	store e2ee.StateStore
	me    string

	mu      sync.Mutex
	dev     *e2ee.Device
	devices map[string][]parley.E2EEDevice // user id → devices, as last fetched
	convs   map[string]parley.Conversation

	// OnKeyChange, if set, is called (without locks held) when a user's
	// device set differs from what this device saw before: the client shows
	// "X's keys changed" (docs/e2ee.md §10).
	OnKeyChange func(userID string)
}

// Decrypted is a message with its end-to-end decryption outcome. For a
// message of an encrypted conversation, Body, ReplyTo, Mentions and
// Attachments come from the decrypted inner plaintext; Err (a
// *e2ee.DecryptError) is set instead when it could not be decrypted, and
// the text must not be shown. Plain messages pass through with Encrypted
// false.
type Decrypted struct {
	parley.Message
	Encrypted   bool
	Attachments []e2ee.Attachment
	EditOf      string
	Err         error
}

// Status is "" for a plain message, "ok" for a decrypted one, else the
// failure: "could not decrypt: …".
func (d Decrypted) Status() string {
	switch {
	case !d.Encrypted:
		return ""
	case d.Err != nil:
		return d.Err.Error()
	}
	return "ok"
}

// EnableE2EE loads this device's keys from store, or makes and registers a
// new device named name when the store has none; then it replenishes the
// one-time prekeys and rotates the signed prekey when due.
func (c *Client) EnableE2EE(ctx context.Context, store e2ee.StateStore, name string) (*E2EE, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	x := &E2EE{c: c, store: store, me: me.ID, devices: map[string][]parley.E2EEDevice{}, convs: map[string]parley.Conversation{}}
	st, err := store.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := x.register(ctx, name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if st.UserID != me.ID {
			return nil, parley.Invalid("", "these e2ee keys belong to another account")
		}
		x.dev = e2ee.Open(st, rand.Reader)
	}
	if err := x.Maintain(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *E2EE) register(ctx context.Context, name string) error {
	d, err := e2ee.NewDevice(rand.Reader, x.me, name, time.Now())
	if err != nil {
		return err
	}
	iks, ikd, sig, spk, opks := d.Registration()
	reg, err := x.c.RegisterDevice(ctx, RegisterDeviceRequest{Name: name, IdentitySign: iks, IdentityDH: ikd, IdentityDHSig: sig,
		SignedPrekey: spk, OneTimePrekeys: opks})
	if err != nil {
		return err
	}
	d.St.DeviceID = reg.ID
	x.dev = d
	return x.store.Save(d.St)
}

// RestoreE2EE brings a device identity back from the key backup on the
// server (docs/e2ee.md §8) into store: the same device id and keys, so
// contacts see no key change; sessions restart and earlier history stays
// unreadable. The signed prekey is published again and one-time prekeys
// replenished.
func (c *Client) RestoreE2EE(ctx context.Context, store e2ee.StateStore, passphrase string) (*E2EE, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := c.KeyBackup(ctx)
	if err != nil {
		return nil, err
	}
	var b e2ee.Backup
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, parley.Invalid("", "the key backup is malformed")
	}
	bs, err := e2ee.OpenBackup(passphrase, b)
	if err != nil {
		return nil, err
	}
	d := e2ee.Open(&e2ee.State{}, rand.Reader)
	if err := e2ee.Restore(bs, me.ID, d); err != nil {
		return nil, err
	}
	if err := c.SetSignedPrekey(ctx, d.St.DeviceID, d.SignedPrekey()); err != nil {
		return nil, err // CodeNotFound: the device was deleted since the backup
	}
	if err := store.Save(d.St); err != nil {
		return nil, err
	}
	x := &E2EE{c: c, store: store, me: me.ID, dev: d, devices: map[string][]parley.E2EEDevice{}, convs: map[string]parley.Conversation{}}
	return x, x.Maintain(ctx)
}

// Backup seals this device's keys with passphrase (Argon2id) and stores
// the blob on the server.
func (x *E2EE) Backup(ctx context.Context, passphrase string) error {
	x.mu.Lock()
	bs := x.dev.BackupState()
	x.mu.Unlock()
	b, err := e2ee.SealBackup(rand.Reader, passphrase, bs, e2ee.BackupTime, e2ee.BackupMemory, e2ee.BackupThreads)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return x.c.PutKeyBackup(ctx, raw)
}

// DeviceID is this device's id.
func (x *E2EE) DeviceID() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.dev.St.DeviceID
}

// Failures returns the decryption failures counted so far, by reason.
func (x *E2EE) Failures() map[string]int {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]int{}
	for k, v := range x.dev.St.Failures {
		out[k] = v
	}
	return out
}

// Maintain tops the one-time prekeys up to e2ee.OneTimePrekeys when fewer
// than e2ee.ReplenishBelow are left and rotates a week-old signed prekey.
// Clients call it now and then (EnableE2EE does).
func (x *E2EE) Maintain(ctx context.Context) error {
	x.mu.Lock()
	id := x.dev.St.DeviceID
	x.mu.Unlock()
	n, err := x.c.PrekeyCount(ctx, id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	var ks []parley.OneTimePrekey
	if n < e2ee.ReplenishBelow {
		ks, err = x.dev.NewOneTimePrekeys(e2ee.OneTimePrekeys - n)
	}
	var spk *parley.SignedPrekey
	if err == nil && x.dev.SignedPrekeyDue() {
		var p parley.SignedPrekey
		p, err = x.dev.RotateSignedPrekey()
		spk = &p
	}
	if err == nil {
		err = x.store.Save(x.dev.St) // the private halves before the public ones go out
	}
	x.mu.Unlock()
	if err != nil {
		return err
	}
	if len(ks) > 0 {
		if _, err := x.c.AddOneTimePrekeys(ctx, id, ks); err != nil {
			return err
		}
	}
	if spk != nil {
		return x.c.SetSignedPrekey(ctx, id, *spk)
	}
	return nil
}

func (x *E2EE) conversation(ctx context.Context, id string) (parley.Conversation, error) {
	x.mu.Lock()
	c, ok := x.convs[id]
	x.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := x.c.Conversation(ctx, id)
	if err != nil {
		return c, err
	}
	x.mu.Lock()
	x.convs[id] = c
	x.mu.Unlock()
	return c, nil
}

func (x *E2EE) memberIDs(ctx context.Context, convID string) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		p, err := x.c.Members(ctx, convID, cursor, 200)
		if err != nil {
			return nil, err
		}
		for _, m := range p.Members {
			ids = append(ids, m.UserID)
		}
		if p.NextCursor == "" {
			return ids, nil
		}
		cursor = p.NextCursor
	}
}

// refreshDevices fetches userID's devices, records them and reports a key
// change through OnKeyChange.
func (x *E2EE) refreshDevices(ctx context.Context, userID string) ([]parley.E2EEDevice, error) {
	ds, err := x.c.Devices(ctx, userID)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	x.devices[userID] = ds
	changed := userID != x.me && x.dev.ObserveDevices(userID, ds)
	err = x.store.Save(x.dev.St)
	x.mu.Unlock()
	if changed && x.OnKeyChange != nil {
		x.OnKeyChange(userID)
	}
	return ds, err
}

// HandleEvent reacts to real-time events: e2ee_devices refreshes that
// user's device list (a change calls OnKeyChange); a member leaving or
// being removed from a conversation makes this device's next group message
// rotate its sender key.
func (x *E2EE) HandleEvent(ctx context.Context, ev Event) {
	switch ev.Type {
	case string(parley.EventE2EEDevices):
		if ev.UserID != "" {
			_, _ = x.refreshDevices(ctx, ev.UserID)
		}
	case "message":
		if m := ev.Message; m != nil && m.System != nil &&
			(m.System.Action == parley.SystemMemberLeft || m.System.Action == parley.SystemMemberRemoved) {
			x.mu.Lock()
			x.dev.Forget(m.ConversationID)
			_ = x.store.Save(x.dev.St)
			x.mu.Unlock()
		}
	}
}

// SendOptions are the optional parts of an encrypted message.
type SendOptions struct {
	ClientMsgID string
	ReplyTo     int64
	Mentions    []string
	Attachments []e2ee.Attachment
}

// Send encrypts body for every current device of every member of the
// encrypted conversation convID and sends it (REST). The state is saved
// before the message leaves, so a crash can never reuse a message key.
func (x *E2EE) Send(ctx context.Context, convID, body string, o SendOptions) (Decrypted, error) {
	env, inner, err := x.Encrypt(ctx, convID, e2ee.Inner{Body: body, ReplyTo: o.ReplyTo, Mentions: o.Mentions, Attachments: o.Attachments})
	if err != nil {
		return Decrypted{}, err
	}
	if o.ClientMsgID == "" {
		o.ClientMsgID = parley.NewID()
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return Decrypted{}, err
	}
	// reply_to travels inside the envelope only: the server does not learn it.
	var ids []string
	for _, a := range o.Attachments {
		id, ok := attachmentID(a.URL)
		if !ok {
			return Decrypted{}, parley.Invalid("attachments", "an encrypted file's url must be %s{id}%s (UploadFile)", blobPrefix, blobSuffix)
		}
		ids = append(ids, id)
	}
	m, _, err := x.c.Send(ctx, convID, SendRequest{ClientMsgID: o.ClientMsgID, E2EE: raw, AttachmentIDs: ids})
	if err != nil {
		return Decrypted{}, err
	}
	x.remember(m.ID, env, inner)
	return x.decrypted(m, inner, nil), nil
}

// Edit replaces the text of the caller's message seq with a new envelope.
func (x *E2EE) Edit(ctx context.Context, convID string, seq int64, messageID, body string) (Decrypted, error) {
	env, inner, err := x.Encrypt(ctx, convID, e2ee.Inner{Body: body, EditOf: messageID})
	if err != nil {
		return Decrypted{}, err
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return Decrypted{}, err
	}
	m, err := x.c.EditMessageE2EE(ctx, convID, seq, raw)
	if err != nil {
		return Decrypted{}, err
	}
	x.remember(m.ID, env, inner)
	return x.decrypted(m, inner, nil), nil
}

func (x *E2EE) remember(id string, env parley.Envelope, in e2ee.Inner) {
	x.mu.Lock()
	x.dev.Remember(e2ee.PlainKey(id, env), in)
	_ = x.store.Save(x.dev.St)
	x.mu.Unlock()
}

// Encrypt builds the envelope of inner for convID (claiming bundles where
// this device has no session yet) and saves the advanced state. Send and
// Edit use it; a client sending over the WebSocket uses it directly.
func (x *E2EE) Encrypt(ctx context.Context, convID string, inner e2ee.Inner) (parley.Envelope, e2ee.Inner, error) {
	c, err := x.conversation(ctx, convID)
	if err != nil {
		return parley.Envelope{}, inner, err
	}
	if !c.Encrypted {
		return parley.Envelope{}, inner, parley.Invalid("conversation_id", "this conversation is not end-to-end encrypted")
	}
	members, err := x.memberIDs(ctx, convID)
	if err != nil {
		return parley.Envelope{}, inner, err
	}
	var devs []parley.E2EEDevice
	owner := map[string]string{}
	for _, u := range members {
		ds, err := x.refreshDevices(ctx, u)
		if err != nil {
			return parley.Envelope{}, inner, err
		}
		for _, d := range ds {
			owner[d.ID] = u
		}
		devs = append(devs, ds...)
	}
	x.mu.Lock()
	need := x.dev.NeedBundles(devs)
	x.mu.Unlock()
	bundles := map[string]parley.E2EEBundle{}
	claimed := map[string]bool{}
	for _, id := range need {
		u := owner[id]
		if claimed[u] {
			continue
		}
		claimed[u] = true
		bs, err := x.c.ClaimBundles(ctx, u)
		if err != nil {
			return parley.Envelope{}, inner, err
		}
		for _, b := range bs {
			bundles[b.DeviceID] = b
		}
	}
	// A device registered between the list and the claim has no entry in
	// devs: it gets messages from the next send on.
	x.mu.Lock()
	defer x.mu.Unlock()
	var env parley.Envelope
	if c.Kind == parley.KindGroup {
		env, inner, err = x.dev.EncryptGroup(convID, inner, members, devs, bundles)
	} else {
		env, inner, err = x.dev.EncryptDirect(convID, inner, devs, bundles)
	}
	if err != nil {
		return env, inner, err
	}
	return env, inner, x.store.Save(x.dev.St)
}

// Decrypt returns m with its decrypted content, or with Err set. A message
// this device decrypted or sent before comes from its local cache (a
// message key works once). Decrypt messages of one conversation in seq
// order: an older ctr after a newer one is reported as replayed or
// reordered.
func (x *E2EE) Decrypt(ctx context.Context, m parley.Message) Decrypted {
	if m.E2EE == nil {
		return Decrypted{Message: m}
	}
	c, err := x.conversation(ctx, m.ConversationID)
	if err != nil {
		return Decrypted{Message: m, Encrypted: true, Err: err}
	}
	env, err := parley.ParseEnvelope(m.E2EE, c.Kind == parley.KindGroup)
	if err != nil {
		x.mu.Lock()
		x.dev.St.Failures[e2ee.ErrTruncated.Error()]++
		x.mu.Unlock()
		return x.decrypted(m, e2ee.Inner{}, &e2ee.DecryptError{Reason: e2ee.ErrTruncated})
	}
	key := e2ee.PlainKey(m.ID, env)
	x.mu.Lock()
	in, ok := x.dev.St.Plain[key]
	if !ok && env.SenderDevice == x.dev.St.DeviceID && m.ClientMsgID != "" {
		in, ok = x.dev.St.Plain[outboxKey(m.ClientMsgID)] // sent through an outbox
	}
	x.mu.Unlock()
	if ok {
		return x.decrypted(m, in, nil)
	}
	sender := x.senderDevice(ctx, m.SenderID, env.SenderDevice)
	x.mu.Lock()
	in, err = x.dev.Decrypt(m.ConversationID, c.Kind == parley.KindGroup, env, sender)
	if err == nil {
		x.dev.Remember(key, in)
	}
	_ = x.store.Save(x.dev.St)
	x.mu.Unlock()
	return x.decrypted(m, in, err)
}

// senderDevice finds the registered device a message claims to come from
// (nil when the sender has no such device).
func (x *E2EE) senderDevice(ctx context.Context, userID, deviceID string) *parley.E2EEDevice {
	x.mu.Lock()
	ds := x.devices[userID]
	x.mu.Unlock()
	i := slices.IndexFunc(ds, func(d parley.E2EEDevice) bool { return d.ID == deviceID })
	if i < 0 {
		var err error
		if ds, err = x.refreshDevices(ctx, userID); err != nil {
			return nil
		}
		if i = slices.IndexFunc(ds, func(d parley.E2EEDevice) bool { return d.ID == deviceID }); i < 0 {
			return nil
		}
	}
	return &ds[i]
}

func (x *E2EE) decrypted(m parley.Message, in e2ee.Inner, err error) Decrypted {
	d := Decrypted{Message: m, Encrypted: true, Err: err}
	d.Body, d.Mentions = "", nil // never anything but the decrypted text
	if err == nil {
		d.Body, d.ReplyTo, d.Mentions, d.Attachments, d.EditOf = in.Body, in.ReplyTo, in.Mentions, in.Attachments, in.EditOf
	}
	return d
}

// History reads a page of history and decrypts it in seq order (the page
// keeps the order the query gives).
func (x *E2EE) History(ctx context.Context, convID string, q HistoryQuery) ([]Decrypted, error) {
	ms, err := x.c.History(ctx, convID, q)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(ms))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ms[idx[a]].Seq < ms[idx[b]].Seq })
	out := make([]Decrypted, len(ms))
	for _, i := range idx {
		out[i] = x.Decrypt(ctx, ms[i])
	}
	return out, nil
}

// SafetyNumber returns the 60-digit safety number of the caller and
// userID over their current device lists (docs/e2ee.md §10).
func (x *E2EE) SafetyNumber(ctx context.Context, userID string) (string, error) {
	mine, err := x.refreshDevices(ctx, x.me)
	if err != nil {
		return "", err
	}
	theirs, err := x.refreshDevices(ctx, userID)
	if err != nil {
		return "", err
	}
	keys := func(ds []parley.E2EEDevice) [][]byte {
		var ks [][]byte
		for _, d := range ds {
			ks = append(ks, d.IdentitySign)
		}
		return ks
	}
	return e2ee.SafetyNumber(x.me, keys(mine), userID, keys(theirs)), nil
}

// KeyChanged reports whether userID's devices changed since the caller
// last acknowledged it (AckKeyChange), and whether they are verified.
func (x *E2EE) KeyChanged(userID string) (changed, verified bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p := x.dev.St.Peers[userID]; p != nil {
		return p.Changed, p.Verified
	}
	return false, false
}

// AckKeyChange clears the key-change flag of userID; verified marks the
// contact verified (after comparing safety numbers).
func (x *E2EE) AckKeyChange(userID string, verified bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p := x.dev.St.Peers[userID]; p != nil {
		p.Changed = false
		p.Verified = p.Verified || verified
	}
	return x.store.Save(x.dev.St)
}

func outboxKey(clientMsgID string) string { return "outbox:" + clientMsgID }

// EncryptRequest turns a plaintext send into an encrypted one for an
// outbox (client/offline) or the WebSocket: the envelope replaces Body, and
// the plaintext is kept under the ClientMsgID (assigned when empty) so this
// device shows its own message. Attachments are not supported here.
func (x *E2EE) EncryptRequest(ctx context.Context, convID string, req SendRequest) (SendRequest, error) {
	if len(req.AttachmentIDs) > 0 {
		return req, parley.Invalid("attachment_ids", "files in encrypted conversations are sent encrypted inside the message (e2ee.EncryptFile), not as attachment_ids")
	}
	env, inner, err := x.Encrypt(ctx, convID, e2ee.Inner{Body: req.Body, ReplyTo: req.ReplyTo})
	if err != nil {
		return req, err
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return req, err
	}
	if req.ClientMsgID == "" {
		req.ClientMsgID = parley.NewID()
	}
	x.mu.Lock()
	x.dev.Remember(outboxKey(req.ClientMsgID), inner)
	err = x.store.Save(x.dev.St)
	x.mu.Unlock()
	req.Body, req.E2EE, req.ReplyTo = "", raw, 0 // reply_to only inside the envelope
	return req, err
}

// Where an encrypted file's blob is fetched: its inner url (docs/e2ee.md §7).
const (
	blobPrefix = "/api/v1/attachments/"
	blobSuffix = "/content"
)

func attachmentID(u string) (string, bool) {
	id, ok := strings.CutPrefix(u, blobPrefix)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, blobSuffix)
	return id, ok && parley.ValidID(id)
}

// UploadFile encrypts data (AES-256-GCM, random key and nonce) and uploads
// the ciphertext as an opaque blob under a neutral name. The returned
// attachment (key, nonce, hash, real name and type) goes into Send's
// SendOptions.Attachments: it travels only inside the envelope, and the
// send binds the blob to the message so the members can fetch it.
func (x *E2EE) UploadFile(ctx context.Context, name, mime string, data []byte) (e2ee.Attachment, error) {
	ct, a, err := e2ee.EncryptFile(rand.Reader, data)
	if err != nil {
		return a, err
	}
	up, err := x.c.Upload(ctx, "encrypted.bin", bytes.NewReader(ct), int64(len(ct)))
	if err != nil {
		return a, err
	}
	a.URL, a.Name, a.MIME = blobPrefix+up.ID+blobSuffix, name, mime
	return a, nil
}

// FetchFile downloads an encrypted file and decrypts it (checking its
// SHA-256); a tampered blob is e2ee.ErrForged.
func (x *E2EE) FetchFile(ctx context.Context, a e2ee.Attachment) ([]byte, error) {
	id, ok := attachmentID(a.URL)
	if !ok {
		return nil, parley.Invalid("url", "not an encrypted file's url")
	}
	d, err := x.c.Fetch(ctx, id, FetchOptions{})
	if err != nil {
		return nil, err
	}
	defer d.Body.Close()
	ct, err := io.ReadAll(io.LimitReader(d.Body, a.Size+1<<10))
	if err != nil {
		return nil, &parley.Error{Code: parley.CodeUnavailable, Message: "download: " + err.Error(), Err: err}
	}
	return e2ee.DecryptFile(ct, a)
}
