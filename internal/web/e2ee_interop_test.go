package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/e2ee"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestBrowserE2EEInteropWithGoSDK: the web client (WebCrypto) and the Go SDK
// (client/e2ee, which the terminal client uses) talk in one encrypted
// direct chat, both ways, and show the same safety number: the two
// implementations of docs/e2ee.md agree beyond the test vectors.
func TestBrowserE2EEInteropWithGoSDK(t *testing.T) {
	env := apitest.Start(t, nil)
	requireE2EEServer(t, env)
	ctx := context.Background()
	bobC, _ := env.NewUser(t, "bob")
	x, err := bobC.EnableE2EE(ctx, &e2ee.MemStore{}, "bob's terminal")
	if err != nil {
		t.Fatal(err)
	}
	a := newTab(t)
	register(t, a, env.URL, "alice", "Alice Martin")
	e2eeReady(t, a, "alice")
	conv := newEncryptedDirect(t, a, "bob")
	send(t, a, "hello from the browser")

	// Bob's SDK decrypts what the browser sent.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := x.History(ctx, conv, client.HistoryQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		found := false
		for _, d := range ds {
			if !d.Encrypted {
				continue
			}
			got = append(got, d.Status()+": "+d.Body)
			if d.Status() == "ok" && d.Body == "hello from the browser" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Go SDK never decrypted the browser's message: %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The browser decrypts what the SDK sends, including a reply.
	if _, err := x.Send(ctx, conv, "hello from Go", client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBody(t, a, "hello from Go")
	send(t, a, "and back again")
	if _, err := x.Send(ctx, conv, "second from Go", client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBody(t, a, "second from Go")

	// Both sides compute the same safety number.
	st, me := restAs(t, env, "alice")("GET", "/me", nil)
	alice, _ := me["id"].(string)
	if st != 200 || alice == "" {
		t.Fatalf("alice's account: %d %v", st, me)
	}
	goNumber, err := x.SafetyNumber(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	a.clickJS(t, `.safety-btn`)
	a.waitJS(t, "safety number", `document.querySelectorAll('.safety-number span').length === 12`)
	webNumber := eval[string](t, a, `[...document.querySelectorAll('.safety-number span')].map(e => e.textContent).join('')`)
	if strings.ReplaceAll(goNumber, " ", "") != webNumber {
		t.Fatalf("safety numbers differ: Go %q, web %q", goNumber, webNumber)
	}
	noJSErrors(t, a)
}
