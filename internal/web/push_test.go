package web_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/webpush/pushtest"
)

// TestBrowserWebPush drives the web client's push settings in Chromium.
//
// What is real: the service worker (/sw.js) registering under the page's
// CSP and Trusted Types with scope "/", the settings toggle calling the
// subscription API, the push event reaching the real worker (delivered by
// DevTools' ServiceWorker.deliverPushMessage) and the notification it shows,
// and the focus report over the socket.
//
// What is stubbed: PushManager.subscribe/getSubscription. Headless Chromium
// has no push service to register with (subscribe fails with "push service
// error"), so the stub returns a subscription with real P-256 keys and a
// public https endpoint, and the test checks that the page asked with the
// server's VAPID key. Delivery through a push service is covered by
// internal/e2e TestWebPushEndToEnd (an in-process service that decrypts).
func TestBrowserWebPush(t *testing.T) {
	env := apitest.Start(t, nil)
	bob, bobU := env.NewUser(t, "bob")
	dev := pushtest.New(t).NewDevice(t) // real keys for the stub
	a := newTab(t)

	// Registration ids arrive as ServiceWorker domain events; notifications
	// need the permission; focus emulation makes the headless page count as
	// focused.
	regs := make(chan serviceworker.RegistrationID, 8)
	a.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		go func() {
			for ev, err := range cdp.Events(a.ctx, tg, serviceworker.WorkerRegistrationUpdated) {
				if err != nil {
					return
				}
				for _, r := range ev.Registrations {
					if !r.IsDeleted && strings.HasPrefix(r.ScopeURL, env.URL) {
						select {
						case regs <- r.RegistrationID:
						default:
						}
					}
				}
			}
		}()
		if _, err := cdp.Call(ctx, tg, serviceworker.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	c := chromedp.FromContext(a.ctx)
	pctx, pcancel := context.WithTimeout(a.ctx, 20*time.Second)
	defer pcancel()
	if _, err := cdp.Call(pctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: env.URL, BrowserContextID: c.BrowserContextID}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}

	signIn(t, a, env.URL, bob, "/")
	a.waitJS(t, "app", `window.parley && window.parley.store && window.parley.store.me`)

	// The page reports focus over its socket on connect.
	deadline := time.Now().Add(20 * time.Second)
	for !env.Server.Notifier.Focused(bobU.ID) {
		if time.Now().After(deadline) {
			t.Fatal("the focused page never reported focus")
		}
		time.Sleep(20 * time.Millisecond)
	}

	endpoint := "https://push.example/browser/" + parley.NewID()
	eval[bool](t, a, `(() => {
		const json = { endpoint: `+js(endpoint)+`, expirationTime: null, keys: { p256dh: `+js(dev.P256DH)+`, auth: `+js(dev.Auth)+` } };
		PushManager.prototype.getSubscription = async function () { return window.__sub || null; };
		PushManager.prototype.subscribe = async function (opts) {
			window.__asked = { userVisibleOnly: opts.userVisibleOnly,
				key: btoa(String.fromCharCode(...new Uint8Array(opts.applicationServerKey))) };
			window.__sub = { endpoint: json.endpoint, toJSON: () => json,
				unsubscribe: async () => { window.__sub = null; return true; } };
			return window.__sub;
		};
		return true; })()`)

	eval[bool](t, a, `(window.parley.openSettings(), true)`)
	a.waitJS(t, "push settings loaded", `document.querySelector('#push-toggle')?.dataset.ready === '1'`)
	if eval[bool](t, a, `document.querySelector('#push-toggle').checked`) {
		t.Fatal("push shows as on before subscribing")
	}
	a.clickJS(t, "#push-toggle")
	a.waitJS(t, "subscribed", `!!window.__sub && localStorage.getItem('parley.push')`)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subs, err := bob.PushSubscriptions(ctx)
	if err != nil || len(subs) != 1 || subs[0].Endpoint != endpoint || subs[0].P256DH != dev.P256DH {
		t.Fatalf("server subscriptions %+v %v", subs, err)
	}
	key, err := bob.VAPIDKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(key)
	if asked := eval[map[string]any](t, a, `window.__asked`); asked["userVisibleOnly"] != true ||
		asked["key"] != base64.StdEncoding.EncodeToString(raw) {
		t.Fatalf("subscribe was asked %v; want the server's VAPID key", asked)
	}

	// The real worker: registered at /sw.js with scope "/".
	if got := eval[string](t, a, `navigator.serviceWorker.getRegistration('/').then(r => r && r.active ? r.active.scriptURL + ' ' + r.scope : '')`); got != env.URL+"/sw.js "+env.URL+"/" {
		t.Fatalf("service worker %q", got)
	}
	// A push reaches it and it shows one notification per conversation.
	var reg serviceworker.RegistrationID
	select {
	case reg = <-regs:
	case <-time.After(20 * time.Second):
		t.Fatal("no service worker registration event")
	}
	deliver := func(data string) {
		a.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
				Origin: env.URL, RegistrationID: reg, Data: data})
			return err
		}))
	}
	notes := `navigator.serviceWorker.getRegistration('/').then(r => r.getNotifications()).then(ns => ns.map(n => n.title + '|' + n.body + '|' + n.tag + '|' + n.data.url).join(';'))`
	// Chromium may drop a push delivered while it is still starting the
	// worker under load; a push service redelivers, and so does this (the
	// notification's tag makes a repeat replace, not add).
	deliverUntil := func(what, data, cond string) {
		t.Helper()
		for attempt := 1; ; attempt++ {
			deliver(data)
			ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
			_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(25*time.Millisecond),
				chromedp.WithPollingTimeout(5*time.Second)))
			cancel()
			if err == nil {
				return
			}
			if attempt == 4 {
				a.waitJS(t, what, cond) // fails with the page's text
				return
			}
		}
	}
	deliverUntil("the notification", `{"v":1,"conversation_id":"c1","seq":7,"title":"team","sender":"alice","body":"lunch?","reason":"message","count":1,"unread":3}`,
		notes+`.then(s => s === 'team|alice: lunch?|c1|/c/c1')`)
	deliverUntil("the replacing notification (no preview)", `{"v":1,"conversation_id":"c1","seq":9,"title":"team","sender":"alice","reason":"mention","count":2,"unread":4}`,
		notes+`.then(s => s === 'team|alice mentioned you|c1|/c/c1')`)

	// Rules are saved as they change.
	eval[bool](t, a, `(() => { const s = document.querySelector('#notify-level'); s.value = 'mentions'; s.dispatchEvent(new Event('change')); return true })()`)
	deadline = time.Now().Add(20 * time.Second)
	for {
		p, err := bob.NotifyPrefs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Level == parley.NotifyMentions {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("level stayed %q", p.Level)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Off: the server forgets the subscription and the browser unsubscribes.
	a.clickJS(t, "#push-toggle")
	a.waitJS(t, "unsubscribed", `!window.__sub && !localStorage.getItem('parley.push')`)
	if subs, err := bob.PushSubscriptions(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("after turning push off %+v %v", subs, err)
	}
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors: %v", errs)
	}
}
