package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// pickPicture draws a w×h PNG on a canvas and hands it to the file input
// sel, as choosing a file would.
func pickPicture(t *testing.T, tb *tab, sel, colour string) {
	t.Helper()
	eval[bool](t, tb, `new Promise(r => { const c = document.createElement('canvas'); c.width = 80; c.height = 60; const g = c.getContext('2d'); g.fillStyle = `+js(colour)+`; g.fillRect(0, 0, 80, 60);
		c.toBlob(b => { const dt = new DataTransfer(); dt.items.add(new File([b], 'me.png', { type: 'image/png' }));
			const i = document.querySelector(`+js(sel)+`); i.files = dt.files; i.dispatchEvent(new Event('change')); r(true) }, 'image/png') })`)
}

// imgAvatar is true when the avatar in scope is a loaded picture (an object
// URL, since an <img> cannot send the bearer token).
func imgAvatar(scope string) string {
	return `(() => { const i = document.querySelector(` + js(scope+` .avatar.has-img img.avatar-img`) + `); return !!i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:') })()`
}

// TestBrowserAvatar: Alice sets her profile picture in the settings dialog
// and sees it in place of her initials; Bob sees it in his conversation list
// and the chat header; Alice sets her group's picture from its settings and
// Bob's list shows it live (conversation_updated). Users without a picture
// keep their initials.
func TestBrowserAvatar(t *testing.T) {
	env := apitest.Start(t, nil)
	if r, err := http.Get(env.URL + "/api/v1/avatars"); err != nil || r.StatusCode == http.StatusNotFound && r.Header.Get("Content-Type") == "" {
		t.Skip("avatars are not in this build")
	}
	a := newTab(t)
	b := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	named(t, alice, "Alice Martin", "")
	bob, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	grp, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Offsite", MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(tb *tab, c *client.Client, path string) {
		tb.do(t, chromedp.Navigate(env.URL+"/login"))
		tb.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
		eval[bool](t, tb, `(localStorage.setItem('parley.token', `+js(c.Token())+`), true)`)
		tb.do(t, chromedp.Navigate(env.URL+path))
		tb.waitJS(t, "signed in", `document.documentElement.dataset.conn === 'online' && document.querySelector('.conv-item')`)
	}
	signIn(a, alice, "/settings")
	a.waitJS(t, "settings open", `document.querySelector('dialog[open] .profile-head .avatar')`)
	if eval[bool](t, a, `!!document.querySelector('.avatar img')`) {
		t.Error("a picture shown before anyone set one")
	}
	pickPicture(t, a, `dialog[open] input.avatar-file`, "#e11d48")
	a.waitJS(t, "own picture in the dialog", imgAvatar(`dialog[open] .profile-head`))
	a.waitJS(t, "own picture in the sidebar", imgAvatar(`button.me`))

	signIn(b, bob, "/c/"+dm.ID)
	b.waitJS(t, "alice's picture in bob's list", imgAvatar(`.conv-item[data-id="`+dm.ID+`"]`))
	b.waitJS(t, "alice's picture in the header", imgAvatar(`.chat-head`))
	if eval[bool](t, b, `!!document.querySelector('button.me .avatar img')`) {
		t.Error("bob, who has no picture, shows one")
	}
	if eval[string](t, b, `document.querySelector('.conv-item[data-id="`+grp.ID+`"] .avatar').textContent`) != "OF" || eval[bool](t, b, `!!document.querySelector('.conv-item[data-id="`+grp.ID+`"] .avatar img')`) {
		t.Error("the group without a picture should show its initial")
	}

	// The group's picture, set by its owner from the conversation settings.
	a.do(t, chromedp.Navigate(env.URL+"/c/"+grp.ID))
	a.waitJS(t, "group open", `document.documentElement.dataset.conn === 'online' && document.querySelector('.composer textarea')`)
	eval[bool](t, a, `(window.parley.openMembers(`+js(grp.ID)+`), true)`)
	a.waitJS(t, "group settings", `document.querySelector('dialog[open] input.avatar-file')`)
	pickPicture(t, a, `dialog[open] input.avatar-file`, "#16a34a")
	b.waitJS(t, "group picture in bob's list", imgAvatar(`.conv-item[data-id="`+grp.ID+`"]`))
	if errs := append(a.jsErrors(), b.jsErrors()...); len(errs) > 0 {
		t.Errorf("js errors: %v", errs)
	}
}
