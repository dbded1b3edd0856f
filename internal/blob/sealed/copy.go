package sealed

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/parley-chat/parley"
)

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Copy seals r into w (at most max bytes when max > 0) and returns the
// content address (hex HMAC-SHA256 of the plaintext under addrKey) and the
// plaintext size. More than max bytes is CodeTooLarge; a failing r is
// CodeInvalid (field file, "cut short") unless it failed with a
// *parley.Error, which passes through.
func Copy(ctx context.Context, w io.Writer, r io.Reader, max int64, key, addrKey []byte) (string, int64, error) {
	sw, err := NewWriter(w, key)
	if err != nil {
		return "", 0, parley.Internal(err)
	}
	mac := hmac.New(sha256.New, addrKey)
	src := io.Reader(ctxReader{ctx, r})
	if max > 0 {
		src = io.LimitReader(src, max+1)
	}
	n, err := io.Copy(io.MultiWriter(sw, mac), src)
	if err != nil {
		if ctx.Err() != nil {
			return "", n, parley.Unavailable(ctx.Err())
		}
		if e := parley.AsError(err); e.Code != parley.CodeInternal {
			return "", n, e
		}
		return "", n, &parley.Error{Code: parley.CodeInvalid, Field: "file", Message: "the upload was cut short", Err: err}
	}
	if max > 0 && n > max {
		return "", n, parley.TooLarge("file", "the file is larger than %d bytes", max)
	}
	if err := sw.Close(); err != nil {
		return "", n, parley.Unavailable(err)
	}
	return addr(mac), n, nil
}

func addr(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
