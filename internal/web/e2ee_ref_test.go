package web_test

// Reference computations of the E2EE wire spec (docs/e2ee.md) done in Go
// with the standard library and golang.org/x/crypto, independently of the
// JavaScript under test: TestE2EEJS serves them to testdata/e2ee_test.js,
// which must reproduce every byte in the browser.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/blake2b"
)

var b64 = base64.StdEncoding.EncodeToString

// fixed derives a deterministic 32-byte private key from a name.
func fixed(name string) []byte { s := sha256.Sum256([]byte("parley-e2ee-test/" + name)); return s[:] }

func xpub(t *testing.T, priv []byte) []byte {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey().Bytes()
}

func xdh(t *testing.T, priv, pub []byte) []byte {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.ECDH(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hk(t *testing.T, salt, ikm []byte, info string, n int) []byte {
	k, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func hm(key []byte, b byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte{b})
	return m.Sum(nil)
}

func gcmSeal(t *testing.T, key, nonce, pt, aad []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, nonce, pt, aad)
}

func gcmOpen(key, nonce, ct, aad []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return g.Open(nil, nonce, ct, aad)
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }
func be32(n uint32) []byte       { return binary.BigEndian.AppendUint32(nil, n) }

// encMsg is ENC of §5.
func encMsg(t *testing.T, mk, pt, aad []byte) []byte {
	okm := hk(t, make([]byte, 32), mk, "ParleyMsg1", 44)
	return gcmSeal(t, okm[:32], okm[32:44], pt, aad)
}

func kdfRK(t *testing.T, rk, dh []byte) ([]byte, []byte) {
	o := hk(t, rk, dh, "ParleyRatchet1", 64)
	return o[:32], o[32:]
}

type vecMsg struct {
	From   string `json:"from"`
	Header string `json:"header"`
	CT     string `json:"ct"`
	PT     string `json:"pt"`
}

// e2eeVectors computes the reference values the browser must reproduce.
func e2eeVectors(t *testing.T) map[string]any {
	t.Helper()
	priv := map[string][]byte{}
	pub := map[string]string{}
	for _, n := range []string{"a_ikd", "b_ikd", "b_spk", "b_opk", "a_ek", "a_r0", "a_r1", "b_r1"} {
		priv[n] = fixed(n)
		pub[n] = b64(xpub(t, priv[n]))
	}
	aIKs := ed25519.NewKeyFromSeed(fixed("a_iks"))
	bIKs := ed25519.NewKeyFromSeed(fixed("b_iks"))
	pk := func(n string) []byte { return xpub(t, priv[n]) }
	const spkID, opkID = 7, 12
	ikdSigA := ed25519.Sign(aIKs, cat([]byte("ParleyIKd1"), pk("a_ikd")))
	ikdSigB := ed25519.Sign(bIKs, cat([]byte("ParleyIKd1"), pk("b_ikd")))
	spkSigB := ed25519.Sign(bIKs, cat([]byte("ParleySPK1"), be32(spkID), pk("b_spk")))

	// X3DH (§4), A initiates with B's one-time prekey.
	dh1 := xdh(t, priv["a_ikd"], pk("b_spk"))
	dh2 := xdh(t, priv["a_ek"], pk("b_ikd"))
	dh3 := xdh(t, priv["a_ek"], pk("b_spk"))
	dh4 := xdh(t, priv["a_ek"], pk("b_opk"))
	ff := bytes.Repeat([]byte{0xff}, 32)
	sk := hk(t, make([]byte, 32), cat(ff, dh1, dh2, dh3, dh4), "ParleyX3DH1", 32)
	skNoOPK := hk(t, make([]byte, 32), cat(ff, dh1, dh2, dh3), "ParleyX3DH1", 32)
	ad := cat([]byte("ParleyAD1"), aIKs.Public().(ed25519.PublicKey), pk("a_ikd"), bIKs.Public().(ed25519.PublicKey), pk("b_ikd"))

	// Double Ratchet (§5): a1 a2, then b1 b2 b3, then a3.
	var msgs []vecMsg
	send := func(from string, ck []byte, dhPub []byte, pn, n uint32, pt string) []byte {
		next, mk := hm(ck, 2), hm(ck, 1)
		h := cat(dhPub, be32(pn), be32(n))
		msgs = append(msgs, vecMsg{from, b64(h), b64(encMsg(t, mk, []byte(pt), cat(ad, h))), pt})
		return next
	}
	rk, cksA := kdfRK(t, sk, xdh(t, priv["a_r0"], pk("b_spk")))
	cksA = send("a", cksA, pk("a_r0"), 0, 0, "hello Bob")
	send("a", cksA, pk("a_r0"), 0, 1, "second from Alice ✓")
	// B's DH step on a1: same rk/ckr as A; then its own sending chain.
	rk, cksB := kdfRK(t, rk, xdh(t, priv["b_r1"], pk("a_r0")))
	cksB = send("b", cksB, pk("b_r1"), 0, 0, "hi Alice")
	cksB = send("b", cksB, pk("b_r1"), 0, 1, "b2")
	send("b", cksB, pk("b_r1"), 0, 2, "b3 — the last")
	// A's DH step on b1: KDF_RK(RK1, DH(a_r0, b_r1)) gives B's rk (RK2)
	// and B's sending chain; then A's new sending chain from RK2.
	_, cksA2 := kdfRK(t, rk, xdh(t, priv["a_r1"], pk("b_r1")))
	send("a", cksA2, pk("a_r1"), 2, 0, "a3 after the reply")

	// Sender key (§9): iterations 0, 1, 2 of one key.
	conv := "01HCONVERSATIONXYZ"
	keyID := fixed("sk_id")[:16]
	ck := fixed("sk_ck")
	sig := ed25519.NewKeyFromSeed(fixed("sk_sig"))
	var group []map[string]any
	for i := uint32(0); i < 3; i++ {
		pt := "group message " + string(rune('0'+i))
		mk := hm(ck, 1)
		ck = hm(ck, 2)
		ct := encMsg(t, mk, []byte(pt), cat([]byte("ParleyGroup1"), []byte(conv), keyID, be32(i)))
		s := ed25519.Sign(sig, cat([]byte("ParleyGroupSig1"), keyID, be32(i), ct))
		group = append(group, map[string]any{"iteration": i, "ct": b64(ct), "sig": b64(s), "pt": pt})
	}

	// Safety number (§10).
	fp := func(uid string, keys [][]byte) string {
		slices.SortFunc(keys, bytes.Compare)
		all := cat(keys...)
		h := cat([]byte("ParleySafety1"), []byte(uid), all)
		for k := 0; k < 5200; k++ {
			s := sha512.Sum512(cat(h, all))
			h = s[:]
		}
		out := ""
		for c := 0; c < 6; c++ {
			var v uint64
			for j := 0; j < 5; j++ {
				v = v<<8 | uint64(h[c*5+j])
			}
			d := v % 100000
			out += string([]byte{byte('0' + d/10000), byte('0' + d/1000%10), byte('0' + d/100%10), byte('0' + d/10%10), byte('0' + d%10)})
		}
		return out
	}
	aKeys := [][]byte{aIKs.Public().(ed25519.PublicKey), ed25519.NewKeyFromSeed(fixed("a_iks2")).Public().(ed25519.PublicKey)}
	bKeys := [][]byte{bIKs.Public().(ed25519.PublicKey)}
	uidA, uidB := "01HZALICE", "01HBOB" // B's id sorts first
	safety := fp(uidB, slices.Clone(bKeys)) + fp(uidA, slices.Clone(aKeys))

	// BLAKE2b and Argon2id against x/crypto.
	var b2 []map[string]any
	for _, c := range []struct{ n, key, data int }{{64, 0, 0}, {64, 0, 3}, {32, 0, 128}, {48, 16, 129}, {1, 64, 1000}, {64, 0, 256}} {
		key := bytes.Repeat([]byte{0x4b}, c.key)
		data := make([]byte, c.data)
		for i := range data {
			data[i] = byte(i * 7)
		}
		h, err := blake2b.New(c.n, key)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(data)
		b2 = append(b2, map[string]any{"len": c.n, "key": b64(key), "data": b64(data), "out": b64(h.Sum(nil))})
	}
	var a2 []map[string]any
	for _, c := range []struct {
		pw   string
		t, m uint32
		p    uint8
		n    uint32
	}{{"password", 1, 1024, 1, 32}, {"correct horse battery staple ✓", 3, 256, 4, 32}, {"x", 2, 64, 2, 100}, {"", 1, 8, 1, 16}, {"pass", 2, 100, 3, 64}} {
		salt := fixed("salt-" + c.pw)[:16]
		a2 = append(a2, map[string]any{"password": c.pw, "salt": b64(salt), "t": c.t, "m": c.m, "p": c.p, "len": c.n,
			"tag": b64(argon2.IDKey([]byte(c.pw), salt, c.t, c.m, c.p, c.n))})
	}

	// Backup (§8) with t=1, m=1024.
	state := map[string]any{"device_id": "01HDEVICEA", "identity_sign_priv": b64(fixed("a_iks")), "identity_dh_priv": b64(priv["a_ikd"]),
		"signed_prekeys": []map[string]any{{"id": 1, "priv": b64(fixed("a_spk1"))}}, "one_time_prekeys": []map[string]any{{"id": 5, "priv": b64(fixed("a_opk5"))}}}
	stateJSON, _ := json.Marshal(state)
	bsalt, bnonce := fixed("bsalt")[:16], fixed("bnonce")[:12]
	bkey := argon2.IDKey([]byte("a long passphrase"), bsalt, 1, 1024, 1, 32)
	blob := map[string]any{"v": 1, "kdf": "argon2id", "t": 1, "m": 1024, "p": 1, "salt": b64(bsalt), "nonce": b64(bnonce),
		"ct": b64(gcmSeal(t, bkey, bnonce, stateJSON, []byte("ParleyBackup1")))}

	privB64 := map[string]string{}
	for n, p := range priv {
		privB64[n] = b64(p)
	}
	privB64["a_iks"], privB64["b_iks"] = b64(fixed("a_iks")), b64(fixed("b_iks"))
	pub["a_iks"], pub["b_iks"] = b64(aIKs.Public().(ed25519.PublicKey)), b64(bIKs.Public().(ed25519.PublicKey))
	return map[string]any{
		"priv": privB64, "pub": pub, "spk_id": spkID, "opk_id": opkID,
		"ikd_sig_a": b64(ikdSigA), "ikd_sig_b": b64(ikdSigB), "spk_sig_b": b64(spkSigB),
		"sk": b64(sk), "sk_no_opk": b64(skNoOPK), "ad": b64(ad), "messages": msgs,
		"group": map[string]any{"conversation_id": conv, "key_id": b64(keyID), "ck": b64(fixed("sk_ck")), "sig_seed": b64(fixed("sk_sig")),
			"sign_pub": b64(sig.Public().(ed25519.PublicKey)), "messages": group},
		"safety": map[string]any{"a": map[string]any{"id": uidA, "iks": []string{b64(aKeys[0]), b64(aKeys[1])}},
			"b": map[string]any{"id": uidB, "iks": []string{b64(bKeys[0])}}, "number": safety},
		"blake2b": b2, "argon2id": a2,
		"backup": map[string]any{"passphrase": "a long passphrase", "blob": blob, "state": state},
	}
}

// openBackupGo opens a backup blob made by the browser with the Go primitives.
func openBackupGo(t *testing.T, blob map[string]any, pass string) map[string]any {
	t.Helper()
	dec := func(k string) []byte {
		b, err := base64.StdEncoding.DecodeString(blob[k].(string))
		if err != nil {
			t.Fatalf("backup %s: %v", k, err)
		}
		return b
	}
	key := argon2.IDKey([]byte(pass), dec("salt"), uint32(blob["t"].(float64)), uint32(blob["m"].(float64)), uint8(blob["p"].(float64)), 32)
	pt, err := gcmOpen(key, dec("nonce"), dec("ct"), []byte("ParleyBackup1"))
	if err != nil {
		t.Fatalf("browser backup does not open in Go: %v", err)
	}
	var st map[string]any
	if err := json.Unmarshal(pt, &st); err != nil {
		t.Fatal(err)
	}
	return st
}
