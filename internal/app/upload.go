package app

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/parley-chat/parley"
)

// Resumable uploads: CreateUpload declares name and size; UploadPart
// stores consecutive parts (each at the offset the server reports, so a
// client whose connection dropped asks GetUpload for the offset and goes
// on from there); CompleteUpload assembles the parts into an attachment,
// processed exactly like a single-request upload. Parts are blobs, so every
// node of a cluster sees them.

// CreateUpload starts a resumable upload of size bytes. Errors:
// unauthenticated; invalid (size); too_large (size over the file cap;
// quota); unavailable (no file storage).
func (a *App) CreateUpload(ctx context.Context, actor parley.Actor, name string, size int64) (parley.Upload, error) {
	if actor.Anonymous() {
		return parley.Upload{}, unauthenticated("sign in first")
	}
	if _, err := a.blobs(); err != nil {
		return parley.Upload{}, err
	}
	if size <= 0 {
		return parley.Upload{}, parley.Invalid("size", "size must be a positive number of bytes")
	}
	if maxFile := a.maxFileBytes(ctx, actor.Org); size > maxFile {
		return parley.Upload{}, parley.TooLarge("size", "files must be at most %d bytes", maxFile)
	}
	if used, err := a.store.AttachmentUsage(ctx, actor.UserID); err != nil {
		return parley.Upload{}, err
	} else if used+size > a.media.limits.QuotaBytes {
		return parley.Upload{}, quotaExceeded(a.media.limits.QuotaBytes)
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	u := parley.Upload{ID: parley.NewID(), OwnerID: actor.UserID, Name: SanitizeFileName(name), Size: size,
		CreatedAt: now, ExpiresAt: now.Add(a.media.limits.UploadTTL)}
	if err := a.store.CreateUpload(ctx, u); err != nil {
		return parley.Upload{}, err
	}
	return u, nil
}

func (a *App) upload(ctx context.Context, actor parley.Actor, id string) (parley.Upload, error) {
	if actor.Anonymous() {
		return parley.Upload{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Upload{}, parley.Invalid("id", "%q is not an upload id", id)
	}
	u, err := a.store.Upload(ctx, id)
	if err != nil {
		return u, err
	}
	if u.OwnerID != actor.UserID || !a.now().Before(u.ExpiresAt) {
		return parley.Upload{}, parley.Errorf(parley.CodeNotFound, "upload not found")
	}
	return u, nil
}

// GetUpload reports an upload's progress (Received is where to go on).
// Errors: unauthenticated, invalid, not_found (also someone else's or an
// expired upload).
func (a *App) GetUpload(ctx context.Context, actor parley.Actor, id string) (parley.Upload, error) {
	u, err := a.upload(ctx, actor, id)
	u.Parts = nil
	return u, err
}

// UploadPart stores length bytes of body at offset. Errors: as GetUpload;
// conflict (offset is not where the upload stands: the current offset is
// in the message); invalid (offset, length; a part cut short); too_large
// (length over MaxChunkBytes).
func (a *App) UploadPart(ctx context.Context, actor parley.Actor, id string, offset int64, body io.Reader,
	length int64) (parley.Upload, error) {
	u, err := a.upload(ctx, actor, id)
	if err != nil {
		return u, err
	}
	blobs, err := a.blobs()
	if err != nil {
		return parley.Upload{}, err
	}
	switch {
	case length <= 0:
		return parley.Upload{}, parley.Invalid("length", "a part needs a Content-Length of at least one byte")
	case length > a.media.limits.MaxChunkBytes:
		return parley.Upload{}, parley.TooLarge("length", "parts must be at most %d bytes", a.media.limits.MaxChunkBytes)
	case offset != u.Received:
		return parley.Upload{}, &parley.Error{Code: parley.CodeConflict, Field: "offset",
			Message: "the upload continues at offset " + itoa(u.Received)}
	case offset+length > u.Size:
		return parley.Upload{}, parley.Invalid("offset", "the part goes past the declared size %d", u.Size)
	}
	cr := &countingReader{r: body}
	info, err := blobs.Put(ctx, cr, length)
	if err != nil {
		if cr.err != nil && cr.err != io.EOF {
			return parley.Upload{}, cutShort(cr.err)
		}
		return parley.Upload{}, err
	}
	if info.Size != length {
		return parley.Upload{}, parley.Invalid("length", "the part was cut short: %d of %d bytes arrived", info.Size, length)
	}
	u, err = a.store.AddUploadPart(ctx, id, offset, parley.UploadPart{Key: info.Key, Size: info.Size})
	u.Parts = nil
	return u, err
}

// CompleteUpload turns a fully received upload into an attachment (the
// same checks as UploadAttachment) and removes the upload. Errors: as
// GetUpload; conflict (parts missing); and those of UploadAttachment.
func (a *App) CompleteUpload(ctx context.Context, actor parley.Actor, id string) (parley.Attachment, error) {
	u, err := a.upload(ctx, actor, id)
	if err != nil {
		return parley.Attachment{}, err
	}
	blobs, err := a.blobs()
	if err != nil {
		return parley.Attachment{}, err
	}
	if u.Received != u.Size {
		return parley.Attachment{}, &parley.Error{Code: parley.CodeConflict, Field: "offset",
			Message: "the upload is incomplete: " + itoa(u.Received) + " of " + itoa(u.Size) + " bytes received"}
	}
	pr := &partsReader{ctx: ctx, blobs: blobs, parts: u.Parts}
	defer pr.Close()
	st, err := a.storeFile(ctx, actor.UserID, u.Name, pr, u.Size)
	if err != nil {
		return parley.Attachment{}, err
	}
	if err := a.store.DeleteUpload(ctx, id); err != nil {
		a.log.Warn("completed upload not removed; the sweep will", "upload_id", id, "err", err)
	}
	return st.Attachment, nil
}

// CancelUpload drops an upload (its parts go with the next sweep).
func (a *App) CancelUpload(ctx context.Context, actor parley.Actor, id string) error {
	if _, err := a.upload(ctx, actor, id); err != nil {
		return err
	}
	return a.store.DeleteUpload(ctx, id)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// partsReader reads an upload's parts in order, opening one at a time.
type partsReader struct {
	ctx   context.Context
	blobs parley.Blobs
	parts []parley.UploadPart
	cur   io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.parts) == 0 {
				return 0, io.EOF
			}
			r, _, err := p.blobs.Get(p.ctx, p.parts[0].Key)
			if err != nil {
				return 0, err
			}
			p.cur, p.parts = r, p.parts[1:]
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (p *partsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}
