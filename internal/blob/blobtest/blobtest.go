// Package blobtest is the conformance suite every parley.Blobs runs.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// Opener returns a fresh, empty store for one test.
type Opener func(t *testing.T) parley.Blobs

func wantCode(t *testing.T, err error, code parley.Code) {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func keys(t *testing.T, b parley.Blobs) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	if err := b.List(context.Background(), func(i parley.BlobInfo) error { out[i.Key] = i.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	data := make([]byte, 200_000+123)
	rand.Read(data)

	t.Run("put get stat delete", func(t *testing.T) {
		b := open(t)
		info, err := b.Put(ctx, bytes.NewReader(data), 0)
		if err != nil || !parley.ValidBlobKey(info.Key) || info.Size != int64(len(data)) {
			t.Fatalf("put %+v %v", info, err)
		}
		r, gi, err := b.Get(ctx, info.Key)
		if err != nil || gi.Size != int64(len(data)) {
			t.Fatalf("get %+v %v", gi, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
		st, err := b.Stat(ctx, info.Key)
		if err != nil || st.Size != int64(len(data)) || st.ModTime.IsZero() {
			t.Fatalf("stat %+v %v", st, err)
		}
		if k := keys(t, b); len(k) != 1 || k[info.Key] != int64(len(data)) {
			t.Fatalf("list %v", k)
		}
		if err := b.Delete(ctx, info.Key); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, info.Key); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		_, _, err = b.Get(ctx, info.Key)
		wantCode(t, err, parley.CodeNotFound)
		_, err = b.Stat(ctx, info.Key)
		wantCode(t, err, parley.CodeNotFound)
		if k := keys(t, b); len(k) != 0 {
			t.Fatalf("list after delete %v", k)
		}
	})

	t.Run("bad keys", func(t *testing.T) {
		b := open(t)
		for _, k := range []string{"", "../../etc/passwd", "ABCDEF", "zz" + string(make([]byte, 62)),
			"0000000000000000000000000000000000000000000000000000000000000000"} {
			_, _, err := b.Get(ctx, k)
			wantCode(t, err, parley.CodeNotFound)
			_, err = b.Stat(ctx, k)
			wantCode(t, err, parley.CodeNotFound)
			if err := b.Delete(ctx, k); err != nil {
				t.Fatalf("delete %q: %v", k, err)
			}
		}
	})

	t.Run("content addressed", func(t *testing.T) {
		b := open(t)
		a1, err := b.Put(ctx, bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		a2, err := b.Put(ctx, bytes.NewReader(data), 0)
		if err != nil || a2.Key != a1.Key {
			t.Fatalf("second put %+v %v", a2, err)
		}
		st, _ := b.Stat(ctx, a1.Key)
		if st.ModTime.Before(a1.ModTime.Truncate(time.Second)) { // S3 keeps whole seconds
			t.Fatalf("modtime not refreshed: %v then %v", a1.ModTime, st.ModTime)
		}
		other, err := b.Put(ctx, bytes.NewReader(data[1:]), 0)
		if err != nil || other.Key == a1.Key {
			t.Fatalf("different content %+v %v", other, err)
		}
		empty, err := b.Put(ctx, bytes.NewReader(nil), 0)
		if err != nil || empty.Size != 0 {
			t.Fatalf("empty %+v %v", empty, err)
		}
		r, _, err := b.Get(ctx, empty.Key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || len(got) != 0 {
			t.Fatalf("empty read %v %v", got, err)
		}
		r.Close()
		if k := keys(t, b); len(k) != 3 {
			t.Fatalf("list %v", k)
		}
	})

	t.Run("range reads", func(t *testing.T) {
		b := open(t)
		info, err := b.Put(ctx, bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := b.Get(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, off := range []int64{0, 1, 65535, 65536, 131071, int64(len(data)) - 7} {
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1000)
			n, err := io.ReadFull(r, buf)
			want := data[off:min(int64(len(data)), off+1000)]
			if !bytes.Equal(buf[:n], want) || (err != nil && n != len(want)) {
				t.Fatalf("range at %d: %d bytes, %v", off, n, err)
			}
		}
		if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
			t.Fatalf("seek end %d %v", end, err)
		}
	})

	t.Run("refused puts leave nothing", func(t *testing.T) {
		b := open(t)
		_, err := b.Put(ctx, bytes.NewReader(data), int64(len(data)-1))
		wantCode(t, err, parley.CodeTooLarge)
		if info, err := b.Put(ctx, bytes.NewReader(data), int64(len(data))); err != nil || info.Size != int64(len(data)) {
			t.Fatalf("put at exactly max: %+v %v", info, err)
		} else if err := b.Delete(ctx, info.Key); err != nil {
			t.Fatal(err)
		}
		_, err = b.Put(ctx, &failingReader{bytes.NewReader(data[:100000]), io.ErrUnexpectedEOF}, 0)
		if err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = b.Put(cctx, bytes.NewReader(data), 0)
		if err == nil {
			t.Fatal("put with a cancelled context succeeded")
		}
		if k := keys(t, b); len(k) != 0 {
			t.Fatalf("refused puts left %v", k)
		}
		// A typed error from the source reader passes through.
		_, err = b.Put(ctx, &failingReader{bytes.NewReader(data[:10]), parley.TooLarge("file", "x")}, 0)
		wantCode(t, err, parley.CodeTooLarge)
	})

	t.Run("concurrent puts of the same content", func(t *testing.T) {
		b := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.Put(ctx, bytes.NewReader(data), 0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if k := keys(t, b); len(k) != 1 {
			t.Fatalf("list %v", k)
		}
	})

	t.Run("list stops on error", func(t *testing.T) {
		b := open(t)
		b.Put(ctx, bytes.NewReader(data[:10]), 0)
		b.Put(ctx, bytes.NewReader(data[:20]), 0)
		stop := errors.New("stop")
		n := 0
		err := b.List(ctx, func(parley.BlobInfo) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("list: %v after %d", err, n)
		}
	})
}
