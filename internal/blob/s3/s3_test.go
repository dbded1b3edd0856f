package s3_test

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/blob/blobtest"
	"github.com/parley-chat/parley/internal/blob/s3"
)

// fake starts an in-process S3 (gofakes3) with one bucket.
func fake(t *testing.T) s3.Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("parley"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return s3.Config{Endpoint: srv.URL, Bucket: "parley", Region: "us-east-1", AccessKey: "test", SecretKey: "test",
		TempDir: t.TempDir()}
}

func key(t *testing.T) []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) parley.Blobs {
		s, err := s3.Open(context.Background(), fake(t), key(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	cfg := fake(t)
	for _, c := range []struct {
		mut  func(*s3.Config)
		code parley.Code
	}{
		{func(c *s3.Config) { c.Endpoint = "ftp://x" }, parley.CodeInvalid},
		{func(c *s3.Config) { c.Bucket = "" }, parley.CodeInvalid},
		{func(c *s3.Config) { c.Bucket = "missing" }, parley.CodeUnavailable},
	} {
		cc := cfg
		c.mut(&cc)
		if _, err := s3.Open(ctx, cc, key(t)); !parley.IsCode(err, c.code) {
			t.Fatalf("%+v: got %v, want %s", cc, err, c.code)
		}
	}
	if _, err := s3.Open(ctx, cfg, []byte("short")); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("short key: %v", err)
	}
}

func TestObjectsAreCiphertext(t *testing.T) {
	ctx := context.Background()
	cfg := fake(t)
	s, err := s3.Open(ctx, cfg, key(t))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("location: 48.85,2.35 ", 100)
	info, err := s.Put(ctx, strings.NewReader(secret), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Read the raw object with a store opened under another key: the
	// bytes are there but do not decrypt.
	other, _ := s3.Open(ctx, cfg, key(t))
	r, _, err := other.Get(ctx, info.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err == nil {
		t.Fatal("read with another key")
	}
}
