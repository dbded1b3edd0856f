// Package sealed is the at-rest encryption of blobs: AES-256-GCM over
// fixed-size chunks, so that a reader can decrypt any byte range by opening
// only the chunks it covers, and a truncated, reordered or altered file is
// detected.
//
// Layout: magic (8 bytes) ‖ salt (32 random bytes) ‖ chunk 0 ‖ chunk 1 ‖ …
// where each chunk is ChunkSize plaintext bytes (the last one shorter, or
// empty for an empty blob) sealed with a per-file key
// HMAC-SHA256(master, "parley blob v1" ‖ salt), nonce = chunk index
// (big-endian), additional data = one byte, 1 on the last chunk.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ChunkSize is the plaintext size of every chunk but the last.
const ChunkSize = 64 << 10

const (
	magic      = "PRLYBLB1"
	saltSize   = 32
	headerSize = len(magic) + saltSize
	tagSize    = 16
	sealedSize = ChunkSize + tagSize
)

// ErrCorrupt reports a sealed file that does not decrypt (wrong key,
// truncation, tampering).
var ErrCorrupt = errors.New("sealed: corrupt or truncated blob")

// KeySize is the size of the master key.
const KeySize = 32

func fileAEAD(master, salt []byte) (cipher.AEAD, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("sealed: master key must be %d bytes", KeySize)
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("parley blob v1"))
	m.Write(salt)
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AddressKey derives the key that content addresses are computed with
// (HMAC-SHA256 of the plaintext), so that addresses do not reveal hashes of
// known content.
func AddressKey(master []byte) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("parley blob address v1"))
	return m.Sum(nil)
}

func nonce(i int64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], uint64(i)) // #nosec G115 -- chunk index, never negative
	return n[:]
}

func aad(last bool) []byte {
	if last {
		return []byte{1}
	}
	return []byte{0}
}

// Writer seals a stream. Close writes the last chunk; it must be called.
type Writer struct {
	w    io.Writer
	aead cipher.AEAD
	buf  []byte // plaintext held back: the last chunk is known only at Close
	out  []byte
	i    int64
	err  error
}

// NewWriter writes the header to w and returns a Writer sealing into it.
func NewWriter(w io.Writer, master []byte) (*Writer, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := fileAEAD(master, salt)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(append([]byte(magic), salt...)); err != nil {
		return nil, err
	}
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedSize)}, nil
}

func (s *Writer) flush(last bool) error {
	s.out = s.aead.Seal(s.out[:0], nonce(s.i), s.buf, aad(last))
	s.i++
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

// Write implements io.Writer.
func (s *Writer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			if s.err = s.flush(false); s.err != nil {
				return n, s.err
			}
		}
		k := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (s *Writer) Close() error {
	if s.err != nil {
		return s.err
	}
	s.err = s.flush(true)
	if s.err == nil {
		s.err = errors.New("sealed: writer closed")
		return nil
	}
	return s.err
}

// PlainSize returns the plaintext size of a sealed blob of sealedLen bytes.
func PlainSize(sealedLen int64) (int64, error) {
	body := sealedLen - int64(headerSize)
	if body < tagSize {
		return 0, ErrCorrupt
	}
	n := (body + sealedSize - 1) / sealedSize
	last := body - (n-1)*sealedSize
	if last < tagSize {
		return 0, ErrCorrupt
	}
	return body - n*tagSize, nil
}

// SealedSize returns the sealed size of a plaintext of n bytes.
func SealedSize(n int64) int64 {
	chunks := n/ChunkSize + 1
	if n > 0 && n%ChunkSize == 0 {
		chunks--
	}
	return int64(headerSize) + n + chunks*tagSize
}

// Reader decrypts a sealed blob with random access. It reads the sealed
// bytes through an io.ReaderAt, one chunk at a time, and is not safe for
// concurrent use.
type Reader struct {
	ra     io.ReaderAt
	aead   cipher.AEAD
	size   int64 // plaintext
	chunks int64
	pos    int64
	cur    int64 // index of the chunk in plain, -1 if none
	plain  []byte
	sealed []byte
}

// NewReader opens the sealed blob of sealedLen bytes behind ra.
func NewReader(ra io.ReaderAt, sealedLen int64, master []byte) (*Reader, error) {
	size, err := PlainSize(sealedLen)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, headerSize)
	if _, err := ra.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("sealed: header: %w", err)
	}
	if string(hdr[:len(magic)]) != magic {
		return nil, ErrCorrupt
	}
	aead, err := fileAEAD(master, hdr[len(magic):])
	if err != nil {
		return nil, err
	}
	chunks := (sealedLen - int64(headerSize) + sealedSize - 1) / sealedSize
	r := &Reader{ra: ra, aead: aead, size: size, chunks: chunks, cur: -1,
		plain: make([]byte, 0, ChunkSize), sealed: make([]byte, sealedSize)}
	if size == 0 {
		// Nothing will be read: authenticate the empty chunk now.
		if err := r.load(0); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Size returns the plaintext size.
func (r *Reader) Size() int64 { return r.size }

func (r *Reader) load(i int64) error {
	if r.cur == i {
		return nil
	}
	off := int64(headerSize) + i*sealedSize
	n := int64(sealedSize)
	if i == r.chunks-1 {
		n = r.size - i*ChunkSize + tagSize
	}
	buf := r.sealed[:n]
	if _, err := r.ra.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && len(buf) == int(n)) {
		r.cur = -1
		return fmt.Errorf("sealed: read chunk %d: %w", i, err)
	}
	p, err := r.aead.Open(r.plain[:0], nonce(i), buf, aad(i == r.chunks-1))
	if err != nil {
		r.cur = -1
		return ErrCorrupt
	}
	r.plain, r.cur = p, i
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n := 0
	for len(p) > 0 && r.pos < r.size {
		i := r.pos / ChunkSize
		if err := r.load(i); err != nil {
			return n, err
		}
		k := copy(p, r.plain[r.pos-i*ChunkSize:])
		p = p[k:]
		n += k
		r.pos += int64(k)
	}
	return n, nil
}

// Seek implements io.Seeker (no I/O happens until the next Read).
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("sealed: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("sealed: negative position")
	}
	r.pos = abs
	return abs, nil
}
