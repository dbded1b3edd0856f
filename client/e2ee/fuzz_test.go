package e2ee

import (
	"testing"

	"github.com/parley-chat/parley"
)

// FuzzEnvelopeAndInner: arbitrary envelopes and inner plaintexts are
// refused with an error, never a panic, and never decrypt.
func FuzzEnvelopeAndInner(f *testing.F) {
	f.Add([]byte(`{"v":1,"sender_device":"01JADEVICE000000000000000","recipients":[]}`), []byte(`{"kind":"msg","ctr":1}`))
	f.Add([]byte(`{"v":1,"sender_device":"x","recipients":[{"device":"y","type":"prekey","header":"AAAA","ct":"AAAA"}]}`), []byte(`{}`))
	f.Add([]byte(`{"v":1}`), []byte(`{"kind":"skd","skd":{}}`))
	f.Fuzz(func(t *testing.T, env, inner []byte) {
		for _, group := range []bool{false, true} {
			if e, err := parley.ParseEnvelope(env, group); err == nil {
				d := Open(&State{DeviceID: "y"}, nil)
				sender := &parley.E2EEDevice{ID: e.SenderDevice}
				if _, err := d.Decrypt("c", group, e, sender); err == nil {
					t.Fatal("a fuzzed envelope decrypted")
				}
			}
		}
		if in, err := ParseInner(inner, "c", "s"); err == nil && (in.ConversationID != "c" || in.SenderDevice != "s") {
			t.Fatal("an unbound inner plaintext was accepted")
		}
	})
}
