package xmpp_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url) // #nosec G107 -- the test server's own URL
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestSlixmppHTTPUpload: slixmpp's own XEP-0363 code finds the upload
// service, asks for a slot and PUTs the file; the message carrying the GET
// URL arrives in Parley as a file; a file sent from Parley reaches XMPP as
// a GET URL with an out-of-band element; a link to someone else's file
// stays a link.
func TestSlixmppHTTPUpload(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	_, alice := env.NewUser(t, "alice")
	bobc, bob := env.NewUser(t, "bob")
	a := startPy(t, addr, "alice", apitest.Password, "SCRAM-SHA-256")
	a.wait("session_start", nil)

	img := testPNG(t)
	a.do(map[string]any{"op": "upload", "name": "cat.png", "type": "image/png", "data": base64.StdEncoding.EncodeToString(img)})
	if svc := a.wait("upload_service", nil); svc["jid"] != "upload."+domain || svc["max"] != float64(env.Config.MaxFileBytes) {
		t.Fatalf("upload service %v", svc)
	}
	url := a.wait("uploaded", nil)["url"].(string)
	if !strings.HasPrefix(url, env.URL+"/api/v1/files/") || !strings.HasSuffix(url, "/cat.png") {
		t.Fatalf("GET URL %q", url)
	}
	status, typ, body := get(t, url)
	if status != http.StatusOK || typ != "image/png" || len(body) == 0 {
		t.Fatalf("GET %s: %d %s %d bytes", url, status, typ, len(body))
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 40 || cfg.Height != 30 {
		t.Fatalf("served image %+v %v", cfg, err)
	}

	// The message with the URL (as Conversations sends it: body = URL, and
	// oob) is a Parley message with the file attached and no text.
	a.do(map[string]any{"op": "send", "to": "bob@" + domain, "body": url, "oob": url, "id": "up-1"})
	a.wait("sent", nil)
	conv, _, err := bobc.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{alice.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var m parley.Message
	for i := 0; i < 200 && m.ID == ""; i++ {
		hist, err := bobc.History(ctx, conv.ID, client.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hist {
			if h.ClientMsgID == "up-1" {
				m = h
			}
		}
		if m.ID == "" {
			a.do(map[string]any{"op": "ping"})
			a.wait("ok", field("op", "ping"))
		}
	}
	if m.ID == "" || m.Body != "" || len(m.Attachments) != 1 || m.Attachments[0].Name != "cat.png" ||
		m.Attachments[0].MIME != "image/png" || m.Attachments[0].Width != 40 {
		t.Fatalf("bob's message %+v", m)
	}
	dl, err := bobc.Fetch(ctx, m.Attachments[0].ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dl.Body)
	_ = dl.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatal("bob's download differs from the GET URL's")
	}

	// A file sent from Parley arrives at alice as text + GET URL + oob.
	att, err := bobc.Upload(ctx, "notes.txt", strings.NewReader("some notes"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bobc.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: "up-2", Body: "see", AttachmentIDs: []string{att.ID}}); err != nil {
		t.Fatal(err)
	}
	got2 := a.wait("message", field("id", "up-2"))
	text, _ := got2["body"].(string)
	oob, _ := got2["oob"].(string)
	lines := strings.Split(text, "\n")
	if len(lines) != 2 || lines[0] != "see" || lines[1] != oob || !strings.HasSuffix(oob, "/notes.txt") {
		t.Fatalf("alice got %v", got2)
	}
	if status, _, b := get(t, oob); status != http.StatusOK || string(b) != "some notes" {
		t.Fatalf("GET %s: %d %q", oob, status, b)
	}
	// A tampered capability is refused.
	if status, _, _ := get(t, strings.Replace(oob, "/notes.txt", "x/notes.txt", 1)); status != http.StatusUnauthorized {
		t.Fatalf("tampered link: %d", status)
	}

	// alice forwards bob's link: not her file, so it stays text.
	a.do(map[string]any{"op": "send", "to": "bob@" + domain, "body": "look " + oob, "id": "up-3"})
	a.wait("sent", nil)
	var fwd parley.Message
	for i := 0; i < 200 && fwd.ID == ""; i++ {
		hist, _ := bobc.History(ctx, conv.ID, client.HistoryQuery{})
		for _, h := range hist {
			if h.ClientMsgID == "up-3" {
				fwd = h
			}
		}
		if fwd.ID == "" {
			a.do(map[string]any{"op": "ping"})
			a.wait("ok", field("op", "ping"))
		}
	}
	if fwd.Body != "look "+oob || len(fwd.Attachments) != 0 {
		t.Fatalf("forwarded link %+v", fwd)
	}
	_ = bob
}

// TestUploadSlotHTTP: the PUT side's bad input over HTTP.
func TestUploadSlotHTTP(t *testing.T) {
	env, _ := startXMPP(t, nil)
	put := func(path string, body io.Reader, n int64) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, env.URL+path, body)
		req.ContentLength = n
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if c := put("/api/v1/files/slots/forged.token/a.txt", strings.NewReader("abc"), 3); c != http.StatusUnauthorized {
		t.Fatalf("forged slot: %d", c)
	}
	if c := put("/api/v1/files/slots/forged.token/a.txt", io.MultiReader(strings.NewReader("abc")), -1); c != http.StatusBadRequest {
		t.Fatalf("no Content-Length: %d", c)
	}
	if status, _, _ := get(t, env.URL+"/api/v1/files/"+parley.NewID()+"/"+strings.Repeat("0", 64)+"/x.txt"); status != http.StatusUnauthorized {
		t.Fatalf("unknown file with a made-up capability: %d", status)
	}
}
