package e2ee

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testDevice is a device with its registration as the server would list it
// and a bundle-claiming function that hands out each one-time prekey once.
type testDevice struct {
	*Device
	pub  parley.E2EEDevice
	opks []parley.OneTimePrekey
}

func newTestDevice(t *testing.T, user, id string) *testDevice {
	t.Helper()
	d, err := NewDevice(rand.Reader, user, "test", time.Now())
	must(t, err)
	d.St.DeviceID = id
	iks, ikd, sig, spk, opks := d.Registration()
	return &testDevice{Device: d, opks: opks,
		pub: parley.E2EEDevice{ID: id, UserID: user, IdentitySign: iks, IdentityDH: ikd, IdentityDHSig: sig, SignedPrekey: spk}}
}

func (d *testDevice) bundle() parley.E2EEBundle {
	b := parley.E2EEBundle{DeviceID: d.pub.ID, IdentitySign: d.pub.IdentitySign, IdentityDH: d.pub.IdentityDH,
		IdentityDHSig: d.pub.IdentityDHSig, SignedPrekey: d.pub.SignedPrekey}
	if len(d.opks) > 0 {
		k := d.opks[0]
		d.opks = d.opks[1:]
		b.OneTimePrekey = &k
	}
	return b
}

func bundlesFor(from *Device, ds ...*testDevice) ([]parley.E2EEDevice, map[string]parley.E2EEBundle) {
	var devs []parley.E2EEDevice
	bs := map[string]parley.E2EEBundle{}
	for _, d := range ds {
		devs = append(devs, d.pub)
	}
	for _, id := range from.NeedBundles(devs) {
		for _, d := range ds {
			if d.pub.ID == id {
				bs[id] = d.bundle()
			}
		}
	}
	return devs, bs
}

func direct(t *testing.T, from, to *testDevice, conv, body string) parley.Envelope {
	t.Helper()
	devs, bs := bundlesFor(from.Device, to)
	env, _, err := from.EncryptDirect(conv, Inner{Body: body}, devs, bs)
	must(t, err)
	return env
}

func wantReason(t *testing.T, err, reason error) {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("error %v, want %v", err, reason)
	}
}

func TestDirectConversationBothWays(t *testing.T) {
	a, b := newTestDevice(t, "ua", "da"), newTestDevice(t, "ub", "db")
	for i := range 5 {
		env := direct(t, a, b, "c", "a→b")
		if i == 0 && env.Recipients[0].Type != "prekey" {
			t.Fatal("first message is not a prekey message")
		}
		in, err := b.Decrypt("c", false, env, &a.pub)
		must(t, err)
		if in.Body != "a→b" || in.Ctr != uint64(i+1) {
			t.Fatalf("%+v", in)
		}
	}
	env := direct(t, b, a, "c", "b→a")
	if env.Recipients[0].Type != "msg" {
		t.Fatal("the responder sends prekey messages")
	}
	_, err := a.Decrypt("c", false, env, &b.pub)
	must(t, err)
	if env := direct(t, a, b, "c", "after reply"); env.Recipients[0].Type != "msg" {
		t.Fatal("a still sends prekey messages after the reply")
	}
	if len(b.St.OneTimePrekeys) != OneTimePrekeys-1 {
		t.Fatalf("the used one-time prekey is kept: %d left", len(b.St.OneTimePrekeys))
	}
}

func TestRejections(t *testing.T) {
	type tc struct {
		name   string
		mangle func(e *parley.Envelope)
		conv   string
		sender func(a, c *testDevice) *parley.E2EEDevice
		want   error
	}
	flip := func(b []byte, i int) { b[i%len(b)] ^= 0x01 }
	cases := []tc{
		{"bit-flipped ciphertext", func(e *parley.Envelope) { flip(e.Recipients[0].CT, 3) }, "c", nil, ErrForged},
		{"bit-flipped tag", func(e *parley.Envelope) { flip(e.Recipients[0].CT, len(e.Recipients[0].CT)-1) }, "c", nil, ErrForged},
		{"bit-flipped header counter", func(e *parley.Envelope) { flip(e.Recipients[0].Header, 39) }, "c", nil, ErrForged},
		{"bit-flipped header key", func(e *parley.Envelope) { flip(e.Recipients[0].Header, 5) }, "c", nil, ErrForged},
		{"truncated ciphertext", func(e *parley.Envelope) { e.Recipients[0].CT = e.Recipients[0].CT[:10] }, "c", nil, ErrTruncated},
		{"truncated header", func(e *parley.Envelope) { e.Recipients[0].Header = e.Recipients[0].Header[:39] }, "c", nil, ErrTruncated},
		{"wrong conversation", nil, "other", nil, ErrForged},
		{"wrong device (not a recipient)", func(e *parley.Envelope) { e.Recipients[0].Device = "elsewhere" }, "c", nil, ErrNoKey},
		{"unknown sender device", nil, "c", func(a, c *testDevice) *parley.E2EEDevice { return nil }, ErrUntrusted},
		{"another device's identity", nil, "c", func(a, c *testDevice) *parley.E2EEDevice { p := c.pub; p.ID = a.pub.ID; return &p }, ErrForged},
		{"forged x3dh identity", func(e *parley.Envelope) { flip(e.Recipients[0].X3DH.IKDH, 0) }, "c", nil, ErrForged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b, other := newTestDevice(t, "ua", "da"), newTestDevice(t, "ub", "db"), newTestDevice(t, "uc", "dc")
			env := direct(t, a, b, "c", "secret")
			if c.mangle != nil {
				c.mangle(&env)
			}
			sender := &a.pub
			if c.sender != nil {
				sender = c.sender(a, other)
			}
			before, _ := json.Marshal(b.St)
			_, err := b.Decrypt(c.conv, false, env, sender)
			wantReason(t, err, c.want)
			b.St.Failures = map[string]int{}
			after, _ := json.Marshal(b.St)
			if string(before) != string(after) {
				t.Fatal("a failed decryption changed the state")
			}
			// The genuine message still decrypts afterwards (state untouched).
			good := direct(t, a, b, "c", "still fine")
			if _, err := b.Decrypt("c", false, good, &a.pub); err != nil {
				t.Fatalf("next message: %v", err)
			}
		})
	}
}

func TestReplayAndReorder(t *testing.T) {
	a, b := newTestDevice(t, "ua", "da"), newTestDevice(t, "ub", "db")
	e1 := direct(t, a, b, "c", "one")
	e2 := direct(t, a, b, "c", "two")
	e3 := direct(t, a, b, "c", "three")
	_, err := b.Decrypt("c", false, e1, &a.pub)
	must(t, err)
	_, err = b.Decrypt("c", false, e1, &a.pub) // replay of a prekey message
	wantReason(t, err, ErrReplay)
	_, err = b.Decrypt("c", false, e3, &a.pub) // skips two
	must(t, err)
	_, err = b.Decrypt("c", false, e2, &a.pub) // reordered: its key exists, its ctr is old
	wantReason(t, err, ErrReplay)
	_, err = b.Decrypt("c", false, e3, &a.pub)
	wantReason(t, err, ErrReplay)
	// After a reply and a ratchet step, a replay of an old chain.
	r := direct(t, b, a, "c", "reply")
	_, err = a.Decrypt("c", false, r, &b.pub)
	must(t, err)
	e4 := direct(t, a, b, "c", "four")
	_, err = b.Decrypt("c", false, e4, &a.pub)
	must(t, err)
	_, err = b.Decrypt("c", false, e4, &a.pub)
	wantReason(t, err, ErrReplay)
	if b.St.Failures[ErrReplay.Error()] != 4 {
		t.Fatalf("failures %v", b.St.Failures)
	}
}

func TestTooManySkipped(t *testing.T) {
	a, b := newTestDevice(t, "ua", "da"), newTestDevice(t, "ub", "db")
	must(t, func() error { _, err := b.Decrypt("c", false, direct(t, a, b, "c", "x"), &a.pub); return err }())
	var last parley.Envelope
	for range MaxSkip + 2 {
		last = direct(t, a, b, "c", "x")
	}
	_, err := b.Decrypt("c", false, last, &a.pub)
	wantReason(t, err, ErrForged)
}

func TestGroupSenderKeysAndRotation(t *testing.T) {
	a, b, c := newTestDevice(t, "ua", "da"), newTestDevice(t, "ub", "db"), newTestDevice(t, "uc", "dc")
	send := func(members []string, to ...*testDevice) parley.Envelope {
		devs, bs := bundlesFor(a.Device, to...)
		env, _, err := a.EncryptGroup("g", Inner{Body: "hi"}, members, devs, bs)
		must(t, err)
		return env
	}
	env := send([]string{"ua", "ub", "uc"}, b, c)
	if len(env.Recipients) != 2 || env.Group == nil {
		t.Fatalf("first group message: %d distributions", len(env.Recipients))
	}
	for _, d := range []*testDevice{b, c} {
		in, err := d.Decrypt("g", true, env, &a.pub)
		must(t, err)
		if in.Body != "hi" {
			t.Fatal(in.Body)
		}
	}
	env2 := send([]string{"ua", "ub", "uc"}, b, c)
	if len(env2.Recipients) != 0 {
		t.Fatal("the sender key is distributed again")
	}
	_, err := c.Decrypt("g", true, env2, &a.pub)
	must(t, err)
	_, err = c.Decrypt("g", true, env2, &a.pub)
	wantReason(t, err, ErrReplay)
	// Forged group parts.
	bad := env2
	g := *env2.Group
	g.Sig = slices.Clone(g.Sig)
	g.Sig[0] ^= 1
	bad.Group = &g
	_, err = b.Decrypt("g", true, bad, &a.pub)
	wantReason(t, err, ErrForged)
	g2 := *env2.Group
	g2.CT = slices.Clone(g2.CT)
	g2.CT[0] ^= 1
	bad.Group = &g2
	_, err = b.Decrypt("g", true, bad, &a.pub)
	wantReason(t, err, ErrForged)
	_, err = b.Decrypt("wrong-conv", true, env2, &a.pub)
	wantReason(t, err, ErrNoKey)
	_, err = b.Decrypt("g", true, env2, &a.pub)
	must(t, err)
	// c is removed: the next message rotates and c cannot read it.
	env3 := send([]string{"ua", "ub"}, b)
	if len(env3.Recipients) != 1 || env3.Recipients[0].Device != "db" {
		t.Fatalf("rotation distributions %+v", env3.Recipients)
	}
	_, err = c.Decrypt("g", true, env3, &a.pub)
	wantReason(t, err, ErrNoKey)
	in, err := b.Decrypt("g", true, env3, &a.pub)
	must(t, err)
	if in.Ctr != 3 {
		t.Fatalf("ctr %d", in.Ctr)
	}
}

func TestSafetyNumberIsSymmetric(t *testing.T) {
	ka, kb := [][]byte{make([]byte, 32)}, [][]byte{{1, 2, 3}}
	n1, n2 := SafetyNumber("alice", ka, "bob", kb), SafetyNumber("bob", kb, "alice", ka)
	if n1 != n2 || len(n1) != 60 {
		t.Fatalf("%s %s", n1, n2)
	}
	if SafetyNumber("alice", [][]byte{{9}}, "bob", kb) == n1 {
		t.Fatal("a key change does not change the number")
	}
	if len(FormatSafetyNumber(n1)) != 71 {
		t.Fatal(FormatSafetyNumber(n1))
	}
}

func TestBackupRestore(t *testing.T) {
	a := newTestDevice(t, "ua", "da")
	bk, err := SealBackup(rand.Reader, "pass phrase", a.BackupState(), 1, 1024, 1)
	must(t, err)
	_, err = OpenBackup("nope", bk)
	if err != ErrPassphrase {
		t.Fatal(err)
	}
	bk2 := bk
	bk2.CT = slices.Clone(bk.CT)
	bk2.CT[0] ^= 1
	if _, err := OpenBackup("pass phrase", bk2); err != ErrPassphrase {
		t.Fatal(err)
	}
	st, err := OpenBackup("pass phrase", bk)
	must(t, err)
	r := Open(&State{}, rand.Reader)
	must(t, Restore(st, "ua", r))
	if string(r.IdentitySign()) != string(a.IdentitySign()) || r.St.DeviceID != "da" || len(r.St.OneTimePrekeys) != OneTimePrekeys {
		t.Fatal("restored identity differs")
	}
	// A peer's prekey message to the original device decrypts on the restored one.
	b := newTestDevice(t, "ub", "db")
	env := direct(t, b, a, "c", "to the restored device")
	in, err := r.Decrypt("c", false, env, &b.pub)
	must(t, err)
	if in.Body != "to the restored device" {
		t.Fatal(in.Body)
	}
}

func TestAttachments(t *testing.T) {
	ct, a, err := EncryptFile(rand.Reader, []byte("file contents"))
	must(t, err)
	pt, err := DecryptFile(ct, a)
	must(t, err)
	if string(pt) != "file contents" {
		t.Fatal(string(pt))
	}
	ct[0] ^= 1
	if _, err := DecryptFile(ct, a); err != ErrForged {
		t.Fatal(err)
	}
}

func TestFileStore(t *testing.T) {
	a := newTestDevice(t, "ua", "da")
	fs := FileStore{Path: t.TempDir() + "/keys/state.json"}
	must(t, fs.Save(a.St))
	st, err := fs.Load()
	must(t, err)
	if st.DeviceID != "da" || string(st.IdentitySignSeed) != string(a.St.IdentitySignSeed) {
		t.Fatal("state round trip")
	}
}
