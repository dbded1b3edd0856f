package e2e_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
)

// Two nodes on one PostgreSQL schema and one S3 bucket (an in-process
// fake) with the same blob key: a file uploaded through one node — in one
// request or resumably, part by part across nodes — is served by the other,
// and a signed link made on one node works on the other.
func TestAttachmentsAcrossNodesOnS3(t *testing.T) {
	db := pgtest.Schema(t)
	backend := s3mem.New()
	if err := backend.CreateBucket("parley"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(s3srv.Close)
	conf := func(c *server.Config) {
		c.DB = db
		c.S3Endpoint, c.S3Bucket, c.S3Region = s3srv.URL, "parley", "us-east-1"
		c.S3AccessKey, c.S3SecretKey = "test", "test"
		c.BlobKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	}
	n1, n2 := apitest.Start(t, conf), apitest.Start(t, conf)
	ctx := context.Background()
	alice, _ := n1.NewUser(t, "alice")
	bob1, b := n1.NewUser(t, "bob")
	bob := n2.Client(client.WithToken(bob1.Token()))
	g := newGroup(t, alice, "g", b.ID)

	photo := photoJPEG(t, 800, 600)
	att := upload(t, alice, "p.jpg", photo)
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: []string{att.ID}}); err != nil {
		t.Fatal(err)
	}
	d, err := bob.Fetch(ctx, att.ID, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d)
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(got)); err != nil || cfg.Width != 800 || bytes.Contains(got, []byte(gpsMarker)) {
		t.Fatalf("served by the other node: %+v %v", cfg, err)
	}
	link, _, err := alice.Link(ctx, att.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	d, err = n2.Client().FetchLink(ctx, link)
	if err != nil {
		t.Fatalf("signed link on the other node: %v", err)
	}
	readAll(t, d)

	// A resumable upload whose parts go to alternate nodes.
	alice2 := n2.Client(client.WithToken(alice.Token()))
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes
	up, err := alice.CreateUpload(ctx, "x.bin", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	const part = 200_000
	for off, i := 0, 0; off < len(data); off, i = off+part, i+1 {
		c := []*client.Client{alice, alice2}[i%2]
		end := min(off+part, len(data))
		if _, err := c.PutPart(ctx, up.ID, int64(off), bytes.NewReader(data[off:end]), int64(end-off)); err != nil {
			t.Fatalf("part at %d: %v", off, err)
		}
	}
	a, err := alice2.CompleteUpload(ctx, up.ID)
	if err != nil || a.Size != int64(len(data)) {
		t.Fatalf("complete %+v %v", a, err)
	}
	d, err = alice.Fetch(ctx, a.ID, client.FetchOptions{Range: "bytes=199990-200009"})
	if err != nil {
		t.Fatal(err)
	}
	if r := readAll(t, d); !bytes.Equal(r, data[199990:200010]) {
		t.Fatalf("range across parts %q", r)
	}
	_, err = n2.Client().Fetch(ctx, a.ID, client.FetchOptions{})
	wantCode(t, err, parley.CodeUnauthenticated)
}
