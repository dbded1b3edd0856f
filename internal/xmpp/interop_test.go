package xmpp_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/apitest"
)

// interopSteps runs the scripted conversation every server in the interop
// matrix (docs/xmpp.md) is measured with, using only XMPP: accounts alice
// and bob with password apitest.Password must exist on dom. It returns
// the outcome of each step, in order.
func interopSteps(t *testing.T, addr, dom string) [][2]string {
	var out [][2]string
	rec := func(step string, ok bool) {
		r := "pass"
		if !ok {
			r = "FAIL"
		}
		out = append(out, [2]string{step, r})
	}
	const wait = 15 * time.Second
	alice, bob := "alice@"+dom, "bob@"+dom
	a := startPy(t, addr, alice, apitest.Password, "SCRAM-SHA-256")
	_, ok := a.waitFor("session_start", nil, wait, false)
	rec("SCRAM-SHA-256 sign-in", ok)
	if !ok { // go on with the server's preferred mechanism
		a = startPy(t, addr, alice, apitest.Password, "")
		_, ok = a.waitFor("session_start", nil, wait, false)
	}
	b := startPy(t, addr, bob, apitest.Password, "PLAIN")
	_, ok2 := b.waitFor("session_start", nil, wait, false)
	rec("PLAIN sign-in", ok2)
	if !ok || !ok2 {
		return out
	}
	tag := fmt.Sprint(time.Now().UnixNano())
	a.do(map[string]any{"op": "send", "to": bob, "body": "hi " + tag, "id": "i1-" + tag, "receipt": true, "markable": true})
	_, ok = b.waitFor("message", field("id", "i1-"+tag), wait, false)
	rec("1:1 message", ok)
	_, ok = a.waitFor("receipt", field("id", "i1-"+tag), wait, false)
	rec("delivery receipt (XEP-0184)", ok)
	b.do(map[string]any{"op": "displayed", "to": alice, "id": "i1-" + tag})
	_, ok = a.waitFor("displayed", field("id", "i1-"+tag), wait, false)
	rec("chat marker displayed (XEP-0333)", ok)
	b.do(map[string]any{"op": "send", "to": alice, "body": "back " + tag, "id": "i2-" + tag})
	_, ok = a.waitFor("message", field("id", "i2-"+tag), wait, false)
	rec("reply", ok)
	a.do(map[string]any{"op": "mam", "with": bob, "max": 50})
	mam, ok := a.waitFor("mam", nil, wait, false)
	if ok {
		r, _ := mam["results"].([]any)
		seen := map[string]bool{}
		for _, x := range r {
			seen[fmt.Sprint(x.(map[string]any)["body"])] = true
		}
		ok = seen["hi "+tag] && seen["back "+tag]
	}
	rec("MAM with a user (XEP-0313)", ok)
	a2 := startPy(t, addr, alice, apitest.Password, "")
	a2.waitFor("session_start", nil, wait, false)
	a2.do(map[string]any{"op": "carbons"})
	_, ok = a2.waitFor("ok", field("op", "carbons"), wait, false)
	if ok {
		a.do(map[string]any{"op": "send", "to": bob, "body": "cc " + tag, "id": "i3-" + tag})
		_, ok = a2.waitFor("carbon_sent", field("body", "cc "+tag), wait, false)
	}
	rec("sent carbon (XEP-0280)", ok)
	a.do(map[string]any{"op": "drop", "pause": 1.0})
	a.waitFor("ok", field("op", "drop"), wait, false)
	b.do(map[string]any{"op": "send", "to": alice, "body": "away " + tag, "id": "i4-" + tag})
	_, ok = a.waitFor("session_resumed", nil, wait, false)
	if ok {
		_, ok = a.waitFor("message", field("id", "i4-"+tag), wait, false)
	}
	rec("stream resumption, message sent while away (XEP-0198)", ok)
	return out
}

func logMatrix(t *testing.T, name string, steps [][2]string) {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, s[0], s[1])
	}
	t.Logf("interop %s:\n%s", name, b.String())
}

// TestInteropParley runs the interop script against Parley; every step must pass.
func TestInteropParley(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	env.NewUser(t, "alice")
	env.NewUser(t, "bob")
	steps := interopSteps(t, addr, domain)
	logMatrix(t, "parley", steps)
	for _, s := range steps {
		if s[1] != "pass" {
			t.Errorf("step %q failed", s[0])
		}
	}
}

// TestInteropReference runs the same script against reference servers
// (ejabberd, prosody) given as PARLEY_XMPP_REFERENCE="name=host:port@domain,…"
// with accounts alice and bob (password apitest.Password). It records, not
// judges: docs/xmpp.md has the matrix.
func TestInteropReference(t *testing.T) {
	spec := os.Getenv("PARLEY_XMPP_REFERENCE")
	if spec == "" {
		t.Skip("set PARLEY_XMPP_REFERENCE=name=host:port@domain to compare with a reference server")
	}
	requireSlixmpp(t)
	for _, ref := range strings.Split(spec, ",") {
		name, rest, _ := strings.Cut(ref, "=")
		addr, dom, _ := strings.Cut(rest, "@")
		t.Run(name, func(t *testing.T) { logMatrix(t, name, interopSteps(t, addr, dom)) })
	}
}
