package app_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/blob/local"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

type mediaEnv struct {
	app   *app.App
	blobs *local.Store
	clock *acctClock
}

func newMediaEnv(t testing.TB, limits app.MediaLimits) *mediaEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := local.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = store.Close() })
	// The clock starts at the real time: blob files carry real mtimes.
	e := &mediaEnv{blobs: blobs, clock: &acctClock{t: time.Now()}}
	e.app = app.New(app.Options{Store: store, Bus: bus, Now: e.clock.Now,
		Limits:    app.Limits{MessagesPerUserSecond: 1e6},
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()},
		Media:     app.MediaOptions{Blobs: blobs, Limits: limits}})
	return e
}

func (e *mediaEnv) user(t testing.TB, name string) parley.Actor {
	t.Helper()
	u, token, err := e.app.Register(context.Background(), app.RegisterInput{Username: name, Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.app.Authenticate(context.Background(), token)
	if err != nil || a.UserID != u.ID {
		t.Fatal(a, err)
	}
	return a
}

func (e *mediaEnv) blobCount(t testing.TB) int {
	n := 0
	e.blobs.List(context.Background(), func(parley.BlobInfo) error { n++; return nil })
	return n
}

func (e *mediaEnv) upload(t testing.TB, actor parley.Actor, name string, data []byte) parley.Attachment {
	t.Helper()
	a, err := e.app.UploadAttachment(context.Background(), actor, app.UploadInput{Name: name, Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSweepRemovesUnreferencedFilesAfterGrace(t *testing.T) {
	e := newMediaEnv(t, app.MediaLimits{Grace: time.Hour, UploadTTL: 30 * time.Minute})
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	g, _, err := e.app.CreateConversation(ctx, alice, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(client string, ids ...string) parley.Message {
		m, _, err := e.app.SendMessage(ctx, alice, app.SendMessageInput{ConversationID: g.ID, ClientMsgID: client, AttachmentIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	unsent := e.upload(t, alice, "unsent.txt", []byte("never sent"))
	kept := e.upload(t, alice, "kept.txt", []byte("kept content"))
	send("k", kept.ID)
	gone := e.upload(t, alice, "gone.txt", []byte("deleted content"))
	m := send("d", gone.ID)
	if _, err := e.app.DeleteMessage(ctx, alice, g.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	dupe := e.upload(t, alice, "dupe.txt", []byte("kept content")) // same blob as kept, never sent
	up, err := e.app.CreateUpload(ctx, alice, "part.bin", 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.UploadPart(ctx, alice, up.ID, 0, strings.NewReader(strings.Repeat("p", 50)), 50); err != nil {
		t.Fatal(err)
	}
	if n := e.blobCount(t); n != 4 { // unsent, kept(=dupe), gone, part
		t.Fatalf("%d blobs before the sweep", n)
	}

	// Within the grace period nothing goes (the upload has not expired either).
	res, err := e.app.SweepMedia(ctx)
	if err != nil || res != (app.SweepResult{}) {
		t.Fatalf("early sweep %+v %v", res, err)
	}
	if _, err := e.app.Attachment(ctx, alice, unsent.ID); err != nil {
		t.Fatalf("unsent file swept early: %v", err)
	}

	e.clock.Add(2 * time.Hour)
	res, err = e.app.SweepMedia(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Records: unsent, gone (deleted), dupe (unsent). Upload: 1. Blobs:
	// unsent's, gone's, the part; kept's blob stays (still referenced).
	if res.Records != 3 || res.Uploads != 1 || res.Blobs != 3 {
		t.Fatalf("sweep %+v", res)
	}
	if n := e.blobCount(t); n != 1 {
		t.Fatalf("%d blobs after the sweep", n)
	}
	f, err := e.app.OpenAttachment(ctx, bob, kept.ID, app.VariantOriginal)
	if err != nil {
		t.Fatalf("kept file: %v", err)
	}
	b, _ := io.ReadAll(f.Content)
	f.Content.Close()
	if string(b) != "kept content" {
		t.Fatalf("kept file reads %q", b)
	}
	for _, id := range []string{unsent.ID, dupe.ID} {
		if _, err := e.app.Attachment(ctx, alice, id); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("swept file %s: %v", id, err)
		}
	}
	if _, err := e.app.GetUpload(ctx, alice, up.ID); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("expired upload: %v", err)
	}
	// A second sweep finds nothing more.
	if res, err := e.app.SweepMedia(ctx); err != nil || res != (app.SweepResult{}) {
		t.Fatalf("second sweep %+v %v", res, err)
	}
}

func TestPhotoOrientationIsKeptAndApplied(t *testing.T) {
	e := newMediaEnv(t, app.MediaLimits{})
	alice := e.user(t, "alice")
	m := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range m.Pix {
		m.Pix[i] = 0xff
	}
	m.SetRGBA(0, 0, color.RGBA{0, 0, 0, 0xff})
	var b bytes.Buffer
	jpeg.Encode(&b, m, nil)
	raw := b.Bytes()
	// APP1 EXIF (big-endian) with Orientation 6 (rotate 90° clockwise).
	exif := []byte("\xFF\xE1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	photo := append(append(append([]byte{}, raw[:2]...), exif...), raw[2:]...)
	a := e.upload(t, alice, "p.jpg", photo)
	if a.Width != 480 || a.Height != 640 || a.Thumbnail == nil || a.Thumbnail.Width != 240 || a.Thumbnail.Height != 320 {
		t.Fatalf("oriented attachment %+v %+v", a, a.Thumbnail)
	}
}

func TestImageDecodeIsBoundedByPixels(t *testing.T) {
	e := newMediaEnv(t, app.MediaLimits{MaxPixels: 100 * 100})
	alice := e.user(t, "alice")
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 101, 100)), nil)
	_, err := e.app.UploadAttachment(context.Background(), alice, app.UploadInput{Name: "x.jpg", Body: &b, Size: -1})
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeTooLarge || e.Field != "file" {
		t.Fatalf("got %v", err)
	}
}

func FuzzSanitizeFileName(f *testing.F) {
	for _, s := range []string{"a.txt", "../../etc/passwd", `C:\x\y.doc`, "\u202Eexe.txt", "..", strings.Repeat("é", 300) + ".png", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := app.SanitizeFileName(in)
		if out == "" || len(out) > app.MaxFileNameBytes || !utf8.ValidString(out) ||
			strings.ContainsAny(out, "/\\\x00\n\r") || strings.HasPrefix(out, ".") || out != app.SanitizeFileName(out) {
			t.Fatalf("SanitizeFileName(%q) = %q", in, out)
		}
	})
}
