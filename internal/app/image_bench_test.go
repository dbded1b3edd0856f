package app_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/media"
)

func photo12MP(b *testing.B) []byte {
	m := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			m.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecode12MP is the JPEG decode of a 4000×3000 photo alone.
func BenchmarkDecode12MP(b *testing.B) {
	data := photo12MP(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThumbnail12MP is the resize (to fit 320×320) and JPEG encode of
// a decoded 4000×3000 photo.
func BenchmarkThumbnail12MP(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(photo12MP(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := media.Thumbnail(img, 320, false, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadAttachment12MP is the whole upload use case for a
// 4000×3000 JPEG on SQLite and the encrypted local blob store.
func BenchmarkUploadAttachment12MP(b *testing.B) {
	e := newMediaEnv(b, app.MediaLimits{})
	alice := e.user(b, "alice")
	data := photo12MP(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data = append(data[:len(data):len(data)], byte(i)) // distinct content each time
		e.upload(b, alice, "p.jpg", data)
	}
}
