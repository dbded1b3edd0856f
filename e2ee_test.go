package parley

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

func b64n(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

func TestParseEnvelope(t *testing.T) {
	dev, other := NewID(), NewID()
	entry := `{"device":"` + other + `","type":"msg","header":"` + b64n(40) + `","ct":"` + b64n(20) + `"}`
	group := `"group":{"key_id":"` + b64n(16) + `","iteration":3,"ct":"` + b64n(20) + `","sig":"` + b64n(64) + `"}`
	ok := []struct {
		env   string
		group bool
	}{
		{`{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `]}`, false},
		{`{"v":1,"sender_device":"` + dev + `","recipients":[],` + group + `}`, true},
	}
	for _, c := range ok {
		if _, err := ParseEnvelope([]byte(c.env), c.group); err != nil {
			t.Errorf("%s: %v", c.env, err)
		}
	}
	bad := []struct {
		name, env string
		group     bool
		code      Code
	}{
		{"not json", `{`, false, CodeInvalid},
		{"version", `{"v":2,"sender_device":"` + dev + `","recipients":[` + entry + `]}`, false, CodeInvalid},
		{"no recipients in a direct chat", `{"v":1,"sender_device":"` + dev + `","recipients":[]}`, false, CodeInvalid},
		{"group part in a direct chat", `{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `],` + group + `}`, false, CodeInvalid},
		{"no group part in a group", `{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `]}`, true, CodeInvalid},
		{"unknown field", `{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `],"body":"hi"}`, false, CodeInvalid},
		{"short header", strings.Replace(`{"v":1,"sender_device":"`+dev+`","recipients":[`+entry+`]}`, b64n(40), b64n(39), 1), false, CodeInvalid},
		{"unpadded base64", strings.Replace(`{"v":1,"sender_device":"`+dev+`","recipients":[`+entry+`]}`, b64n(20), strings.TrimRight(b64n(20), "="), 1), false, CodeInvalid},
		{"prekey without x3dh", strings.Replace(`{"v":1,"sender_device":"`+dev+`","recipients":[`+entry+`]}`, `"msg"`, `"prekey"`, 1), false, CodeInvalid},
		{"to the sender itself", strings.Replace(`{"v":1,"sender_device":"`+dev+`","recipients":[`+entry+`]}`, other, dev, 1), false, CodeInvalid},
		{"too large", `{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `],"x":"` + strings.Repeat("a", MaxEnvelopeBytes) + `"}`, false, CodeTooLarge},
		{"trailing data", `{"v":1,"sender_device":"` + dev + `","recipients":[` + entry + `]} {}`, false, CodeInvalid},
	}
	for _, c := range bad {
		if _, err := ParseEnvelope([]byte(c.env), c.group); !IsCode(err, c.code) {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	many := make([]string, MaxEnvelopeRecipients+1)
	for i := range many {
		many[i] = strings.Replace(entry, other, NewID(), 1)
	}
	if _, err := ParseEnvelope([]byte(`{"v":1,"sender_device":"`+dev+`","recipients":[`+strings.Join(many, ",")+`]}`), false); !IsCode(err, CodeTooLarge) {
		t.Errorf("too many recipients: %v", err)
	}
}

func TestCheckE2EEDevice(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ikd, spk := make([]byte, 32), make([]byte, 32)
	ikd[0], spk[0] = 1, 2
	d := E2EEDevice{Name: "laptop", IdentitySign: pub, IdentityDH: ikd, IdentityDHSig: ed25519.Sign(priv, IdentityDHMessage(ikd)),
		SignedPrekey: SignedPrekey{ID: 5, Key: spk, Sig: ed25519.Sign(priv, SignedPrekeyMessage(5, spk))}}
	if err := CheckE2EEDevice(d); err != nil {
		t.Fatal(err)
	}
	bad := d
	bad.SignedPrekey.ID = 6 // the signature covers the id
	if err := CheckE2EEDevice(bad); !IsCode(err, CodeInvalid) {
		t.Fatal(err)
	}
	bad = d
	bad.IdentityDH = spk
	if err := CheckE2EEDevice(bad); !IsCode(err, CodeInvalid) {
		t.Fatal(err)
	}
	bad = d
	bad.Name = strings.Repeat("x", MaxE2EEDeviceNameChars+1)
	if err := CheckE2EEDevice(bad); !IsCode(err, CodeTooLarge) {
		t.Fatal(err)
	}
}

func TestDirectPeerOfEncryptedKey(t *testing.T) {
	if p := DirectPeer(EncryptedDirectKey("b", "a"), "a"); p != "b" {
		t.Fatalf("peer %q", p)
	}
	if EncryptedDirectKey("a", "b") == DirectKey("a", "b") {
		t.Fatal("a pair's plain and encrypted keys clash")
	}
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"v":1,"sender_device":"01JADEVICE000000000000000","recipients":[]}`), true)
	f.Fuzz(func(t *testing.T, raw []byte, group bool) {
		e, err := ParseEnvelope(raw, group)
		if err == nil && (e.V != 1 || len(e.Recipients) > MaxEnvelopeRecipients || group != (e.Group != nil)) {
			t.Fatalf("accepted %+v", e)
		}
	})
}
