package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// Files benchmarks (docs/benchmarks.md, "Files and media"):
//
//	go test ./internal/e2e -run XXX -bench 'Upload|Download' -benchtime 10x
//
// Uploads and downloads go through the SDK over loopback HTTP into the
// in-process server, which encrypts to (or decrypts from) the local blob
// store on disk.

// blockReader yields n bytes by repeating a random 1 MiB block: a large
// stream without holding it in memory.
type blockReader struct {
	block []byte
	left  int64
	off   int
}

func newBlockReader(n int64) *blockReader {
	b := make([]byte, 1<<20)
	rand.Read(b)
	return &blockReader{block: b, left: n}
}

func (r *blockReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

func benchEnv(b *testing.B) (*apitest.Env, *client.Client) {
	env := apitest.Start(b, func(c *server.Config) {
		c.MaxFileBytes = 2 << 30
		c.UserQuotaBytes = 1 << 40
		c.LogLevel = "error"
	})
	signed, _ := env.NewUser(b, "bench")
	// A plain client (no OpenAPI validation, no overall timeout): the
	// validating transport reads whole bodies into memory.
	c := client.New(env.URL, client.WithToken(signed.Token()), client.WithHTTPClient(&http.Client{}))
	return env, c
}

func BenchmarkUpload(b *testing.B) {
	_, c := benchEnv(b)
	const size = 64 << 20
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Upload(context.Background(), "data.bin", newBlockReader(size), size); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload(b *testing.B) {
	_, c := benchEnv(b)
	const size = 64 << 20
	a, err := c.Upload(context.Background(), "data.bin", newBlockReader(size), size)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := c.Fetch(context.Background(), a.ID, client.FetchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, d.Body)
		d.Body.Close()
		if err != nil || n != size {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkUpload12MPPhoto uploads a 4000×3000 JPEG: the whole server path
// (stream, strip metadata, encrypt, measure, decode, thumbnail).
func BenchmarkUpload12MPPhoto(b *testing.B) {
	_, c := benchEnv(b)
	photo := photoJPEG(b, 4000, 3000)
	b.SetBytes(int64(len(photo)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A different last byte each time so content addressing cannot
		// short-cut anything (it follows EOI and is dropped).
		photo[len(photo)-1] = byte(i)
		a, err := c.Upload(context.Background(), "photo.jpg", bytes.NewReader(photo), int64(len(photo)))
		if err != nil || a.Thumbnail == nil {
			b.Fatal(a, err)
		}
	}
}

// BenchmarkUpload1GBMemory uploads one 1 GiB file and reports the server
// process's peak heap in use while it streams (sampled every 10 ms), next
// to the heap before the upload: flat memory means the peak stays close to
// the baseline however large the file.
func BenchmarkUpload1GBMemory(b *testing.B) {
	_, c := benchEnv(b)
	const size = 1 << 30
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	})
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Upload(context.Background(), "huge.bin", newBlockReader(size), size); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
