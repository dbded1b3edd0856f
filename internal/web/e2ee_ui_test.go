package web_test

// Browser tests of the end-to-end encryption UI (docs/web.md, docs/e2ee.md).
// They need the server half (the /api/v1/e2ee routes and "encrypted"
// conversations); requireE2EEServer fails them if it is missing.

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/apitest"
)

// requireE2EEServer fails the test when the server has no E2EE API (its
// route answers 404): the web client's E2EE tests need the server half.
func requireE2EEServer(t *testing.T, env *apitest.Env) {
	t.Helper()
	r, err := http.Get(env.URL + "/api/v1/e2ee/backup")
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Body.Close()
	if r.StatusCode == http.StatusNotFound {
		t.Fatal("the server has no /api/v1/e2ee routes (docs/e2ee.md)")
	}
}

// restAs signs username in over REST and returns a function doing
// authenticated JSON calls (decoded into a generic value).
func restAs(t *testing.T, env *apitest.Env, username string) func(method, path string, body any) (int, map[string]any) {
	t.Helper()
	c := env.Client()
	if _, err := c.Login(context.Background(), username, "correct horse battery"); err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	token := c.Token()
	return func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, env.URL+"/api/v1"+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &out)
		if out == nil {
			out = map[string]any{"_raw": string(raw)}
		}
		return res.StatusCode, out
	}
}

func e2eeReady(t *testing.T, tb *tab, who string) string {
	t.Helper()
	tb.waitJS(t, who+"'s encryption keys", `window.parley?.e2ee?.status === 'ready'`)
	return eval[string](t, tb, `window.parley.e2ee.deviceId`)
}

// clickMenu opens the new-conversation menu and picks the entry labelled label.
func clickMenu(t *testing.T, tb *tab, label string) {
	t.Helper()
	tb.clickJS(t, `.new-btn`)
	tb.waitJS(t, "menu entry "+label, `(() => { const b = [...document.querySelectorAll('.menu-item')].find(e => e.textContent.trim() === `+js(label)+`); if (!b) return false; b.click(); return true })()`)
}

// newEncryptedDirect starts an encrypted direct chat with username through
// "New encrypted chat" and returns its id.
func newEncryptedDirect(t *testing.T, tb *tab, username string) string {
	t.Helper()
	clickMenu(t, tb, "New encrypted chat")
	tb.waitJS(t, "encrypted chat dialog", `document.querySelector('dialog h2')?.textContent === 'New encrypted chat' && document.querySelector('dialog .e2ee-toggle')?.checked`)
	tb.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), username))
	tb.clickJS(t, `dialog .pick`)
	tb.waitJS(t, "encrypted chat open", `location.pathname.startsWith('/c/') && document.querySelector('.chat-head .e2ee-lock')`)
	return eval[string](t, tb, `decodeURIComponent(location.pathname.slice(3))`)
}

func openConv(t *testing.T, tb *tab, id string) {
	t.Helper()
	tb.clickJS(t, `.conv-item[data-id=`+js(id)+`]`)
	tb.waitJS(t, "conversation open", `location.pathname === '/c/' + encodeURIComponent(`+js(id)+`)`)
}

func waitBody(t *testing.T, tb *tab, text string) {
	t.Helper()
	tb.waitJS(t, "message "+text, `[...document.querySelectorAll('.msg-list .msg .body')].some(e => e.textContent === `+js(text)+`)`)
}

func noJSErrors(t *testing.T, tabs ...*tab) {
	t.Helper()
	for _, tb := range tabs {
		for _, e := range tb.jsErrors() {
			t.Errorf("JavaScript error: %s", e)
		}
	}
}

// TestBrowserE2EEDirect: two users register (each browser makes and
// publishes its device keys), start a chat with "New encrypted chat", talk
// both ways and edit; the server stores only envelopes (empty body); lock markers;
// both see the same safety number and one marks it verified; the search
// dialog says encrypted conversations are not searchable; a forged envelope
// shows "could not decrypt: …" and never its bytes; a new device of the
// peer raises the key-change banner and clears "verified".
func TestBrowserE2EEDirect(t *testing.T) {
	env := apitest.Start(t, nil)
	requireE2EEServer(t, env)
	a, b := newTab(t), newTab(t)
	register(t, a, env.URL, "alice", "Alice Martin")
	register(t, b, env.URL, "bob", "Bob Chen")
	devA := e2eeReady(t, a, "alice")
	devB := e2eeReady(t, b, "bob")
	if devA == "" || devB == "" || devA == devB {
		t.Fatalf("device ids %q %q", devA, devB)
	}

	conv := newEncryptedDirect(t, a, "bob")
	for _, s := range []string{"first secret", "second secret", "third secret"} {
		send(t, a, s)
	}
	b.waitJS(t, "encrypted chat listed with a lock", `document.querySelector('.conv-item[data-id=`+js(conv)+`] .e2ee-lock')`)
	openConv(t, b, conv)
	for _, s := range []string{"first secret", "second secret", "third secret"} {
		waitBody(t, b, s)
	}
	for _, s := range []string{"reply one", "reply two", "reply three"} {
		send(t, b, s)
	}
	for _, s := range []string{"reply one", "reply two", "reply three"} {
		waitBody(t, a, s)
	}
	// An edit carries a new envelope.
	eval[bool](t, a, `(() => { const w = window.parley.store.win(`+js(conv)+`); window.parley.startEdit([...w.bySeq.values()].find(x => x.body === 'third secret')); return true })()`)
	send(t, a, "third secret, edited")
	waitBody(t, b, "third secret, edited")
	waitBody(t, a, "third secret, edited")
	// After a reload the history shows from this browser's store (the
	// message keys are gone) and the sessions go on.
	a.do(t, chromedp.Reload())
	a.waitJS(t, "alice back online", `document.documentElement.dataset.conn === 'online' && window.parley?.e2ee?.status === 'ready'`)
	for _, s := range []string{"first secret", "second secret", "third secret, edited", "reply one", "reply three"} {
		waitBody(t, a, s)
	}
	send(t, b, "after the reload")
	waitBody(t, a, "after the reload")
	send(t, a, "answer after the reload")
	waitBody(t, b, "answer after the reload")

	// The server holds ciphertext only.
	asAlice := restAs(t, env, "alice")
	st, page := asAlice("GET", "/conversations/"+conv+"/messages?limit=50", nil)
	if st != http.StatusOK {
		t.Fatalf("messages: %d %v", st, page)
	}
	raw, _ := json.Marshal(page)
	for _, s := range []string{"secret", "reply one"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the server stored %q in clear: %s", s, raw)
		}
	}
	if !bytes.Contains(raw, []byte(`"e2ee"`)) {
		t.Errorf("no envelope in the stored messages: %s", raw)
	}

	// Safety number: the same 60 digits on both sides; Alice marks it verified.
	number := func(tb *tab) string {
		tb.clickJS(t, `.safety-btn`)
		tb.waitJS(t, "safety number", `document.querySelectorAll('.safety-number span').length === 12`)
		n := eval[string](t, tb, `[...document.querySelectorAll('.safety-number span')].map(e => e.textContent).join('')`)
		return n
	}
	na := number(a)
	nb := number(b)
	if len(na) != 60 || na != nb {
		t.Fatalf("safety numbers %q and %q", na, nb)
	}
	a.clickJS(t, `.mark-verified`)
	a.waitJS(t, "verified", `document.querySelector('.safety-state')?.textContent.includes('verified') && !document.querySelector('.safety-state').textContent.includes('not verified')`)
	a.clickJS(t, `.safety-dialog .modal-head .icon-btn`)
	b.clickJS(t, `.safety-dialog .modal-head .icon-btn`)

	// Search says encrypted conversations are not searchable.
	a.clickJS(t, `.search-btn`)
	a.waitJS(t, "search note", `document.querySelector('.search-dialog .search-e2ee-note')?.textContent.includes('Search is unavailable in encrypted conversations')`)
	a.clickJS(t, `.search-dialog .modal-head .icon-btn`)

	// A forged envelope (Bob's account, Bob's device id, garbage bytes).
	asBob := restAs(t, env, "bob")
	junk := base64.StdEncoding.EncodeToString([]byte("PLAINTEXT-LOOKING JUNK that must never show"))
	st, res := asBob("POST", "/conversations/"+conv+"/messages", map[string]any{
		"client_msg_id": "forged-1", "body": "",
		"e2ee": map[string]any{"v": 1, "sender_device": devB, "recipients": []any{map[string]any{
			"device": devA, "type": "msg", "header": base64.StdEncoding.EncodeToString(make([]byte, 40)), "ct": junk}}},
	})
	if st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("forged send: %d %v", st, res)
	}
	a.waitJS(t, "decrypt failure row", `[...document.querySelectorAll('.msg.decrypt-failed .decrypt-error')].some(e => e.textContent.startsWith('could not decrypt: '))`)
	if eval[bool](t, a, `document.body.innerText.includes('PLAINTEXT-LOOKING')`) {
		t.Fatal("the forged bytes were shown")
	}

	// Bob adds a device: Alice is warned and "verified" is cleared.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dh, _ := ecdh.X25519().GenerateKey(rand.Reader)
	spk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	b64s := base64.StdEncoding.EncodeToString
	st, res = asBob("POST", "/e2ee/devices", map[string]any{
		"name": "bob's laptop", "identity_sign": b64s(pub), "identity_dh": b64s(dh.PublicKey().Bytes()),
		"identity_dh_sig": b64s(ed25519.Sign(priv, append([]byte("ParleyIKd1"), dh.PublicKey().Bytes()...))),
		"signed_prekey": map[string]any{"id": 1, "key": b64s(spk.PublicKey().Bytes()),
			"sig": b64s(ed25519.Sign(priv, append([]byte("ParleySPK1\x00\x00\x00\x01"), spk.PublicKey().Bytes()...)))},
		"one_time_prekeys": []any{},
	})
	if st != http.StatusCreated {
		t.Fatalf("second device: %d %v", st, res)
	}
	a.waitJS(t, "key change banner", `document.querySelector('.e2ee-banner')?.textContent.includes('keys changed')`)
	a.clickJS(t, `.safety-btn`)
	a.waitJS(t, "no longer verified", `document.querySelector('.safety-state')?.textContent.includes('not verified')`)

	// Bob removes that device from his settings.
	eval[bool](t, b, `(window.parley.openSettings(), true)`)
	b.waitJS(t, "bob's two devices listed", `document.querySelectorAll('.e2ee-devices .e2ee-device-row').length === 2 && document.querySelector('.e2ee-devices .role-tag')`)
	b.clickJS(t, `.e2ee-devices .remove-device`)
	b.waitJS(t, "one device left", `document.querySelectorAll('.e2ee-devices .e2ee-device-row').length === 1`)
	bobID := eval[string](t, b, `window.parley.store.me.id`)
	if st, res := asBob("GET", "/e2ee/users/"+bobID+"/devices", nil); st != http.StatusOK || len(res["devices"].([]any)) != 1 {
		t.Fatalf("bob's devices after the removal: %d %v", st, res)
	}
	noJSErrors(t, a, b)
}

// TestBrowserE2EEBackupRestore: Alice saves a key backup from the settings;
// the server holds only the sealed blob; in a new browser profile she is
// asked for the passphrase (a wrong one is refused), gets her device back,
// and reads a message Bob sends her afterwards. Once that device is removed
// from the account, the browser makes new keys on its next start.
func TestBrowserE2EEBackupRestore(t *testing.T) {
	env := apitest.Start(t, nil)
	requireE2EEServer(t, env)
	a := newTab(t)
	register(t, a, env.URL, "alice", "Alice Martin")
	dev := e2eeReady(t, a, "alice")
	// Small Argon2id parameters keep the test quick (the default is t=3, 64 MiB).
	eval[bool](t, a, `(() => { const e = window.parley.e2ee; const f = e.setBackup.bind(e); e.setBackup = (p) => f(p, { t: 1, m: 1024, p: 1 }); window.parley.openSettings(); return true })()`)
	a.waitJS(t, "settings", `document.querySelector('.e2ee-settings .backup-save') && !document.querySelector('.backup-save').disabled`)
	a.do(t,
		chromedp.SendKeys(chromedp.CSS(`.backup-pass`), "a long backup passphrase"),
		chromedp.SendKeys(chromedp.CSS(`.backup-pass2`), "a long backup passphrase"))
	a.clickJS(t, `.backup-save`)
	a.waitJS(t, "backup saved", `document.querySelector('.backup-msg')?.textContent === 'Key backup saved on the server.'`)
	asAlice := restAs(t, env, "alice")
	st, blob := asAlice("GET", "/e2ee/backup", nil)
	if st != http.StatusOK {
		t.Fatalf("backup: %d %v", st, blob)
	}
	if blob["kdf"] != "argon2id" && !strings.Contains(fmt.Sprint(blob), "argon2id") {
		t.Fatalf("backup blob %v", blob)
	}

	c := newTab(t)
	c.do(t, chromedp.Navigate(env.URL+"/login"))
	c.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
	c.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	c.waitJS(t, "restore dialog", `document.querySelector('.restore-dialog .restore-pass')`)
	c.do(t, chromedp.SendKeys(chromedp.CSS(`.restore-pass`), "wrong passphrase"))
	c.clickJS(t, `.restore-ok`)
	c.waitJS(t, "wrong passphrase refused", `document.querySelector('.restore-dialog .form-error')?.textContent.includes('wrong passphrase')`)
	eval[bool](t, c, `(() => { document.querySelector('.restore-pass').value = ''; return true })()`)
	c.do(t, chromedp.SendKeys(chromedp.CSS(`.restore-pass`), "a long backup passphrase"))
	c.clickJS(t, `.restore-ok`)
	if got := e2eeReady(t, c, "alice (restored)"); got != dev {
		t.Fatalf("restored device %q, want %q", got, dev)
	}

	b := newTab(t)
	register(t, b, env.URL, "bob", "Bob Chen")
	e2eeReady(t, b, "bob")
	conv := newEncryptedDirect(t, b, "alice")
	send(t, b, "for the restored browser")
	c.waitJS(t, "chat listed", `document.querySelector('.conv-item[data-id=`+js(conv)+`]')`)
	openConv(t, c, conv)
	waitBody(t, c, "for the restored browser")
	noJSErrors(t, b, c)

	// The device is removed from the account (another device's settings):
	// on its next start this browser notices and makes new keys.
	if st, res := asAlice("DELETE", "/e2ee/devices/"+dev, nil); st != http.StatusNoContent {
		t.Fatalf("delete device: %d %v", st, res)
	}
	c.do(t, chromedp.Reload())
	c.waitJS(t, "new keys after the removal", `window.parley?.e2ee?.status === 'ready' && window.parley.e2ee.deviceId && window.parley.e2ee.deviceId !== `+js(dev))
}

// TestBrowserE2EEGroupFile: an encrypted group of three; a message; Carol is
// removed and Alice's next message uses a new sender key that Bob reads; an
// encrypted file (the server's copy is ciphertext; the browsers decrypt it to
// the very bytes).
func TestBrowserE2EEGroupFile(t *testing.T) {
	env := apitest.Start(t, nil)
	requireE2EEServer(t, env)
	a, b, c := newTab(t), newTab(t), newTab(t)
	register(t, a, env.URL, "alice", "Alice Martin")
	register(t, b, env.URL, "bob", "Bob Chen")
	register(t, c, env.URL, "carol", "Carol Diaz")
	e2eeReady(t, a, "alice")
	e2eeReady(t, b, "bob")
	e2eeReady(t, c, "carol")

	clickMenu(t, a, "New group")
	a.waitJS(t, "group dialog", `document.querySelector('dialog h2')?.textContent === 'New group' && document.querySelector('dialog .e2ee-toggle:not([disabled])')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog form input`), "Secret plans"))
	a.clickJS(t, `dialog .e2ee-toggle`)
	for _, u := range []string{"bob", "carol"} {
		a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), u))
		a.waitJS(t, "found "+u, `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@`+u+`'))`)
		a.clickJS(t, `dialog .pick`)
	}
	a.clickJS(t, `dialog button[type=submit]`)
	a.waitJS(t, "encrypted group open", `location.pathname.startsWith('/c/') && document.querySelector('.chat-head .e2ee-lock')`)
	conv := eval[string](t, a, `decodeURIComponent(location.pathname.slice(3))`)
	send(t, a, "group secret")
	for _, tb := range []*tab{b, c} {
		tb.waitJS(t, "group listed", `document.querySelector('.conv-item[data-id=`+js(conv)+`]')`)
		openConv(t, tb, conv)
		waitBody(t, tb, "group secret")
	}

	// Carol is removed: Alice's next message uses a new sender key.
	asAlice := restAs(t, env, "alice")
	carolID := eval[string](t, c, `window.parley.store.me.id`)
	if st, res := asAlice("DELETE", "/conversations/"+conv+"/members/"+carolID, nil); st >= 300 {
		t.Fatalf("remove carol: %d %v", st, res)
	}
	a.waitJS(t, "carol gone", `!window.parley.store.convs.get(`+js(conv)+`).members?.has(`+js(carolID)+`)`)
	send(t, a, "after carol left")
	waitBody(t, b, "after carol left")
	keys := eval[[]string](t, b, `(() => { const w = window.parley.store.win(`+js(conv)+`); return [...w.bySeq.values()].filter(m => m.e2ee?.group && (m.body === 'group secret' || m.body === 'after carol left')).map(m => m.e2ee.group.key_id) })()`)
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("sender key ids before/after the removal: %v (want two different)", keys)
	}
	// An encrypted file.
	const content = "file content that only members can read"
	eval[bool](t, a, `(() => { window.parley.chat.composer.addFiles([new File([`+js(content)+`], 'notes.txt', { type: 'text/plain' })]); return true })()`)
	a.waitJS(t, "encrypted upload done", `document.querySelector('.file-chip[data-state=done]')`)
	send(t, a, "the notes")
	waitBody(t, b, "the notes")
	b.waitJS(t, "encrypted file chip", `document.querySelector('.att-encrypted')`)
	decrypt := func(tb *tab) string {
		return eval[string](t, tb, `(async () => { const w = window.parley.store.win(`+js(conv)+`); const m = [...w.bySeq.values()].find(x => x.body === 'the notes');
			try { return await (await window.parley.e2ee.decryptFile(m.e2ee_files[0])).text() } catch (e) { return 'ERROR ' + e.message } })()`)
	}
	if got := decrypt(a); got != content {
		t.Fatalf("the uploader's browser decrypted %q, want %q", got, content)
	}
	asBob := restAs(t, env, "bob")
	st, page := asBob("GET", "/conversations/"+conv+"/messages?limit=50", nil)
	raw, _ := json.Marshal(page)
	if st != http.StatusOK || bytes.Contains(raw, []byte("notes.txt")) || bytes.Contains(raw, []byte("group secret")) {
		t.Fatalf("stored messages (%d) leak plaintext: %s", st, raw)
	}
	// A member downloads the opaque blob with the URL from the inner
	// plaintext: the send bound it through attachment_ids (docs/e2ee.md).
	if got := decrypt(b); got != content {
		t.Fatalf("the member's browser decrypted %q, want %q", got, content)
	}

	noJSErrors(t, a, b)
}
