package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testE2EE(t *testing.T, open Opener) {
	t.Run("devices", func(t *testing.T) { e2eeDevices(t, open) })
	t.Run("one-time prekeys", func(t *testing.T) { e2eePrekeys(t, open) })
	t.Run("concurrent claims get each prekey exactly once", func(t *testing.T) { e2eeConcurrentClaims(t, open) })
	t.Run("backup", func(t *testing.T) { e2eeBackup(t, open) })
	t.Run("shares conversation", func(t *testing.T) { e2eeShares(t, open) })
	t.Run("encrypted conversations and envelopes", func(t *testing.T) { e2eeEncryptedMessages(t, open) })
}

// fakeKey returns n bytes starting with tag: the store does not verify keys.
func fakeKey(tag string, n int) []byte {
	b := make([]byte, n)
	copy(b, tag)
	return b
}

func newDevice(user, name string, at time.Time) parley.E2EEDevice {
	return parley.E2EEDevice{ID: parley.NewID(), UserID: user, Name: name,
		IdentitySign: fakeKey("ks"+name+user, 32), IdentityDH: fakeKey("kd"+name, 32), IdentityDHSig: fakeKey("sig", 64),
		SignedPrekey: parley.SignedPrekey{ID: 7, Key: fakeKey("spk"+name, 32), Sig: fakeKey("spksig", 64)}, CreatedAt: at}
}

func prekeys(from, n int) []parley.OneTimePrekey {
	ks := make([]parley.OneTimePrekey, n)
	for i := range ks {
		ks[i] = parley.OneTimePrekey{ID: uint32(from + i), Key: fakeKey(fmt.Sprintf("opk%d", from+i), 32)} // #nosec G115 -- small test ids
	}
	return ks
}

// e2eeDevices: register, read back, list oldest first, the cap, duplicate
// identity keys, someone else's device, delete.
func e2eeDevices(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ed", 2)
	a := newDevice(u[0], "laptop", baseTime)
	if err := s.CreateE2EEDevice(ctx, a, prekeys(1, 3), 2); err != nil {
		t.Fatal(err)
	}
	got, err := s.E2EEDevice(ctx, a.ID)
	if err != nil || got.UserID != u[0] || got.Name != "laptop" || !bytes.Equal(got.IdentitySign, a.IdentitySign) ||
		!bytes.Equal(got.IdentityDH, a.IdentityDH) || !bytes.Equal(got.IdentityDHSig, a.IdentityDHSig) ||
		got.SignedPrekey.ID != 7 || !bytes.Equal(got.SignedPrekey.Key, a.SignedPrekey.Key) || !got.CreatedAt.Equal(baseTime) {
		t.Fatalf("device %+v %v", got, err)
	}
	dup := newDevice(u[1], "x", baseTime)
	dup.IdentitySign = a.IdentitySign
	wantCode(t, s.CreateE2EEDevice(ctx, dup, nil, 2), parley.CodeConflict)
	wantCode(t, s.CreateE2EEDevice(ctx, newDevice(parley.NewID(), "ghost", baseTime), nil, 2), parley.CodeNotFound)
	b := newDevice(u[0], "phone", baseTime.Add(time.Second))
	if err := s.CreateE2EEDevice(ctx, b, nil, 2); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateE2EEDevice(ctx, newDevice(u[0], "third", baseTime), nil, 2), parley.CodeTooLarge)
	list, err := s.E2EEDevices(ctx, u[0])
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("devices %+v %v", list, err)
	}
	if list, err := s.E2EEDevices(ctx, u[1]); err != nil || len(list) != 0 {
		t.Fatalf("u1 devices %+v %v", list, err)
	}
	_, err = s.E2EEDevice(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	// Someone else's device is not found for every owner-only write.
	wantCode(t, s.DeleteE2EEDevice(ctx, u[1], a.ID), parley.CodeNotFound)
	wantCode(t, s.SetSignedPrekey(ctx, u[1], a.ID, parley.SignedPrekey{ID: 9, Key: fakeKey("n", 32), Sig: fakeKey("s", 64)}), parley.CodeNotFound)
	_, err = s.AddOneTimePrekeys(ctx, u[1], a.ID, prekeys(50, 1), 100)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.OneTimePrekeyCount(ctx, u[1], a.ID)
	wantCode(t, err, parley.CodeNotFound)
	if err := s.SetSignedPrekey(ctx, u[0], a.ID, parley.SignedPrekey{ID: 9, Key: fakeKey("new", 32), Sig: fakeKey("s2", 64)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.E2EEDevice(ctx, a.ID); got.SignedPrekey.ID != 9 || !bytes.Equal(got.SignedPrekey.Key, fakeKey("new", 32)) {
		t.Fatalf("signed prekey after rotation %+v", got.SignedPrekey)
	}
	if err := s.DeleteE2EEDevice(ctx, u[0], a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.E2EEDevice(ctx, a.ID)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.OneTimePrekeyCount(ctx, u[0], a.ID)
	wantCode(t, err, parley.CodeNotFound)
	wantCode(t, s.DeleteE2EEDevice(ctx, u[0], a.ID), parley.CodeNotFound)
}

// e2eePrekeys: add (same id replaces), count, cap, claims take one per
// device and delete it, a device without prekeys still gets a bundle.
func e2eePrekeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ep", 1)
	a, b := newDevice(u[0], "a", baseTime), newDevice(u[0], "b", baseTime.Add(time.Second))
	for _, d := range []parley.E2EEDevice{a, b} {
		if err := s.CreateE2EEDevice(ctx, d, nil, 16); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.AddOneTimePrekeys(ctx, u[0], a.ID, prekeys(1, 2), 3); err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	if n, err := s.AddOneTimePrekeys(ctx, u[0], a.ID, prekeys(2, 2), 3); err != nil || n != 3 {
		t.Fatalf("add overlapping: %d %v", n, err)
	}
	_, err := s.AddOneTimePrekeys(ctx, u[0], a.ID, prekeys(10, 1), 3)
	wantCode(t, err, parley.CodeTooLarge)
	if n, err := s.OneTimePrekeyCount(ctx, u[0], a.ID); err != nil || n != 3 {
		t.Fatalf("count after the refused add: %d %v", n, err)
	}
	bs, err := s.ClaimE2EEBundles(ctx, u[0])
	if err != nil || len(bs) != 2 || bs[0].DeviceID != a.ID || bs[1].DeviceID != b.ID {
		t.Fatalf("bundles %+v %v", bs, err)
	}
	if bs[0].OneTimePrekey == nil || bs[0].OneTimePrekey.ID != 1 || !bytes.Equal(bs[0].OneTimePrekey.Key, prekeys(1, 1)[0].Key) ||
		bs[1].OneTimePrekey != nil || !bytes.Equal(bs[0].SignedPrekey.Key, a.SignedPrekey.Key) ||
		!bytes.Equal(bs[1].IdentitySign, b.IdentitySign) {
		t.Fatalf("bundle contents %+v", bs)
	}
	if n, _ := s.OneTimePrekeyCount(ctx, u[0], a.ID); n != 2 {
		t.Fatalf("count after a claim: %d", n)
	}
	if bs, err := s.ClaimE2EEBundles(ctx, parley.NewID()); err != nil || len(bs) != 0 {
		t.Fatalf("bundles of a user without devices %+v %v", bs, err)
	}
}

// e2eeConcurrentClaims: n prekeys, 2n concurrent claims: every prekey is
// handed out exactly once.
func e2eeConcurrentClaims(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ec", 1)
	d := newDevice(u[0], "a", baseTime)
	const n = 20
	if err := s.CreateE2EEDevice(ctx, d, prekeys(1, n), 16); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[uint32]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bs, err := s.ClaimE2EEBundles(ctx, u[0])
			if err != nil {
				errs <- err
				return
			}
			if len(bs) == 1 && bs[0].OneTimePrekey != nil {
				mu.Lock()
				seen[bs[0].OneTimePrekey.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("prekey %d handed out %d times", id, c)
		}
	}
	if left, _ := s.OneTimePrekeyCount(ctx, u[0], d.ID); len(seen)+left != n {
		t.Fatalf("%d handed out + %d left != %d", len(seen), left, n)
	}
}

func e2eeBackup(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "eb", 2)
	_, err := s.E2EEBackup(ctx, u[0])
	wantCode(t, err, parley.CodeNotFound)
	wantCode(t, s.DeleteE2EEBackup(ctx, u[0]), parley.CodeNotFound)
	for i, blob := range []string{`{"v":1,"ct":"AAAA"}`, `{"v":1,"ct":"BBBB"}`} {
		if err := s.PutE2EEBackup(ctx, u[0], parley.E2EEBackup{Blob: json.RawMessage(blob), UpdatedAt: baseTime.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.E2EEBackup(ctx, u[0])
	if err != nil || string(b.Blob) != `{"v":1,"ct":"BBBB"}` || !b.UpdatedAt.Equal(baseTime.Add(time.Second)) {
		t.Fatalf("backup %s %v %v", b.Blob, b.UpdatedAt, err)
	}
	_, err = s.E2EEBackup(ctx, u[1])
	wantCode(t, err, parley.CodeNotFound)
	if err := s.DeleteE2EEBackup(ctx, u[0]); err != nil {
		t.Fatal(err)
	}
	_, err = s.E2EEBackup(ctx, u[0])
	wantCode(t, err, parley.CodeNotFound)
}

func e2eeShares(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "es", 3)
	newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	for _, c := range []struct {
		a, b string
		want bool
	}{{u[0], u[1], true}, {u[1], u[0], true}, {u[0], u[2], false}, {u[2], u[2], false}} {
		if got, err := s.SharesConversation(ctx, c.a, c.b); err != nil || got != c.want {
			t.Fatalf("shares(%s, %s) = %v %v", c.a, c.b, got, err)
		}
	}
}

// e2eeEncryptedMessages: the encrypted flag and the envelope round-trip; a
// plain and an encrypted direct chat of one pair coexist; an encrypted edit
// keeps no version; a delete clears the envelope.
func e2eeEncryptedMessages(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "em", 2)
	plain := newConversation(t, s, parley.KindDirect, "", u[0], u[1])
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindDirect, CreatedBy: u[0], CreatedAt: baseTime,
		UpdatedAt: baseTime, DirectKey: parley.EncryptedDirectKey(u[0], u[1]), Encrypted: true}
	ms := []parley.Member{{UserID: u[0], Role: parley.RoleMember, JoinedAt: baseTime}, {UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime}}
	if _, err := s.CreateConversation(ctx, c, ms, []parley.Message{systemMsg(u[0], parley.SystemCreated, u...)}, nil); err != nil {
		t.Fatal(err)
	}
	c.ID = parley.NewID()
	_, err := s.CreateConversation(ctx, c, ms, nil, nil)
	wantCode(t, err, parley.CodeConflict)
	got, err := s.ConversationByDirectKey(ctx, parley.EncryptedDirectKey(u[1], u[0]))
	if err != nil || !got.Encrypted || got.ID == plain.ID {
		t.Fatalf("encrypted direct %+v %v", got, err)
	}
	if p, _ := s.Conversation(ctx, plain.ID); p.Encrypted {
		t.Fatal("the plain direct chat reads as encrypted")
	}
	if st, err := s.PostingState(ctx, got.ID, u[0]); err != nil || !st.Encrypted || st.Role != parley.RoleMember {
		t.Fatalf("posting state %+v %v", st, err)
	}
	env := json.RawMessage(`{"v":1,"sender_device":"x","recipients":[]}`)
	m, _, err := s.AppendMessage(ctx, parley.Message{ID: parley.NewID(), ConversationID: got.ID, SenderID: u[0], ClientMsgID: "e1",
		Kind: parley.MessageUser, CreatedAt: baseTime, E2EE: env}, parley.CheckMember, nil)
	if err != nil || string(m.E2EE) != string(env) {
		t.Fatalf("append %+v %v", m, err)
	}
	back, err := s.Message(ctx, got.ID, m.Seq)
	if err != nil || string(back.E2EE) != string(env) || back.Body != "" {
		t.Fatalf("read back %+v %v", back, err)
	}
	h, err := s.History(ctx, got.ID, parley.HistoryQuery{After: 0, Limit: 10})
	if err != nil || len(h) != 2 || h[0].E2EE != nil || string(h[1].E2EE) != string(env) {
		t.Fatalf("history %+v %v", h, err)
	}
	es, err := s.ListConversations(ctx, u[1], parley.ConversationCursor{}, 10)
	found := false
	for _, e := range es {
		if e.ID == got.ID {
			found = e.Encrypted && e.LastMessage != nil && string(e.LastMessage.E2EE) == string(env)
		}
	}
	if err != nil || !found {
		t.Fatalf("list %+v %v", es, err)
	}
	env2 := json.RawMessage(`{"v":1,"sender_device":"y","recipients":[]}`)
	e, err := s.EditMessage(ctx, got.ID, m.Seq, "", nil, env2, baseTime.Add(time.Second), nil)
	if err != nil || string(e.E2EE) != string(env2) || e.EditedAt == nil {
		t.Fatalf("edit %+v %v", e, err)
	}
	if back, _ := s.Message(ctx, got.ID, m.Seq); string(back.E2EE) != string(env2) {
		t.Fatalf("after edit %s", back.E2EE)
	}
	if vs, err := s.MessageVersions(ctx, got.ID, m.Seq); err != nil || len(vs) != 0 {
		t.Fatalf("versions of an encrypted message %+v %v", vs, err)
	}
	d, err := s.DeleteMessage(ctx, got.ID, m.Seq, baseTime.Add(2*time.Second), nil)
	if err != nil || d.E2EE != nil || !d.Deleted {
		t.Fatalf("delete %+v %v", d, err)
	}
	if back, _ := s.Message(ctx, got.ID, m.Seq); back.E2EE != nil {
		t.Fatalf("tombstone keeps its envelope %s", back.E2EE)
	}
}
