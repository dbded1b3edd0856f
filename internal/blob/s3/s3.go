// Package s3 stores blobs in an S3-compatible bucket (AWS S3, MinIO,
// Ceph, R2…), for clusters where every node must see every file. Objects
// are sealed exactly like the local store's files (package sealed), so the
// bucket holds only ciphertext; a Put is spooled to a local temporary file
// first (the content address is known only at the end of the stream, and
// the object is then uploaded in one atomic PUT with its length).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/blob/sealed"
)

// Config locates the bucket.
type Config struct {
	Endpoint  string // http(s)://host[:port]
	Bucket    string
	Region    string // optional
	AccessKey string
	SecretKey string
	Prefix    string // optional key prefix inside the bucket, e.g. "parley/"
	TempDir   string // where Puts are spooled; default os.TempDir()
}

// Store is a parley.Blobs on an S3 bucket. Safe for concurrent use by any
// number of nodes.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
	tmp    string
	key    []byte
	addr   []byte
}

var _ parley.Blobs = (*Store)(nil)

// Open connects to the bucket (it must exist) with the 32-byte master key.
func Open(ctx context.Context, cfg Config, masterKey []byte) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, parley.Invalid("s3_endpoint", "the S3 endpoint must be an http:// or https:// URL")
	}
	if cfg.Bucket == "" {
		return nil, parley.Invalid("s3_bucket", "the S3 bucket must be set")
	}
	if len(masterKey) != sealed.KeySize {
		return nil, parley.Invalid("blob_key", "the blob key must be 32 bytes")
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: cfg.Region,
	})
	if err != nil {
		return nil, parley.Unavailable(err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, parley.Unavailable(fmt.Errorf("s3: %w", err))
	}
	if !ok {
		return nil, parley.Unavailable(fmt.Errorf("s3: bucket %q does not exist", cfg.Bucket))
	}
	tmp := cfg.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	return &Store{c: c, bucket: cfg.Bucket, prefix: strings.TrimLeft(cfg.Prefix, "/") + "blobs/", tmp: tmp,
		key: masterKey, addr: sealed.AddressKey(masterKey)}, nil
}

func (s *Store) object(key string) string { return s.prefix + key[:2] + "/" + key }

func notFound() error { return parley.Errorf(parley.CodeNotFound, "file not found") }

func translate(err error) error {
	if err == nil {
		return nil
	}
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return notFound()
	}
	var pe *parley.Error
	if errors.As(err, &pe) {
		return pe
	}
	return parley.Unavailable(fmt.Errorf("s3: %w", err))
}

// Put implements parley.Blobs.
func (s *Store) Put(ctx context.Context, r io.Reader, max int64) (parley.BlobInfo, error) {
	f, err := os.CreateTemp(s.tmp, "parley-s3-put-*")
	if err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	key, n, err := sealed.Copy(ctx, f, r, max, s.key, s.addr)
	if err != nil {
		return parley.BlobInfo{}, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	// Same content stored already: uploading it again is what refreshes
	// its modification time (for the sweep's grace period).
	info, err := s.c.PutObject(ctx, s.bucket, s.object(key), f, size,
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: size < 64<<20})
	if err != nil {
		return parley.BlobInfo{}, translate(err)
	}
	mod := info.LastModified
	if mod.IsZero() {
		mod = time.Now()
	}
	return parley.BlobInfo{Key: key, Size: n, ModTime: mod}, nil
}

type object struct {
	*sealed.Reader
	o *minio.Object
}

func (o object) Close() error { return o.o.Close() }

// Get implements parley.Blobs. Reads go through ranged GETs: a Range
// request fetches only the chunks it covers.
func (s *Store) Get(ctx context.Context, key string) (io.ReadSeekCloser, parley.BlobInfo, error) {
	if !parley.ValidBlobKey(key) {
		return nil, parley.BlobInfo{}, notFound()
	}
	st, err := s.c.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return nil, parley.BlobInfo{}, translate(err)
	}
	o, err := s.c.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, parley.BlobInfo{}, translate(err)
	}
	r, err := sealed.NewReader(o, st.Size, s.key)
	if err != nil {
		o.Close()
		return nil, parley.BlobInfo{}, parley.Internal(fmt.Errorf("blob %s: %w", key, err))
	}
	return object{r, o}, parley.BlobInfo{Key: key, Size: r.Size(), ModTime: st.LastModified}, nil
}

// Stat implements parley.Blobs.
func (s *Store) Stat(ctx context.Context, key string) (parley.BlobInfo, error) {
	if !parley.ValidBlobKey(key) {
		return parley.BlobInfo{}, notFound()
	}
	st, err := s.c.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return parley.BlobInfo{}, translate(err)
	}
	n, err := sealed.PlainSize(st.Size)
	if err != nil {
		return parley.BlobInfo{}, parley.Internal(err)
	}
	return parley.BlobInfo{Key: key, Size: n, ModTime: st.LastModified}, nil
}

// Delete implements parley.Blobs.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !parley.ValidBlobKey(key) {
		return nil
	}
	err := s.c.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{})
	if parley.IsCode(translate(err), parley.CodeNotFound) {
		return nil
	}
	return translate(err)
}

// List implements parley.Blobs.
func (s *Store) List(ctx context.Context, fn func(parley.BlobInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if o.Err != nil {
			return translate(o.Err)
		}
		key := o.Key[strings.LastIndexByte(o.Key, '/')+1:]
		if !parley.ValidBlobKey(key) {
			continue
		}
		n, err := sealed.PlainSize(o.Size)
		if err != nil {
			n = -1
		}
		if err := fn(parley.BlobInfo{Key: key, Size: n, ModTime: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}
