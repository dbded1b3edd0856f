// Package media handles the content of uploaded images: streaming metadata
// stripping (EXIF with GPS location, XMP, comments…), dimension checks
// before decoding, decoding with bounded concurrency, orientation and
// thumbnails. It knows nothing of users, quotas or records (internal/app
// does that).
package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// Streaming metadata strippers for the image formats Parley stores. Each
// returns a reader that yields the image without its metadata (EXIF with
// GPS location, XMP, comments, text chunks, trailing data after the end of
// the image) and fails with ErrBadImage when the structure is malformed. They
// never buffer more than one metadata segment (at most 64 KiB for JPEG) or
// one chunk header; image data is copied through.

// ErrBadImage is the stripped stream's error when the image's structure is
// malformed.
var ErrBadImage = errors.New("malformed image")

// Meta is what stripping learned of an image.
type Meta struct {
	Orientation int  // EXIF orientation, 1–8 (JPEG; 1 otherwise)
	Animated    bool // an animated WebP (kept undecoded, without thumbnail)
}

// Strip returns r's content without its metadata if mt is a type Parley
// strips (JPEG, PNG, WebP), recording what it learned in meta; r unchanged
// otherwise.
func Strip(mt string, r io.Reader, meta *Meta) io.Reader {
	meta.Orientation = 1
	switch mt {
	case "image/jpeg":
		return stripJPEG(bufio.NewReaderSize(r, 32<<10), &meta.Orientation)
	case "image/png":
		return stripPNG(bufio.NewReaderSize(r, 32<<10))
	case "image/webp":
		return stripWebP(bufio.NewReaderSize(r, 32<<10), &meta.Animated)
	}
	return r
}

// stripReader produces output piece by piece through next.
type stripReader struct {
	pending []byte
	next    func() ([]byte, error) // next piece; io.EOF at the end
	err     error
}

func (s *stripReader) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.pending, s.err = s.next()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func unexpected(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrBadImage
	}
	return err
}

// stripJPEG removes APP1 and APP3–APP13, APP15 segments (EXIF, XMP,
// Photoshop IRB…), comments and anything after EOI. APP0 (JFIF), APP2 (ICC
// colour profile) and APP14 (Adobe colour transform) stay. When the EXIF
// block carries a non-default orientation, a minimal EXIF segment holding
// only that orientation replaces it, so photos keep displaying upright;
// *orientation receives it (1 when absent).
func stripJPEG(r *bufio.Reader, orientation *int) io.Reader {
	*orientation = 1
	buf := make([]byte, 0, 4096)
	state := 0 // 0 start, 1 between segments, 2 entropy-coded data, 3 done
	s := &stripReader{}
	s.next = func() ([]byte, error) {
		switch state {
		case 0:
			var soi [2]byte
			if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
				return nil, ErrBadImage
			}
			state = 1
			return soi[:], nil
		case 1:
			b, err := r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			if b != 0xFF {
				return nil, ErrBadImage
			}
			m, err := r.ReadByte()
			for err == nil && m == 0xFF { // fill bytes
				m, err = r.ReadByte()
			}
			if err != nil {
				return nil, unexpected(err)
			}
			switch {
			case m == 0xD9: // EOI: drop any trailer
				state = 3
				return []byte{0xFF, 0xD9}, nil
			case m == 0x01 || m >= 0xD0 && m <= 0xD7 || m == 0x00: // no length
				return []byte{0xFF, m}, nil
			}
			var lb [2]byte
			if _, err := io.ReadFull(r, lb[:]); err != nil {
				return nil, unexpected(err)
			}
			n := int(binary.BigEndian.Uint16(lb[:]))
			if n < 2 {
				return nil, ErrBadImage
			}
			if m == 0xDA { // SOS: header, then entropy-coded data
				buf = append(buf[:0], 0xFF, m, lb[0], lb[1])
				buf = append(buf, make([]byte, n-2)...)
				if _, err := io.ReadFull(r, buf[4:]); err != nil {
					return nil, unexpected(err)
				}
				state = 2
				return buf, nil
			}
			drop := m == 0xFE || m >= 0xE1 && m <= 0xEF && m != 0xE2 && m != 0xEE
			if drop {
				if m == 0xE1 && n-2 <= 1<<16 {
					payload := make([]byte, n-2)
					if _, err := io.ReadFull(r, payload); err != nil {
						return nil, unexpected(err)
					}
					if o := exifOrientation(payload); o > 1 && *orientation == 1 {
						*orientation = o
						return minimalExif(o), nil
					}
					return []byte{}, nil
				}
				if _, err := r.Discard(n - 2); err != nil {
					return nil, unexpected(err)
				}
				return []byte{}, nil
			}
			buf = append(buf[:0], 0xFF, m, lb[0], lb[1])
			buf = append(buf, make([]byte, n-2)...)
			if _, err := io.ReadFull(r, buf[4:]); err != nil {
				return nil, unexpected(err)
			}
			return buf, nil
		case 2:
			// Copy entropy-coded data up to the next real marker.
			buf = buf[:0]
			for len(buf) < 32<<10 {
				pk, err := r.Peek(2)
				if err != nil {
					return nil, unexpected(err)
				}
				if pk[0] != 0xFF {
					r.Discard(1)
					buf = append(buf, pk[0])
					continue
				}
				if c := pk[1]; c == 0x00 || c >= 0xD0 && c <= 0xD7 {
					buf = append(buf, 0xFF, c)
					r.Discard(2)
					continue
				}
				state = 1 // a marker: state 1 reads it
				break
			}
			return buf, nil
		}
		return nil, io.EOF
	}
	return s
}

// exifOrientation returns the Orientation tag (1–8) of an APP1 EXIF
// payload, or 0.
func exifOrientation(p []byte) int {
	if !bytes.HasPrefix(p, []byte("Exif\x00\x00")) {
		return 0
	}
	t := p[6:]
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// minimalExif is an APP1 segment whose only tag is Orientation.
func minimalExif(o int) []byte {
	b := []byte{0xFF, 0xE1, 0, 32, 'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0, 42, 0, 0, 0, 8, // TIFF header, IFD0 at 8
		0, 1, // one entry
		// #nosec G115 -- o is an EXIF orientation, 1-8
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation SHORT 1 = o
		0, 0, 0, 0} // no next IFD
	return b
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// stripPNG removes eXIf, tEXt, zTXt, iTXt and tIME chunks and anything
// after IEND. Chunk CRCs are per chunk, so the rest stays valid.
func stripPNG(r *bufio.Reader) io.Reader {
	state := 0
	var remain int64 // bytes of the current kept chunk still to copy
	buf := make([]byte, 32<<10)
	s := &stripReader{}
	s.next = func() ([]byte, error) {
		switch {
		case state == 0:
			sig := make([]byte, 8)
			if _, err := io.ReadFull(r, sig); err != nil || !bytes.Equal(sig, pngSignature) {
				return nil, ErrBadImage
			}
			state = 1
			return sig, nil
		case remain > 0:
			n := int(min(remain, int64(len(buf))))
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return nil, unexpected(err)
			}
			remain -= int64(n)
			return buf[:n], nil
		case state == 2:
			return nil, io.EOF
		}
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, unexpected(err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if n > 1<<31-1 {
			return nil, ErrBadImage
		}
		switch string(hdr[4:]) {
		case "eXIf", "tEXt", "zTXt", "iTXt", "tIME":
			if _, err := r.Discard(int(n) + 4); err != nil {
				return nil, unexpected(err)
			}
			return []byte{}, nil
		case "IEND":
			state = 2
		}
		remain = n + 4 // data and CRC
		return hdr[:], nil
	}
	return s
}

// stripWebP blanks EXIF and XMP chunks: renamed to an unknown chunk type
// (which decoders skip) with zeroed content, so the RIFF sizes stay right
// without buffering, and clears the VP8X flags announcing them. *animated
// reports the VP8X animation flag.
func stripWebP(r *bufio.Reader, animated *bool) io.Reader {
	state := 0
	var remain, total int64 // total: RIFF payload left
	blank := false
	buf := make([]byte, 32<<10)
	s := &stripReader{}
	s.next = func() ([]byte, error) {
		switch {
		case state == 0:
			hdr := make([]byte, 12)
			if _, err := io.ReadFull(r, hdr); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WEBP" {
				return nil, ErrBadImage
			}
			total = int64(binary.LittleEndian.Uint32(hdr[4:8])) - 4
			if total < 0 {
				return nil, ErrBadImage
			}
			state = 1
			return hdr, nil
		case remain > 0:
			n := int(min(remain, int64(len(buf))))
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return nil, unexpected(err)
			}
			remain -= int64(n)
			if blank {
				clear(buf[:n])
			}
			return buf[:n], nil
		case total <= 0:
			return nil, io.EOF // anything after the RIFF payload is dropped
		}
		hdr := make([]byte, 8)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, unexpected(err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[4:]))
		n += n & 1 // padding
		if 8+n > total {
			return nil, ErrBadImage
		}
		total -= 8 + n
		blank = false
		switch string(hdr[:4]) {
		case "EXIF", "XMP ":
			copy(hdr, "PRLY")
			blank = true
		case "VP8X":
			if n != 10 {
				return nil, ErrBadImage
			}
			body := make([]byte, 10)
			if _, err := io.ReadFull(r, body); err != nil {
				return nil, unexpected(err)
			}
			body[0] &^= 1<<2 | 1<<3 // XMP, EXIF present
			*animated = body[0]&(1<<1) != 0
			return append(hdr, body...), nil
		}
		remain = n
		return hdr, nil
	}
	return s
}
