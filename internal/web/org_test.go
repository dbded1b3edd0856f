package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
)

// TestBrowserOrganisations: the server admin creates an organisation on
// the admin page, tightens its limits and makes an invite link of it; a
// guest registers with the link and lands in it; an unknown organisation
// named in the registration form is refused at its field; made an
// organisation admin, the guest sees only their organisation's part of the
// admin page and opens its registration.
func TestBrowserOrganisations(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	setup, err := env.Server.App.PrepareSetup(ctx)
	if err != nil || setup == "" {
		t.Fatalf("PrepareSetup: %q %v", setup, err)
	}
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/?setup="+setup))
	a.waitJS(t, "first-admin note", `document.querySelector('.auth-link-note')?.textContent.includes('first admin')`)
	fillRegister(t, a, "root")
	a.clickJS(t, `.admin-btn`)
	a.waitJS(t, "organisations listed", `document.querySelector('.admin-orgs tr[data-org=default]')`)

	a.do(t, chromedp.SendKeys(chromedp.CSS(`input[name=org-slug]`), "acme"),
		chromedp.SendKeys(chromedp.CSS(`input[name=org-name]`), "Acme Ltd"))
	a.clickJS(t, `[data-action=create-org]`)
	a.waitJS(t, "acme listed", `document.querySelector('.admin-orgs tr[data-org=acme]')?.textContent.includes('invite')`)
	a.waitJS(t, "acme's settings", `document.querySelector('.admin-org-form[data-org=acme]')`)
	a.do(t, chromedp.SetValue(chromedp.CSS(`input[name=org-edit-max_message_chars]`), "50"))
	a.clickJS(t, `.admin-org-form[data-org=acme] [data-action=save-org]`)
	a.waitJS(t, "limit shown", `document.querySelector('.admin-orgs tr[data-org=acme]')?.textContent.includes('Max characters per message: 50')`)
	acme, err := env.Server.App.FindOrg(ctx, app.Operator, "acme")
	if err != nil || acme.Limits.MaxMessageChars != 50 || acme.Registration != parley.RegistrationInvite {
		t.Fatalf("acme after the page: %+v %v", acme, err)
	}

	// An invite link of acme.
	a.waitJS(t, "acme in the invite form", `[...document.querySelectorAll('select[name=invite-org] option')].some(o => o.value === '`+acme.ID+`')`)
	a.do(t, chromedp.SetValue(chromedp.CSS(`select[name=invite-org]`), acme.ID),
		chromedp.SendKeys(chromedp.CSS(`input[name=invite-note]`), "acme people"))
	a.clickJS(t, `[data-action=create-invite]`)
	a.waitJS(t, "invite link shown", `document.querySelector('.admin-detail code')?.textContent.includes('/register?invite=')`)
	link := eval[string](t, a, `document.querySelector('.admin-detail code').textContent`)

	// An unknown organisation is named at its field.
	g := newTab(t)
	g.do(t, chromedp.Navigate(env.URL+"/register?org=nowhere"))
	g.waitJS(t, "register form", `document.querySelector('input[name=organisation]')?.value === 'nowhere'`)
	g.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "lost"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	g.waitJS(t, "organisation refused", `document.querySelector('.field-error')?.textContent.includes('no organisation')`)

	g.do(t, chromedp.Navigate(link))
	g.waitJS(t, "invited note", `document.querySelector('.auth-link-note')?.textContent.includes('invited')`)
	fillRegister(t, g, "guest")
	if org := eval[string](t, g, `window.parley.store.me.org_id`); org != acme.ID {
		t.Fatalf("guest registered into %q, want acme %q", org, acme.ID)
	}
	guest, err := env.Server.App.FindUser(ctx, app.Operator, "guest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.App.SetRole(ctx, app.Operator, guest.ID, parley.UserRoleAdmin); err != nil {
		t.Fatal(err)
	}

	// The organisation admin's page: their organisation, no server parts.
	g.do(t, chromedp.Navigate(env.URL+"/admin"))
	g.waitJS(t, "own organisation's settings", `document.querySelector('.admin-org-form[data-org=acme]') && document.querySelectorAll('.admin-orgs tr').length === 1`)
	if eval[bool](t, g, `!!document.querySelector('[data-fact=registration]') || !!document.querySelector('.admin-audit') || !!document.querySelector('[data-action=create-org]')`) {
		t.Fatal("an organisation admin sees the server's overview, audit log or organisation creation")
	}
	g.waitJS(t, "only acme's people", `document.querySelector('.admin-users tr[data-user=guest]') && !document.querySelector('.admin-users tr[data-user=root]')`)
	g.do(t, chromedp.SetValue(chromedp.CSS(`select[name=org-edit-registration]`), "open"))
	g.clickJS(t, `.admin-org-form[data-org=acme] [data-action=save-org]`)
	g.waitJS(t, "acme open", `document.querySelector('.admin-orgs tr[data-org=acme]')?.children[1].textContent === 'open'`)
	if o, err := env.Server.App.FindOrg(ctx, app.Operator, "acme"); err != nil || o.Registration != parley.RegistrationOpen || o.Limits.MaxMessageChars != 50 {
		t.Fatalf("acme after its admin's change: %+v %v", o, err)
	}
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors in the server admin's tab: %v", errs)
	}
	for _, e := range g.jsErrors() {
		if !strings.Contains(e, "404") { // the refused registration's answer is logged as a failed load
			t.Fatalf("js error in the guest's tab: %v", e)
		}
	}
}
