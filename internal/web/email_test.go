package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/mail/smtptest"
	"github.com/parley-chat/parley/internal/server"
)

var mailTokenRE = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})`)

func nextMailToken(t *testing.T, sink *smtptest.Sink, n int) string {
	t.Helper()
	msgs := sink.Wait(n, 20*time.Second)
	if len(msgs) < n {
		t.Fatalf("%d mails, want %d", len(msgs), n)
	}
	m := mailTokenRE.FindStringSubmatch(msgs[n-1].Body)
	if m == nil {
		t.Fatalf("no link in %q", msgs[n-1].Body)
	}
	return m[1]
}

// fill sets form fields by name and submits the form holding the first.
func fill(t *testing.T, tb *tab, fields map[string]string) {
	t.Helper()
	first := ""
	for name, v := range fields {
		tb.waitJS(t, "field "+name, `!!document.querySelector('input[name=`+name+`]')`)
		eval[bool](t, tb, `(() => { const i = document.querySelector('input[name=`+name+`]'); i.value = `+js(v)+`; return true })()`)
		first = name
	}
	eval[bool](t, tb, `(document.querySelector('input[name=`+first+`]').form.requestSubmit(), true)`)
}

// TestBrowserEmailLinks: sign-up on a server that requires a verified
// address, the verification page, "forgot password" and the reset page,
// with the mails caught by an in-process SMTP server.
func TestBrowserEmailLinks(t *testing.T) {
	sink := smtptest.Start(t, "", "")
	env := apitest.Start(t, func(c *server.Config) {
		c.EmailVerification = "required"
		c.SMTPHost, c.SMTPPort, c.SMTPTLSConfig = sink.Host, sink.Port, sink.TLSConfig
	})
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/register"))
	fill(t, a, map[string]string{"username": "frank", "email": "frank@example.org", "password": "password123"})
	a.waitJS(t, "check-your-email note", `document.querySelector('#verify-note')?.textContent.includes('frank@example.org')`)

	// Signing in before confirming is refused, with a way to resend.
	a.do(t, chromedp.Navigate(env.URL+"/login"))
	fill(t, a, map[string]string{"username": "frank", "password": "password123"})
	a.clickJS(t, "#resend-verification")
	a.waitJS(t, "resent", `document.querySelector('.form-error')?.textContent.includes('new link')`)
	token := nextMailToken(t, sink, 2)

	a.do(t, chromedp.Navigate(env.URL+"/verify-email?token=not-a-token"))
	a.waitJS(t, "bad link page", `document.querySelector('h1')?.textContent === 'This link did not work'`)
	a.do(t, chromedp.Navigate(env.URL+"/verify-email?token="+token))
	a.waitJS(t, "confirmed", `document.querySelector('h1')?.textContent === 'Address confirmed'`)
	a.do(t, chromedp.Navigate(env.URL+"/login"))
	fill(t, a, map[string]string{"username": "frank", "password": "password123"})
	a.waitJS(t, "signed in", `window.parley && window.parley.store && window.parley.store.me && window.parley.store.me.username === 'frank'`)

	// Forgot password, in another browser.
	b := newTab(t)
	b.do(t, chromedp.Navigate(env.URL+"/login"))
	b.clickJS(t, "#forgot-password")
	fill(t, b, map[string]string{"login": "frank@example.org"})
	b.waitJS(t, "reset requested", `document.querySelector('#email-page-status')?.textContent.includes('If an account matches')`)
	reset := nextMailToken(t, sink, 3)
	b.do(t, chromedp.Navigate(env.URL+"/reset-password?token="+reset))
	fill(t, b, map[string]string{"password": "new-password-9", "password2": "different-9"})
	b.waitJS(t, "mismatch", `document.querySelector('.form-error')?.textContent.includes('differ')`)
	fill(t, b, map[string]string{"password": "new-password-9", "password2": "new-password-9"})
	b.waitJS(t, "changed", `document.querySelector('h1')?.textContent === 'Password changed'`)
	b.do(t, chromedp.Navigate(env.URL+"/login"))
	fill(t, b, map[string]string{"username": "frank", "password": "new-password-9"})
	b.waitJS(t, "signed in with the new password", `window.parley && window.parley.store && window.parley.store.me && window.parley.store.me.username === 'frank'`)
	// The refused sign-in (403) and the bad link (400) show as failed
	// loads in the console; anything else is a bug.
	for _, tb := range []*tab{a, b} {
		for _, e := range tb.jsErrors() {
			if !strings.Contains(e, "Failed to load resource: the server responded with a status of 40") {
				t.Fatalf("js error: %s", e)
			}
		}
	}
}
