package xmpp_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// raw is a hand-driven XMPP connection for sending what no real client would.
type raw struct {
	t    testing.TB
	c    net.Conn
	buf  bytes.Buffer
	wait time.Duration // expect's timeout; default 15 s
}

func dialRaw(t testing.TB, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c}
}

func (r *raw) timeout() time.Duration {
	if r.wait > 0 {
		return r.wait
	}
	return 15 * time.Second
}

func (r *raw) send(s string) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expect reads until want appears (consuming through it); it fails on timeout or EOF.
func (r *raw) expect(want string) string {
	r.t.Helper()
	deadline := time.Now().Add(r.timeout())
	p := make([]byte, 64<<10)
	for {
		if i := strings.Index(r.buf.String(), want); i >= 0 {
			got := r.buf.String()[:i+len(want)]
			r.buf.Next(i + len(want))
			return got
		}
		_ = r.c.SetReadDeadline(deadline)
		n, err := r.c.Read(p)
		r.buf.Write(p[:n])
		if err != nil {
			if strings.Contains(r.buf.String(), want) {
				continue
			}
			got := r.buf.String()
			if len(got) > 2000 {
				got = "…" + got[len(got)-2000:]
			}
			r.t.Fatalf("waiting for %q: %v; got %q", want, err, got)
		}
	}
}

// closed reports whether the server closed the connection (reads until EOF).
func (r *raw) closed() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	p := make([]byte, 4096)
	for {
		n, err := r.c.Read(p)
		r.buf.Write(p[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				r.t.Fatalf("connection still open; got %q", r.buf.String())
			}
			return
		}
	}
}

const header = `<?xml version='1.0'?><stream:stream to='` + domain + `' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`

// login negotiates TLS, PLAIN and a resource on a raw connection.
func (r *raw) login(user string) {
	r.t.Helper()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	r.expect("<proceed")
	r.expect("/>")
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test server's self-signed certificate
	if err := tc.Handshake(); err != nil {
		r.t.Fatal(err)
	}
	r.c = tc
	r.buf.Reset()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+apitest.Password)) + "</auth>")
	r.expect("<success")
	r.send(header)
	r.expect("</stream:features>")
	r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>")
	r.expect("</iq>")
}

// TestBadInput: each kind of hostile input ends only its own stream, with
// the documented stream error; other sessions and stored messages are
// untouched.
func TestBadInput(t *testing.T) {
	env, addr := startXMPP(t, func(c *server.Config) { c.WSFrameRate = 20 })
	alicec, alice := env.NewUser(t, "alice")
	_, bob := env.NewUser(t, "bob")
	conv, _, err := alicec.CreateConversation(ctx, client.CreateConversationRequest{Kind: "direct", MemberIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alicec.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: "keep-1", Body: "keep me"}); err != nil {
		t.Fatal(err)
	}
	// A healthy session that must see none of the trouble.
	good := dialRaw(t, addr)
	good.login("bob")

	bomb := `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`
	cases := []struct {
		name   string
		login  bool
		send   string
		stream string // expected stream error condition
	}{
		{"dtd before the stream", false, `<?xml version='1.0'?>` + bomb, "restricted-xml"},
		{"entity bomb in a stanza", true, `<message to='bob@` + domain + `' type='chat'><body>&lol3;</body></message>`, "restricted-xml"},
		{"dtd in the stream", true, bomb, "restricted-xml"},
		{"comment", true, `<!-- hello -->`, "restricted-xml"},
		{"processing instruction", true, `<?evil stuff?>`, "restricted-xml"},
		{"malformed", true, `<message><body>x</bod></message>`, "not-well-formed"},
		{"unknown top-level namespace", true, `<foo xmlns='urn:example:nope'/>`, "unsupported-stanza-type"},
		{"oversized stanza", true, `<message to='bob@` + domain + `' type='chat'><body>` + strings.Repeat("a", 300<<10) + `</body></message>`, "policy-violation"},
		{"deep nesting", true, strings.Repeat("<a>", 20000), "policy-violation"},
		{"flood", true, strings.Repeat(`<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`, 200), "policy-violation"},
		{"wrong domain", false, `<?xml version='1.0'?><stream:stream to='elsewhere.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`, "host-unknown"},
		{"no starttls", false, header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg=</auth>`, "policy-violation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, addr)
			if tc.login {
				r.login("alice")
			}
			r.send(tc.send)
			got := r.expect("</stream:error>")
			if !strings.Contains(got, "<"+tc.stream+" xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>") {
				t.Fatalf("got %q, want stream error %s", got, tc.stream)
			}
			r.closed()
		})
	}

	// In-band errors: the stream stays up.
	r := dialRaw(t, addr)
	r.login("alice")
	r.send(`<iq type='get' id='u1'><query xmlns='urn:example:unknown'/></iq>`)
	if got := r.expect("</iq>"); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("unknown iq payload: %q", got)
	}
	r.send(`<message to='bob@` + domain + `' type='chat' id='big'><body>` + strings.Repeat("é", 4001) + `</body></message>`)
	if got := r.expect("</message>"); !strings.Contains(got, `type="error"`) || !strings.Contains(got, `code="too_large"`) {
		t.Fatalf("too long a body: %q", got)
	}
	r.send(`<message to='nobody@` + domain + `' type='chat' id='nb'><body>hi</body></message>`)
	if got := r.expect("</message>"); !strings.Contains(got, "item-not-found") {
		t.Fatalf("unknown recipient: %q", got)
	}
	r.send(`<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if got := r.expect("</iq>"); !strings.Contains(got, `type="result"`) {
		t.Fatalf("ping after errors: %q", got)
	}

	// Nothing else was disturbed: the healthy session still answers, and
	// the history holds exactly what was sent before.
	good.send(`<iq type='get' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if got := good.expect("</iq>"); !strings.Contains(got, `type="result"`) || strings.Contains(got, "stream:error") {
		t.Fatalf("healthy session: %q", got)
	}
	hist, err := alicec.History(ctx, conv.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	users := 0
	for _, m := range hist {
		if m.Kind == "user" {
			users++
			if m.Body != "keep me" {
				t.Fatalf("unexpected message %+v", m)
			}
		}
	}
	if users != 1 {
		t.Fatalf("%d user messages in history, want 1", users)
	}
	_ = alice
}
