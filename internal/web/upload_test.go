package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestBrowserResumableUpload: with the threshold and part size lowered, a
// 200 KiB file attached in the composer goes through POST /uploads, PUT
// parts and complete; one part's answer is lost (the server stored it), so
// the client asks GET /uploads/{id} and continues from the server's offset;
// the chip ends "Uploaded", and the file Bob receives is byte for byte the
// one picked. A second large file cancelled at once is deleted on the
// server (DELETE /uploads/{id}) and not sent.
func TestBrowserResumableUpload(t *testing.T) {
	env := apitest.Start(t, nil)
	if r, err := http.Post(env.URL+"/api/v1/uploads", "application/json", nil); err != nil || r.StatusCode == http.StatusNotFound && r.Header.Get("Content-Type") == "" {
		t.Skip("resumable uploads are not in this build")
	}
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a.do(t, chromedp.Navigate(env.URL+"/login"))
	a.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
	eval[bool](t, a, `(localStorage.setItem('parley.token', `+js(alice.Token())+`), true)`)
	a.do(t, chromedp.Navigate(env.URL+"/c/"+dm.ID))
	a.waitJS(t, "open", `document.documentElement.dataset.conn === 'online' && document.querySelector('.composer textarea')`)

	// Lower the limits; log every upload request; lose the answer to the
	// second part once (it reaches the server, the client sees a network error).
	eval[bool](t, a, `(() => { const api = window.parley.api; api.resumableThreshold = 64 << 10; api.partSize = 48 << 10; api.retryBase = 20;
		window.__log = []; let dropped = false;
		const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
		XMLHttpRequest.prototype.open = function (m, u, ...r) { this.__req = m + ' ' + u.replace(/^.*\/api\/v1/, ''); return open.call(this, m, u, ...r) };
		XMLHttpRequest.prototype.send = function (b) {
			if (this.__req.includes('/uploads/')) { window.__log.push(this.__req);
				if (!dropped && this.__req.endsWith('offset=49152')) { dropped = true; this.onload = () => this.onerror() } }
			return send.call(this, b) };
		const f = api.fetch; api.fetch = (u, o) => { if (String(u).includes('/uploads')) window.__log.push((o?.method || 'GET') + ' ' + String(u).replace(/^.*\/api\/v1/, '')); return f(u, o) };
		return true })()`)
	const size = 200 << 10
	eval[bool](t, a, `(() => { const b = new Uint8Array(`+strconv.Itoa(size)+`); for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 9)) & 255;
		window.parley.chat.composer.addFiles([new File([b], 'big.bin', { type: 'application/octet-stream' })]); return true })()`)
	a.waitJS(t, "uploaded", `document.querySelector('.file-chip[data-state=done]')`)
	log := eval[[]string](t, a, `window.__log`)
	var puts, gets, completes int
	for _, l := range log {
		switch {
		case strings.HasPrefix(l, "PUT /uploads/"):
			puts++
		case strings.HasPrefix(l, "GET /uploads/"):
			gets++
		case strings.HasSuffix(l, "/complete"):
			completes++
		}
	}
	// 200 KiB in 48 KiB parts is 5 parts; the lost answer costs a GET, not a resend.
	if puts != 5 || gets != 1 || completes != 1 || log[0] != "POST /uploads" {
		t.Errorf("requests %q: want POST, 5 PUTs, 1 GET after the lost answer, complete", log)
	}
	send(t, a, "the big file")

	// The cancelled one: created, then deleted, never sent.
	eval[bool](t, a, `(() => { window.__log = []; window.parley.chat.composer.addFiles([new File([new Uint8Array(100 << 10)], 'cancel-me.bin')]);
		document.querySelector('button[aria-label="Cancel upload of cancel-me.bin"]').click(); return true })()`)
	a.waitJS(t, "deleted", `window.__log.some(l => l.startsWith('DELETE /uploads/'))`)

	var got []parley.Attachment
	for range 200 {
		ms, err := bob.History(ctx, dm.ID, client.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, m := range ms {
			got = append(got, m.Attachments...)
		}
		if len(got) > 0 {
			break
		}
		a.waitJS(t, "tick", `new Promise(r => setTimeout(() => r(true), 25))`)
	}
	if len(got) != 1 || got[0].Size != size || got[0].Name != "big.bin" {
		t.Fatalf("attachments %+v, want big.bin of %d bytes only", got, size)
	}
	d, err := bob.Fetch(ctx, got[0].ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(d.Body)
	d.Body.Close()
	want := make([]byte, size)
	for i := range want {
		want[i] = byte((i*7 + (i >> 9)) & 255)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("bob received %d bytes that differ from the file picked", len(body))
	}
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Errorf("js errors: %v", errs)
	}
}
