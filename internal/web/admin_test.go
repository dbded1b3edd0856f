package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// fillRegister fills and submits the registration form already on screen.
func fillRegister(t *testing.T, tb *tab, username string) {
	t.Helper()
	tb.waitJS(t, "register form", `location.pathname === '/register' && document.querySelector('input[name=username]')`)
	tb.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	tb.waitJS(t, username+" signed in", `document.querySelector('.shell') && window.parley && window.parley.store.me`)
}

// TestBrowserAdmin: the first admin registers through the setup link of an
// invite-only server, opens the admin page, makes an invite link, a guest
// registers with it, and the admin promotes the guest and resets their
// password (which signs the guest out). A plain user gets no admin page.
func TestBrowserAdmin(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.Registration = string(parley.RegistrationInvite) })
	ctx := context.Background()
	setup, err := env.Server.App.PrepareSetup(ctx)
	if err != nil || setup == "" {
		t.Fatalf("PrepareSetup: %q %v", setup, err)
	}
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/?setup="+setup))
	a.waitJS(t, "first-admin note", `document.querySelector('.auth-link-note')?.textContent.includes('first admin')`)
	fillRegister(t, a, "root")
	if role := eval[string](t, a, `window.parley.store.me.role`); role != "admin" {
		t.Fatalf("registered through the setup link as %q", role)
	}

	a.clickJS(t, `.admin-btn`)
	a.waitJS(t, "admin page", `location.pathname === '/admin' && document.querySelector('[data-fact=registration]')?.textContent === 'invite'`)
	a.waitJS(t, "root listed", `document.querySelector('.admin-users tr[data-user=root]')`)
	if n := eval[string](t, a, `document.querySelector('[data-fact=users]').textContent`); n != "1" {
		t.Fatalf("overview users %q", n)
	}

	// An invite link for two people.
	a.do(t, chromedp.SetValue(chromedp.CSS(`input[name=invite-uses]`), "2"),
		chromedp.SendKeys(chromedp.CSS(`input[name=invite-note]`), "guests"))
	a.clickJS(t, `[data-action=create-invite]`)
	a.waitJS(t, "invite link shown", `document.querySelector('.admin-detail code')?.textContent.includes('/register?invite=')`)
	link := eval[string](t, a, `document.querySelector('.admin-detail code').textContent`)
	a.waitJS(t, "invite listed", `[...document.querySelectorAll('.admin-invites tr')].some(r => r.textContent.includes('guests') && r.textContent.includes('0/2'))`)

	g := newTab(t)
	g.do(t, chromedp.Navigate(link))
	g.waitJS(t, "invited note", `document.querySelector('.auth-link-note')?.textContent.includes('invited')`)
	fillRegister(t, g, "guest")
	guestID := eval[string](t, g, `window.parley.store.me.id`)
	if eval[bool](t, g, `!!document.querySelector('.admin-btn')`) {
		t.Fatal("a plain user sees the admin button")
	}
	g.do(t, chromedp.Navigate(env.URL+"/admin"))
	g.waitJS(t, "refused", `document.querySelector('.admin-page .form-error')?.textContent.includes('only admins')`)
	g.do(t, chromedp.Navigate(env.URL+"/"))
	g.waitJS(t, "guest back in the app", `document.querySelector('.shell')`)

	// The admin finds the guest, promotes them, resets their password.
	a.do(t, chromedp.SendKeys(chromedp.CSS(`input[name=admin-search]`), "gu"))
	a.waitJS(t, "guest found", `document.querySelectorAll('.admin-users tr').length === 1 && document.querySelector('.admin-users tr[data-user=guest]')`)
	a.clickJS(t, `tr[data-user=guest] [data-action=promote]`)
	a.waitJS(t, "guest promoted", `document.querySelector('tr[data-user=guest]')?.children[1].textContent === 'admin'`)
	a.clickJS(t, `tr[data-user=guest] [data-action=reset-password]`)
	a.clickJS(t, `dialog .btn-danger`)
	a.waitJS(t, "new password shown", `document.querySelector('.admin-detail h3')?.textContent.includes('New password for @guest')`)
	pw := eval[string](t, a, `document.querySelector('.admin-detail code').textContent`)
	g.waitJS(t, "guest signed out", `location.pathname === '/login'`)
	if _, _, err := env.Server.App.Login(ctx, app.LoginInput{Username: "guest", Password: pw}); err != nil {
		t.Fatalf("guest signs in with the password the page showed: %v", err)
	}
	// Demote, disable and delete the guest from the page.
	a.clickJS(t, `tr[data-user=guest] [data-action=demote]`)
	a.waitJS(t, "guest demoted", `document.querySelector('tr[data-user=guest]')?.children[1].textContent === 'user'`)
	a.clickJS(t, `tr[data-user=guest] [data-action=disable]`)
	a.waitJS(t, "guest disabled", `document.querySelector('tr[data-user=guest]')?.children[2].textContent === 'disabled'`)
	a.clickJS(t, `tr[data-user=guest] [data-action=delete]`)
	a.clickJS(t, `dialog .btn-danger`)
	a.waitJS(t, "guest gone", `!document.querySelector('tr[data-user=guest]') && document.querySelector('[data-fact=users]')?.textContent === '1'`)
	if u, err := env.Server.App.User(ctx, app.Operator, guestID); err != nil || !u.Deleted() {
		t.Fatalf("guest after delete: %+v, %v", u, err)
	}
	a.waitJS(t, "audit shows the actions", `['user.delete', 'user.disable', 'user.demote', 'user.promote', 'user.reset_password', 'invite.create', 'user.create_first_admin'].every(x => [...document.querySelectorAll('.admin-audit td')].some(td => td.textContent === x))`)
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors in the admin's tab: %v", errs)
	}
}
