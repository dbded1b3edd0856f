package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
)

func strip(kind string, in []byte) ([]byte, int, error) {
	r := bufio.NewReader(bytes.NewReader(in))
	o := 0
	var s io.Reader
	switch kind {
	case "jpeg":
		s = stripJPEG(r, &o)
	case "png":
		s = stripPNG(r)
	default:
		var animated bool
		s = stripWebP(r, &animated)
	}
	out, err := io.ReadAll(s)
	return out, o, err
}

func sampleJPEG(t testing.TB, exif []byte) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 30)), nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	return append(append(append([]byte{}, raw[:2]...), exif...), raw[2:]...)
}

// orientationExif is an APP1 segment (little-endian TIFF) with Orientation
// o and a Make tag.
func orientationExif(o uint16) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II\x2a\x00")
	binary.Write(&t, le, uint32(8))
	binary.Write(&t, le, uint16(2))
	binary.Write(&t, le, []uint16{0x010f, 2})
	binary.Write(&t, le, []uint32{4, 0x534e4f50}) // "PONS"
	binary.Write(&t, le, []uint16{0x0112, 3, 1, 0})
	binary.Write(&t, le, []uint16{o, 0})
	binary.Write(&t, le, uint32(0))
	p := append([]byte("Exif\x00\x00"), t.Bytes()...)
	return append([]byte{0xFF, 0xE1, byte((len(p) + 2) >> 8), byte(len(p) + 2)}, p...)
}

func TestStripJPEGKeepsOnlyOrientation(t *testing.T) {
	in := sampleJPEG(t, orientationExif(6))
	out, o, err := strip("jpeg", in)
	if err != nil || o != 6 {
		t.Fatalf("strip: %v orientation %d", err, o)
	}
	if bytes.Contains(out, []byte("PONS")) || !bytes.Contains(out, []byte("Exif")) {
		t.Fatal("EXIF not reduced to the orientation")
	}
	if exifOrientation(minimalExif(6)[4:]) != 6 {
		t.Fatal("minimal EXIF does not round-trip")
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("stripped JPEG does not decode: %v", err)
	}
	// Orientation 1: no EXIF at all.
	out, o, _ = strip("jpeg", sampleJPEG(t, orientationExif(1)))
	if o != 1 || bytes.Contains(out, []byte("Exif")) {
		t.Fatal("default orientation kept an EXIF segment")
	}
}

func TestStripPNGDropsTextAndExif(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	raw := b.Bytes()
	chunk := func(typ, data string) []byte {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(c, typ...)
		c = append(c, data...)
		return append(c, 0, 0, 0, 0) // CRC not checked for ancillary chunks we drop
	}
	in := append(append([]byte{}, raw[:33]...), chunk("eXIf", "MM\x00*GPS-SECRET")...)
	in = append(in, chunk("tEXt", "Comment\x00GPS-SECRET")...)
	in = append(in, raw[33:]...)
	in = append(in, "trailer GPS-SECRET"...)
	out, _, err := strip("png", in)
	if err != nil || bytes.Contains(out, []byte("GPS-SECRET")) || !bytes.Equal(out, raw) {
		t.Fatalf("strip: %v, %d bytes (want %d)", err, len(out), len(raw))
	}
}

func TestStripWebPBlanksMetadata(t *testing.T) {
	chunk := func(typ string, data []byte) []byte {
		c := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := make([]byte, 10)
	vp8x[0] = 1<<2 | 1<<3 | 1<<4 // XMP, EXIF, alpha
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, chunk("VP8L", []byte("pixels"))...)
	body = append(body, chunk("EXIF", []byte("GPS-SECRET!"))...)
	body = append(body, chunk("XMP ", []byte("<gps>GPS-SECRET</gps>"))...)
	in := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	in = append(in, body...)
	out, _, err := strip("webp", append(in, "trailer"...))
	if err != nil || len(out) != len(in) || bytes.Contains(out, []byte("GPS-SECRET")) ||
		bytes.Contains(out, []byte("EXIF")) || bytes.Contains(out, []byte("XMP ")) {
		t.Fatalf("strip: %v %q", err, out)
	}
	if f := out[20]; f != 1<<4 {
		t.Fatalf("VP8X flags %08b", f)
	}
}

func TestStripRefusesMalformed(t *testing.T) {
	for kind, in := range map[string][]byte{
		"jpeg": []byte("\xFF\xD8\xFF\xE1\x00"),
		"png":  []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00"),
		"webp": []byte("RIFF\x10\x00\x00\x00WEBPVP8X\xff\xff\x00\x00"),
	} {
		if _, _, err := strip(kind, in); err != ErrBadImage {
			t.Errorf("%s: got %v", kind, err)
		}
		if _, _, err := strip(kind, []byte("not an image at all")); err != ErrBadImage {
			t.Errorf("%s garbage: got %v", kind, err)
		}
	}
}

func fuzzStrip(f *testing.F, kind string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := strip(kind, in)
		// Never more than the input (plus the minimal EXIF of a JPEG).
		if len(out) > len(in)+len(minimalExif(1)) {
			t.Fatalf("%d bytes out of %d", len(out), len(in))
		}
		if err == nil && kind == "webp" && len(in) >= 12 && len(out) > len(in) {
			t.Fatal("webp grew")
		}
	})
}

func FuzzStripJPEG(f *testing.F) {
	fuzzStrip(f, "jpeg", sampleJPEG(f, orientationExif(3)), []byte("\xFF\xD8\xFF\xD9"))
}

func FuzzStripPNG(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3)))
	fuzzStrip(f, "png", b.Bytes())
}

func FuzzStripWebP(f *testing.F) {
	fuzzStrip(f, "webp", []byte("RIFF\x12\x00\x00\x00WEBPVP8L\x06\x00\x00\x00pixels"))
}

func TestOrient(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 3, 2))
	m.Pix[0] = 1 // top-left marked
	for o, want := range map[int][3]int{1: {3, 2, 0}, 3: {3, 2, 5}, 6: {2, 3, 1}, 8: {2, 3, 4}} {
		r := orient(m, o)
		// find the marked pixel
		at := -1
		for i := 0; i < len(r.Pix); i += 4 {
			if r.Pix[i] == 1 {
				at = i / 4
			}
		}
		if r.Bounds().Dx() != want[0] || r.Bounds().Dy() != want[1] || at != want[2] {
			t.Errorf("orientation %d: %v, marked pixel at %d", o, r.Bounds(), at)
		}
	}
}
