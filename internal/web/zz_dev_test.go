package web_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/apitest"
)

func shot(t *testing.T, tb *tab, name string) {
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile("/tmp/shots/"+name+".png", png, 0o644)
}

func TestDevShots(t *testing.T) {
	if os.Getenv("DEVSHOTS") == "" {
		t.Skip()
	}
	os.MkdirAll("/tmp/shots", 0o755)
	env := apitest.Start(t, nil)
	a := newTab(t)
	a.do(t, chromedp.Navigate(env.URL+"/register"))
	a.waitJS(t, "form", `document.querySelector('input[name=username]')`)
	shot(t, a, "register")
	register(t, a, env.URL, "alice", "Alice Liddell")
	shot(t, a, "main")
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	shot(t, a, "menu")
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item`)))
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), "al"))
	a.waitJS(t, "x", `document.querySelector('dialog .pick-list li')`)
	shot(t, a, "dialog")
	eval[bool](t, a, `(document.querySelector("dialog").close(), true)`)
	a.do(t, chromedp.Click(chromedp.CSS(`.me`)))
	a.waitJS(t, "settings", `document.querySelector('dialog .segmented')`)
	a.do(t, chromedp.Click(chromedp.CSS(`input[value=dark]`)))
	shot(t, a, "settings-dark")
	a.do(t, chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
	a.waitJS(t, "closed", `!document.querySelector('dialog')`)
	a.do(t, chromedp.EmulateViewport(390, 800))
	shot(t, a, "phone-dark")
}
