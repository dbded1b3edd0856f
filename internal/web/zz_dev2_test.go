package web_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestDevKeys(t *testing.T) {
	if os.Getenv("DEVSHOTS") == "" {
		t.Skip()
	}
	a := newTab(t)
	a.do(t, chromedp.Navigate("about:blank"))
	eval[bool](t, a, `(() => { document.body.innerHTML = '<textarea id=x></textarea>'; window.keys=[]; document.getElementById('x').addEventListener('keydown', e => window.keys.push(e.key)); return true })()`)
	a.do(t, chromedp.Focus(chromedp.CSS(`#x`)), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent("\r"))
	t.Log(eval[[]string](t, a, `window.keys`), eval[string](t, a, `document.activeElement.id`))
}
