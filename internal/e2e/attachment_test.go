package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// testImage is a w×h gradient.
func testImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	return m
}

const gpsMarker = "SECRET-PLACE-48.8584N"

// exifGPS is an APP1 EXIF segment with a GPS IFD: latitude 48°51'30" N and
// a processing-method string carrying gpsMarker.
func exifGPS() []byte {
	be := binary.BigEndian
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a")
	binary.Write(&t, be, uint32(8))
	// IFD0: one entry, GPSInfo → offset 26.
	binary.Write(&t, be, uint16(1))
	binary.Write(&t, be, []uint16{0x8825, 4})
	binary.Write(&t, be, []uint32{1, 26})
	binary.Write(&t, be, uint32(0))
	// GPS IFD at 26: LatitudeRef, Latitude (at 80), ProcessingMethod (at 104).
	binary.Write(&t, be, uint16(3))
	binary.Write(&t, be, []uint16{0x0001, 2})
	binary.Write(&t, be, uint32(2))
	t.WriteString("N\x00\x00\x00")
	binary.Write(&t, be, []uint16{0x0002, 5})
	binary.Write(&t, be, []uint32{3, 80})
	method := "ASCII\x00\x00\x00" + gpsMarker
	binary.Write(&t, be, []uint16{0x001b, 7})
	binary.Write(&t, be, []uint32{uint32(len(method)), 104})
	binary.Write(&t, be, uint32(0))
	for t.Len() < 80 {
		t.WriteByte(0)
	}
	binary.Write(&t, be, []uint32{48, 1, 51, 1, 30, 1})
	for t.Len() < 104 {
		t.WriteByte(0)
	}
	t.WriteString(method)
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// photoJPEG is a w×h JPEG with GPS EXIF, an XMP packet and a comment.
func photoJPEG(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), []byte("<x:xmpmeta><exif:GPSLatitude>"+gpsMarker+"</exif:GPSLatitude></x:xmpmeta>")...)
	xseg := append([]byte{0xFF, 0xE1, byte((len(xmp) + 2) >> 8), byte(len(xmp) + 2)}, xmp...)
	com := []byte{0xFF, 0xFE, 0, byte(len(gpsMarker) + 2)}
	com = append(com, gpsMarker...)
	out := append([]byte{}, raw[:2]...)
	out = append(out, exifGPS()...)
	out = append(out, xseg...)
	out = append(out, com...)
	out = append(out, raw[2:]...)
	return append(out, []byte("trailing "+gpsMarker)...)
}

func pngBytes(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(t testing.TB, d *client.Download) []byte {
	t.Helper()
	defer d.Body.Close()
	b, err := io.ReadAll(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func upload(t testing.TB, c *client.Client, name string, data []byte) parley.Attachment {
	t.Helper()
	a, err := c.Upload(context.Background(), name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return a
}

func TestAttachmentSendFetchAsMemberExifGone(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	anon := env.Client()
	g := newGroup(t, alice, "photos", b.ID)

	rt, err := bob.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if ev := <-rt.Events(); ev.Type != "connected" {
		t.Fatalf("first event %q", ev.Type)
	}

	photo := photoJPEG(t, 1200, 800)
	att := upload(t, alice, "../../holiday photo.jpg", photo)
	if att.MIME != "image/jpeg" || att.Width != 1200 || att.Height != 800 || att.Name != "holiday photo.jpg" {
		t.Fatalf("attachment %+v", att)
	}
	if th := att.Thumbnail; th == nil || th.Width != 320 || th.Height != 213 || th.MIME != "image/jpeg" {
		t.Fatalf("thumbnail %+v", att.Thumbnail)
	}
	if att.Size >= int64(len(photo)) {
		t.Fatalf("stored %d bytes of %d: metadata not removed", att.Size, len(photo))
	}

	// Send with no caption; history and the message carry the metadata.
	m, created, err := alice.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: []string{att.ID}})
	if err != nil || !created || len(m.Attachments) != 1 || m.Attachments[0].ID != att.ID || m.Body != "" {
		t.Fatalf("send: %+v %v %v", m, created, err)
	}
	// The WebSocket event carries the attachments too.
	for ev := range rt.Events() {
		if ev.Type == "message" && ev.Message != nil && ev.Message.Seq == m.Seq {
			if len(ev.Message.Attachments) != 1 || ev.Message.Attachments[0].ID != att.ID ||
				ev.Message.Attachments[0].Thumbnail == nil {
				t.Fatalf("event %+v", ev.Message)
			}
			break
		}
	}
	hist, err := bob.History(ctx, g.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if len(last.Attachments) != 1 || last.Attachments[0] != m.Attachments[0] && last.Attachments[0].Thumbnail == nil {
		t.Fatalf("history %+v", last)
	}

	// Bob, a member, fetches it: inline image, nosniff, sandbox CSP, no EXIF.
	d, err := bob.Fetch(ctx, att.ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d)
	if d.ContentType != "image/jpeg" || !strings.HasPrefix(d.Disposition, "inline") ||
		d.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(d.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("headers %+v", d.Header)
	}
	if bytes.Contains(got, []byte("Exif")) || bytes.Contains(got, []byte(gpsMarker)) || bytes.Contains(got, []byte("xap/1.0")) {
		t.Fatal("EXIF/GPS, XMP or the comment survived")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(got))
	if err != nil || cfg.Width != 1200 || cfg.Height != 800 {
		t.Fatalf("served image %+v %v", cfg, err)
	}
	if int64(len(got)) != att.Size {
		t.Fatalf("served %d bytes, attachment says %d", len(got), att.Size)
	}

	// Range requests.
	d, err = bob.Fetch(ctx, att.ID, client.FetchOptions{Range: "bytes=100-199"})
	if err != nil {
		t.Fatal(err)
	}
	if part := readAll(t, d); d.Status != 206 || !bytes.Equal(part, got[100:200]) {
		t.Fatalf("range: status %d, %d bytes", d.Status, len(part))
	}

	// The thumbnail.
	d, err = bob.Fetch(ctx, att.ID, client.FetchOptions{Thumbnail: true})
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := jpeg.DecodeConfig(bytes.NewReader(readAll(t, d)))
	if err != nil || thumb.Width != 320 || thumb.Height != 213 {
		t.Fatalf("thumbnail %+v %v", thumb, err)
	}

	// Carol is not a member: the file does not exist for her.
	_, err = carol.Fetch(ctx, att.ID, client.FetchOptions{})
	wantCode(t, err, parley.CodeNotFound)
	_, err = carol.Attachment(ctx, att.ID)
	wantCode(t, err, parley.CodeNotFound)
	_, _, err = carol.Link(ctx, att.ID, false)
	wantCode(t, err, parley.CodeNotFound)
	_, err = anon.Fetch(ctx, att.ID, client.FetchOptions{})
	wantCode(t, err, parley.CodeUnauthenticated)

	// A signed link works without a token; a tampered one does not.
	link, exp, err := bob.Link(ctx, att.ID, true)
	if err != nil || exp.IsZero() {
		t.Fatal(err)
	}
	d, err = anon.FetchLink(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, d); len(b) == 0 || d.ContentType != "image/jpeg" {
		t.Fatalf("signed fetch %d bytes %s", len(b), d.ContentType)
	}
	_, err = anon.FetchLink(ctx, strings.Replace(link, "sig=", "sig=0", 1))
	wantCode(t, err, parley.CodeUnauthenticated)
	other := strings.Replace(link, att.ID, parley.NewID(), 1)
	_, err = anon.FetchLink(ctx, other)
	wantCode(t, err, parley.CodeUnauthenticated)

	// Deleting the message hides the file from everyone, links included.
	if _, err := alice.DeleteMessage(ctx, g.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{alice, bob} {
		_, err = c.Fetch(ctx, att.ID, client.FetchOptions{})
		wantCode(t, err, parley.CodeNotFound)
	}
	_, err = anon.FetchLink(ctx, link)
	wantCode(t, err, parley.CodeNotFound)
	if msg, _ := bob.Message(ctx, g.ID, m.Seq); len(msg.Attachments) != 0 || !msg.Deleted {
		t.Fatalf("tombstone %+v", msg)
	}
}

func TestAttachmentRefusals(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) {
		c.MaxFileBytes = 1 << 20
		c.UserQuotaBytes = 3 << 19 // 1.5 MiB
		c.FileTypesDeny = []string{"application/pdf"}
	})
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := newGroup(t, alice, "g", b.ID)

	// Over the per-file cap (declared and chunked): too_large, field file.
	big := bytes.Repeat([]byte("x"), 2<<20)
	_, err := alice.Upload(ctx, "big.txt", bytes.NewReader(big), int64(len(big)))
	wantField(t, err, parley.CodeTooLarge, "file")
	_, err = alice.Upload(ctx, "big.txt", bytes.NewReader(big), -1)
	wantField(t, err, parley.CodeTooLarge, "file")

	// Quota: 1 MiB fits, the next 1 MiB does not.
	mib := bytes.Repeat([]byte("y"), 1<<20)
	first := upload(t, alice, "one.txt", mib)
	_, err = alice.Upload(ctx, "two.txt", bytes.NewReader(mib[1:]), int64(len(mib)-1))
	wantField(t, err, parley.CodeTooLarge, "quota")
	_, err = alice.CreateUpload(ctx, "two.txt", 1<<20)
	wantField(t, err, parley.CodeTooLarge, "quota")
	if err := alice.DeleteAttachment(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	upload(t, alice, "two.txt", mib[1:]) // room again

	// Denied and lying types.
	_, err = bob.Upload(ctx, "report.pdf", strings.NewReader("%PDF-1.7\n..."), -1)
	wantCode(t, err, parley.CodeUnsupportedType)
	html := upload(t, bob, "cat.png", []byte("<!DOCTYPE html><script>alert(1)</script>"))
	if html.MIME != "text/html; charset=utf-8" || html.Width != 0 || html.Thumbnail != nil {
		t.Fatalf("lying type %+v", html)
	}
	d, err := bob.Fetch(ctx, html.ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, d)
	if !strings.HasPrefix(d.Disposition, "attachment") || d.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(d.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("HTML served %q %v", d.Disposition, d.Header)
	}
	svg := upload(t, bob, "logo.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))
	d, err = bob.Fetch(ctx, svg.ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, d)
	if !strings.HasPrefix(d.Disposition, "attachment") || strings.Contains(d.ContentType, "svg") {
		t.Fatalf("SVG served as %q, %q", d.ContentType, d.Disposition)
	}

	// A truncated image and a PNG that is only a header.
	photo := pngBytes(t, testImage(300, 200))
	_, err = bob.Upload(ctx, "cut.png", bytes.NewReader(photo[:len(photo)/2]), -1)
	wantCode(t, err, parley.CodeUnsupportedType)
	// Decompression bomb: a valid header announcing 100000×100000 pixels.
	bomb := pngBomb(100000, 100000)
	_, err = bob.Upload(ctx, "bomb.png", bytes.NewReader(bomb), int64(len(bomb)))
	wantField(t, err, parley.CodeTooLarge, "file")

	// Names: paths, control and bidi characters neutralised.
	for in, want := range map[string]string{
		`..\..\boot.ini`:        "boot.ini",
		"/etc/passwd":           "passwd",
		"evil\u202Egnp.exe":     "evilgnp.exe",
		"a\x00b\nc.txt":         "abc.txt",
		"..":                    "file",
		".hidden":               "hidden",
		"C:\\x\\con:stream.txt": "con_stream.txt",
	} {
		a := upload(t, bob, in, []byte("hello"))
		if a.Name != want {
			t.Errorf("name %q stored as %q, want %q", in, a.Name, want)
		}
	}

	// Sending: someone else's file, twice, bad ids, too many.
	mine := upload(t, bob, "note.txt", []byte("note"))
	_, _, err = alice.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: []string{mine.ID}})
	wantField(t, err, parley.CodeInvalid, "attachment_ids")
	if _, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: "note", AttachmentIDs: []string{mine.ID}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = bob.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: []string{mine.ID}})
	wantField(t, err, parley.CodeInvalid, "attachment_ids")
	_, _, err = bob.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: []string{"../x"}})
	wantField(t, err, parley.CodeInvalid, "attachment_ids")
	many := make([]string, 11)
	for i := range many {
		many[i] = parley.NewID()
	}
	_, _, err = bob.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: many})
	wantField(t, err, parley.CodeTooLarge, "attachment_ids")
	// No body and no files is still refused.
	_, _, err = bob.Send(ctx, g.ID, client.SendRequest{})
	wantField(t, err, parley.CodeInvalid, "body")
	// Bad ids in paths.
	_, err = bob.Attachment(ctx, "nope")
	wantCode(t, err, parley.CodeInvalid)
	_, err = bob.Fetch(ctx, parley.NewID(), client.FetchOptions{})
	wantCode(t, err, parley.CodeNotFound)
	// A file without a thumbnail.
	_, err = bob.Fetch(ctx, mine.ID, client.FetchOptions{Thumbnail: true})
	wantCode(t, err, parley.CodeNotFound)
}

// pngBomb is a PNG signature and IHDR claiming w×h pixels (and nothing else).
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	crc := crc32IEEE(append([]byte("IHDR"), ihdr...))
	binary.Write(&b, binary.BigEndian, crc)
	// An IDAT and IEND so the structure is complete.
	binary.Write(&b, binary.BigEndian, uint32(0))
	b.WriteString("IDAT")
	binary.Write(&b, binary.BigEndian, crc32IEEE([]byte("IDAT")))
	binary.Write(&b, binary.BigEndian, uint32(0))
	b.WriteString("IEND")
	binary.Write(&b, binary.BigEndian, crc32IEEE([]byte("IEND")))
	return b.Bytes()
}

func crc32IEEE(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for k := 0; k < 8; k++ {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func wantField(t *testing.T, err error, code parley.Code, field string) {
	t.Helper()
	if e := parley.AsError(err); e == nil || e.Code != code || e.Field != field {
		t.Fatalf("got %v (field %q), want %s field %q", err, fieldOf(err), code, field)
	}
}

func TestResumableUploadAcrossCutConnection(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i * 7 >> 3)
	}
	const chunk = 1 << 20
	up, err := alice.CreateUpload(ctx, "archive.bin", int64(len(data)))
	if err != nil || up.Received != 0 || up.Size != int64(len(data)) {
		t.Fatalf("create %+v %v", up, err)
	}
	if _, err := alice.PutPart(ctx, up.ID, 0, bytes.NewReader(data[:chunk]), chunk); err != nil {
		t.Fatal(err)
	}
	// The connection drops in the middle of the second part.
	cutPart(t, env.URL, alice.Token(), up.ID, chunk, data[chunk:2*chunk], 300_000)
	st, err := alice.UploadStatus(ctx, up.ID)
	if err != nil || st.Received != chunk {
		t.Fatalf("after the cut: %+v %v", st, err)
	}
	// A part at the wrong offset is refused, naming where to continue.
	_, err = alice.PutPart(ctx, up.ID, 0, bytes.NewReader(data[:10]), 10)
	wantField(t, err, parley.CodeConflict, "offset")
	_, err = alice.CompleteUpload(ctx, up.ID)
	wantCode(t, err, parley.CodeConflict)
	// Someone else cannot see or touch it.
	bob, _ := env.NewUser(t, "bob")
	_, err = bob.UploadStatus(ctx, up.ID)
	wantCode(t, err, parley.CodeNotFound)
	_, err = bob.PutPart(ctx, up.ID, chunk, bytes.NewReader(data[:10]), 10)
	wantCode(t, err, parley.CodeNotFound)

	// The client resumes from the server's offset and completes.
	att, err := alice.ResumableUpload(ctx, up.ID, "", bytes.NewReader(data), int64(len(data)), chunk, 3)
	if err != nil || att.Size != int64(len(data)) || att.Name != "archive.bin" || att.MIME != "application/octet-stream" {
		t.Fatalf("complete %+v %v", att, err)
	}
	d, err := alice.Fetch(ctx, att.ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, d); !bytes.Equal(got, data) {
		t.Fatalf("assembled file differs (%d bytes)", len(got))
	}
	if !strings.HasPrefix(d.Disposition, "attachment") {
		t.Fatalf("disposition %q", d.Disposition)
	}
	_, err = alice.UploadStatus(ctx, up.ID)
	wantCode(t, err, parley.CodeNotFound)

	// Bad inputs.
	_, err = alice.CreateUpload(ctx, "x", 0)
	wantField(t, err, parley.CodeInvalid, "size")
	_, err = alice.CreateUpload(ctx, "x", 1<<40)
	wantField(t, err, parley.CodeTooLarge, "size")
	small, _ := alice.CreateUpload(ctx, "s", 10)
	_, err = alice.PutPart(ctx, small.ID, 0, bytes.NewReader(data[:11]), 11)
	wantField(t, err, parley.CodeInvalid, "offset")
	if err := alice.CancelUpload(ctx, small.ID); err != nil {
		t.Fatal(err)
	}
	_, err = alice.UploadStatus(ctx, small.ID)
	wantCode(t, err, parley.CodeNotFound)
}

// cutPart sends a PUT of part at offset announcing len(part) bytes, writes
// only the first n, and closes the connection.
func cutPart(t *testing.T, base, token, id string, offset int, part []byte, n int) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PUT /api/v1/uploads/%s?offset=%d HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", id, offset, u.Host, token, len(part))
	w.Write(part[:n])
	w.Flush()
	conn.Close()
	// Wait until the server has given up on the part.
	c := client.New(base, client.WithToken(token))
	for i := 0; i < 200; i++ {
		if st, err := c.UploadStatus(context.Background(), id); err == nil && st.Received == int64(offset) {
			return
		}
	}
}

func TestAvatars(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")

	_, err := bob.FetchUserAvatar(ctx, a.ID)
	wantCode(t, err, parley.CodeNotFound)
	pic := pngBytes(t, testImage(600, 400))
	url1, av, err := alice.SetAvatar(ctx, bytes.NewReader(pic), int64(len(pic)))
	if err != nil || av.Width != 256 || av.Height != 256 || !strings.Contains(url1, a.ID) {
		t.Fatalf("set avatar %q %+v %v", url1, av, err)
	}
	d, err := bob.FetchUserAvatar(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(readAll(t, d)))
	if err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("avatar %+v %v", cfg, err)
	}
	_, _, err = alice.SetAvatar(ctx, strings.NewReader("not an image"), -1)
	wantCode(t, err, parley.CodeUnsupportedType)
	avs, err := carol.UserAvatars(ctx, []string{a.ID, b.ID})
	if err != nil || len(avs) != 1 || avs[a.ID] != url1 {
		t.Fatalf("avatar lookup %v %v", avs, err)
	}
	_, err = carol.UserAvatars(ctx, []string{"../x"})
	wantField(t, err, parley.CodeInvalid, "user_ids")

	g := newGroup(t, alice, "team", b.ID)
	photo := photoJPEG(t, 640, 480)
	_, err = bob.SetConversationAvatar(ctx, g.ID, bytes.NewReader(photo), int64(len(photo)))
	wantCode(t, err, parley.CodeForbidden)
	_, err = carol.SetConversationAvatar(ctx, g.ID, bytes.NewReader(photo), int64(len(photo)))
	wantCode(t, err, parley.CodeNotFound)
	c, err := alice.SetConversationAvatar(ctx, g.ID, bytes.NewReader(photo), int64(len(photo)))
	if err != nil || !strings.HasPrefix(c.AvatarURL, "/api/v1/conversations/"+g.ID+"/avatar?v=") {
		t.Fatalf("conversation avatar %+v %v", c, err)
	}
	d, err = bob.FetchConversationAvatar(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d)
	if bytes.Contains(got, []byte(gpsMarker)) {
		t.Fatal("avatar keeps the photo's metadata")
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(got)); err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("conversation avatar %+v %v", cfg, err)
	}
	_, err = carol.FetchConversationAvatar(ctx, g.ID)
	wantCode(t, err, parley.CodeNotFound)
}
