package mqtt

import (
	"strings"
	"testing"

	"github.com/parley-chat/parley"
)

func TestParseTopic(t *testing.T) {
	id := parley.NewID()
	for _, c := range []struct {
		topic string
		kind  topicKind
	}{
		{"parley/c/" + id + "/send", topicSend},
		{"parley/c/" + id + "/m", topicMessages},
		{"parley/u/" + id + "/presence", topicPresence},
		{"parley/c/+/m", topicNone},
		{"parley/c/#", topicNone},
		{"#", topicNone},
		{"parley/c/" + id + "/m/#", topicNone},
		{"parley/c/" + id + "/+", topicNone},
		{"parley/u/" + id + "/m", topicNone},
		{"parley/c/" + id + "x/m", topicNone},
		{"parley/c//m", topicNone},
		{"$SYS/broker", topicNone},
		{"", topicNone},
	} {
		if k, got := parseTopic(c.topic); k != c.kind || (k != topicNone && got != id) {
			t.Errorf("%q: %v %q", c.topic, k, got)
		}
	}
}

func TestParseSend(t *testing.T) {
	in, err := parseSend([]byte("plain text"), nil)
	if err != nil || in.Body != "plain text" || !in.Generated || !strings.HasPrefix(in.ClientMsgID, "mqtt-") {
		t.Fatalf("%+v %v", in, err)
	}
	in, err = parseSend([]byte(`{"body":"b","client_msg_id":"p","reply_to":3}`), []byte("c"))
	if err != nil || in.Body != "b" || in.ClientMsgID != "p" || in.ReplyTo != 3 || in.Generated {
		t.Fatalf("%+v %v", in, err)
	}
	in, err = parseSend([]byte(`{"body":"b"}`), []byte("corr"))
	if err != nil || in.ClientMsgID != "corr" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, bad := range []string{`{`, `{"body":1}`, `{"body":"x","x":1}`, `{}`, `{"body":"x"}{}`, `{"body":"x","reply_to":"1"}`} {
		if _, err := parseSend([]byte(bad), nil); !parley.IsCode(err, parley.CodeInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestFrameSeq(t *testing.T) {
	m := parley.Message{ID: parley.NewID(), ConversationID: parley.NewID(), Seq: 1234, ReplyTo: 7, Body: `"seq":9`}
	if got := frameSeq(messageFrame(m)); got != 1234 {
		t.Fatalf("frameSeq = %d", got)
	}
	if frameSeq([]byte(`{}`)) != 0 || frameSeq([]byte(`"seq":x`)) != 0 {
		t.Fatal("frameSeq of a frame without seq")
	}
}

// FuzzSendPath feeds arbitrary topics, payloads and correlation data
// through everything the gateway does with them before the app: it must
// never panic, never accept a topic outside the tree or with a wildcard, and
// every refusal must be a typed invalid error with a PUBACK reason code.
func FuzzSendPath(f *testing.F) {
	id := parley.NewID()
	f.Add("parley/c/"+id+"/send", []byte(`{"body":"hi","client_msg_id":"a"}`), []byte("c"))
	f.Add("parley/c/+/m", []byte("x"), []byte(nil))
	f.Add("parley/u/"+id+"/presence", []byte(`{"body":`), []byte("\xff"))
	f.Add("#", []byte(`{"body":"x","reply_to":-1}`), []byte(nil))
	f.Fuzz(func(t *testing.T, topic string, payload, corr []byte) {
		kind, got := parseTopic(topic)
		if kind != topicNone {
			if strings.ContainsAny(topic, "+#") || !parley.ValidID(got) || !strings.HasPrefix(topic, topicPrefix) {
				t.Fatalf("accepted %q as %v %q", topic, kind, got)
			}
		}
		in, err := parseSend(payload, corr)
		if err != nil {
			if !parley.IsCode(err, parley.CodeInvalid) {
				t.Fatalf("error %v", err)
			}
			if c := reasonCode(err); c.Code != 0x99 || !strings.HasPrefix(c.Reason, "invalid: ") {
				t.Fatalf("reason %+v", c)
			}
			return
		}
		if in.ClientMsgID == "" {
			t.Fatal("no client_msg_id")
		}
		_ = frameSeq(payload)
	})
}

func TestEncryptedPlaceholder(t *testing.T) {
	env := `{"v":1,"sender_device":"d","recipients":[]}`
	frame := []byte(`{"type":"message","message":{"id":"m","conversation_id":"c","seq":3,"sender_id":"u","kind":"user",` +
		`"body":"","created_at":"2026-01-01T00:00:00Z","e2ee":` + env + `}}`)
	out := string(encryptedPlaceholder(frame))
	if !strings.Contains(out, `"body":"`+parley.EncryptedPlaceholder+`"`) || !strings.Contains(out, `"e2ee":`+env) ||
		!strings.Contains(out, `"type":"message"`) {
		t.Fatalf("placeholder frame %s", out)
	}
	plain := []byte(`{"type":"message","message":{"id":"m","body":"\"e2ee\":{} is just text"}}`)
	if got := encryptedPlaceholder(plain); string(got) != string(plain) {
		t.Fatalf("a plain frame changed: %s", got)
	}
	m := parley.Message{ID: "m", E2EE: []byte(env)}
	if !strings.Contains(string(messageFrame(m)), parley.EncryptedPlaceholder) {
		t.Fatal("replayed encrypted message without placeholder")
	}
}
