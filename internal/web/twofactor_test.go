package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

func totp(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := app.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBrowserTwoFactor: a user turns on two-factor sign-in in the settings
// (password, QR code and key, a first code, ten recovery codes), then signs
// in on another device with password and code, and with a recovery code.
func TestBrowserTwoFactor(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/register"))
	fillRegister(t, a, "tina")
	a.clickJS(t, `.me`)
	a.waitJS(t, "two-factor section off", `document.querySelector('.tfa-section .tfa-state')?.textContent.startsWith('Off')`)
	// A wrong password is refused in place.
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.tfa-section .tfa-password`), "wrong password"))
	a.clickJS(t, `.tfa-section .tfa-action`)
	a.waitJS(t, "wrong password shown", `document.querySelector('.tfa-section .form-error')?.textContent.includes('password is wrong')`)
	a.do(t, chromedp.SetValue(chromedp.CSS(`.tfa-section .tfa-password`), "correct horse battery"))
	a.clickJS(t, `.tfa-section .tfa-action`)
	a.waitJS(t, "QR code and key", `(() => { const q = document.querySelector('.tfa-qr'); return q && q.complete && q.naturalWidth > 0 && document.querySelector('.tfa-secret') })()`)
	secret := eval[string](t, a, `document.querySelector('.tfa-secret').textContent.replace(/ /g, '')`)
	t0 := time.Now()
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.tfa-section .tfa-code`), totp(t, secret, t0)))
	a.clickJS(t, `.tfa-section .tfa-action`)
	a.waitJS(t, "ten recovery codes", `document.querySelectorAll('.tfa-recovery li').length === 10`)
	recovery := eval[string](t, a, `document.querySelector('.tfa-recovery li code').textContent`)

	// Another device: the password leads to the code step.
	b := newTab(t)
	b.do(t, chromedp.Navigate(env.URL+"/login"))
	b.waitJS(t, "login form", `document.querySelector('input[name=username]')`)
	b.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "tina"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitJS(t, "code step", `document.querySelector('.tfa-form .tfa-code')`)
	// The enrolment's code again: refused as used.
	b.do(t, chromedp.SendKeys(chromedp.CSS(`.tfa-code`), totp(t, secret, t0)), chromedp.Click(chromedp.CSS(`.tfa-form button[type=submit]`)))
	b.waitJS(t, "replay refused", `document.querySelector('.tfa-form .form-error')?.textContent.includes('used already')`)
	b.do(t, chromedp.SetValue(chromedp.CSS(`.tfa-code`), totp(t, secret, t0.Add(30*time.Second))), chromedp.Click(chromedp.CSS(`.tfa-form button[type=submit]`)))
	b.waitJS(t, "signed in with a code", `document.querySelector('.shell') && window.parley?.store.me?.username === 'tina'`)

	// A third device with a recovery code.
	c := newTab(t)
	c.do(t, chromedp.Navigate(env.URL+"/login"))
	c.waitJS(t, "login form", `document.querySelector('input[name=username]')`)
	c.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "tina"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	c.waitJS(t, "code step", `document.querySelector('.tfa-form .tfa-code')`)
	c.do(t, chromedp.SendKeys(chromedp.CSS(`.tfa-code`), recovery), chromedp.Click(chromedp.CSS(`.tfa-form button[type=submit]`)))
	c.waitJS(t, "signed in with a recovery code", `document.querySelector('.shell') && window.parley?.store.me?.username === 'tina'`)
	c.clickJS(t, `.me`)
	c.waitJS(t, "nine codes left", `document.querySelector('.tfa-section .tfa-state')?.textContent.includes('9 recovery codes left')`)

	// An app password for an XMPP app: made, shown once, listed, revoked.
	c.waitJS(t, "no app passwords", `document.querySelector('.app-password-list li')?.textContent === 'None.'`)
	c.do(t, chromedp.SendKeys(chromedp.CSS(`input[name=app-password-name]`), "Conversations"),
		chromedp.SendKeys(chromedp.CSS(`input[name=app-password-password]`), "correct horse battery"))
	c.clickJS(t, `.app-password-create`)
	c.waitJS(t, "app password shown", `/^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/.test(document.querySelector('.app-password-secret')?.textContent)`)
	c.waitJS(t, "app password listed", `document.querySelector('.app-password-list [data-app-password]')?.textContent.includes('Conversations')`)
	c.clickJS(t, `.app-password-list [data-app-password] button`)
	c.waitJS(t, "app password revoked", `document.querySelector('.app-password-list li')?.textContent === 'None.'`)

	// Downloading one's data (the zip is checked in internal/e2e).
	c.clickJS(t, `.export-btn`)
	c.waitJS(t, "export downloaded", `Number(document.querySelector('.export-status')?.dataset.bytes) > 100 && document.querySelector('.export-status').textContent.includes('parley-export-tina-')`)
	for _, tb := range []*tab{a, b, c} {
		noScriptErrors(t, tb)
	}
}

// TestBrowserRequiredTwoFactor: on a server that requires it, a new account
// enrols right after registering: QR code, first code, recovery codes, in.
func TestBrowserRequiredTwoFactor(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.Require2FA = true })
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/register"))
	a.waitJS(t, "register form", `document.querySelector('input[name=username]')`)
	a.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "rita"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	a.waitJS(t, "enrolment at sign-in", `(() => { const q = document.querySelector('.tfa-form .tfa-qr'); return q && q.complete && q.naturalWidth > 0 })()`)
	secret := eval[string](t, a, `document.querySelector('.tfa-secret').textContent.replace(/ /g, '')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.tfa-code`), totp(t, secret, time.Now())), chromedp.Click(chromedp.CSS(`.tfa-form button[type=submit]`)))
	a.waitJS(t, "recovery codes", `document.querySelectorAll('.tfa-recovery li').length === 10`)
	a.clickJS(t, `.auth-card .btn-primary`)
	a.waitJS(t, "signed in", `document.querySelector('.shell') && window.parley?.store.me?.username === 'rita'`)
	a.clickJS(t, `.me`)
	a.waitJS(t, "on, no turn-off", `document.querySelector('.tfa-section .tfa-state')?.textContent.startsWith('On') && document.querySelector('.tfa-off').hidden`)
	noScriptErrors(t, a)
}

// noScriptErrors fails on console errors other than the browser's own
// report of a refused request (the wrong password and the replayed code
// above are refused on purpose).
func noScriptErrors(t *testing.T, tb *tab) {
	t.Helper()
	for _, e := range tb.jsErrors() {
		if !strings.Contains(e, "Failed to load resource: the server responded with a status of 4") {
			t.Fatalf("js error: %s", e)
		}
	}
}
