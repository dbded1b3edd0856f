package sealed

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
)

func seal(t testing.TB, key, plain []byte) []byte {
	var b bytes.Buffer
	w, err := NewWriter(&b, key)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain[:len(plain)/3])
	w.Write(plain[len(plain)/3:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTripSizesAndRanges(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17, 4 * ChunkSize} {
		plain := make([]byte, n)
		rand.Read(plain)
		s := seal(t, key, plain)
		if int64(len(s)) != SealedSize(int64(n)) {
			t.Fatalf("n=%d sealed %d want %d", n, len(s), SealedSize(int64(n)))
		}
		r, err := NewReader(bytes.NewReader(s), int64(len(s)), key)
		if err != nil || r.Size() != int64(n) {
			t.Fatalf("n=%d open %v size %d", n, err, r.Size())
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d read %v equal %v", n, err, bytes.Equal(got, plain))
		}
		for _, off := range []int{0, n / 2, n - 1, ChunkSize + 5} {
			if off < 0 || off >= n {
				continue
			}
			r.Seek(int64(off), io.SeekStart)
			buf := make([]byte, 100)
			k, _ := io.ReadFull(r, buf)
			if !bytes.Equal(buf[:k], plain[off:min(n, off+100)]) {
				t.Fatalf("n=%d range at %d differs", n, off)
			}
		}
		// Truncation at a chunk boundary and tampering are detected.
		if n > ChunkSize {
			cut := s[:headerSize+sealedSize]
			if r, err := NewReader(bytes.NewReader(cut), int64(len(cut)), key); err == nil {
				if _, err := io.ReadAll(r); err == nil {
					t.Fatalf("n=%d truncated blob read without error", n)
				}
			}
		}
		bad := bytes.Clone(s)
		bad[len(bad)-1] ^= 1
		if r, err := NewReader(bytes.NewReader(bad), int64(len(bad)), key); err == nil {
			if _, err := io.ReadAll(r); err == nil {
				t.Fatalf("n=%d tampered blob read without error", n)
			}
		}
	}
}

func TestWrongKeyFails(t *testing.T) {
	k1, k2 := make([]byte, KeySize), make([]byte, KeySize)
	rand.Read(k1)
	rand.Read(k2)
	s := seal(t, k1, []byte("secret"))
	r, err := NewReader(bytes.NewReader(s), int64(len(s)), k2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != ErrCorrupt {
		t.Fatalf("got %v", err)
	}
	if bytes.Contains(s, []byte("secret")) {
		t.Fatal("plaintext visible in sealed blob")
	}
}
