package app

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/media"
)

// MediaLimits bound uploads. Zero fields take the defaults of
// DefaultMediaLimits; documented in docs/media.md.
type MediaLimits struct {
	MaxFileBytes   int64 // one file; default 100 MiB
	QuotaBytes     int64 // live files (and avatars) per user; default 1 GiB
	MaxPixels      int64 // width × height of an image, checked before decoding; default 50 megapixels
	MaxChunkBytes  int64 // one part of a resumable upload; default 16 MiB
	ThumbSize      int   // thumbnails fit in ThumbSize × ThumbSize; default 320
	AvatarSize     int   // avatars are AvatarSize × AvatarSize; default 256
	MaxAttachments int   // files per message; default 10
	// Allow and Deny are media type patterns ("image/*", "application/pdf").
	// A sniffed type must match Allow (empty: everything) and not Deny.
	Allow []string
	Deny  []string
	// URLTTL is how long a signed file URL stays valid; default 10 minutes.
	URLTTL time.Duration
	// UploadTTL is how long an unfinished resumable upload is kept; default 24 hours.
	UploadTTL time.Duration
	// Grace is how long an unsent file, a deleted file's record and an
	// unreferenced blob are kept before the sweep removes them; default 24 hours.
	Grace time.Duration
}

// DefaultMediaLimits returns the defaults documented in docs/media.md.
func DefaultMediaLimits() MediaLimits {
	return MediaLimits{
		MaxFileBytes:   100 << 20,
		QuotaBytes:     1 << 30,
		MaxPixels:      50_000_000,
		MaxChunkBytes:  16 << 20,
		ThumbSize:      320,
		AvatarSize:     256,
		MaxAttachments: 10,
		Deny:           nil,
		URLTTL:         10 * time.Minute,
		UploadTTL:      24 * time.Hour,
		Grace:          24 * time.Hour,
	}
}

func (l *MediaLimits) fill() {
	d := DefaultMediaLimits()
	orDefault(&l.MaxFileBytes, d.MaxFileBytes)
	orDefault(&l.QuotaBytes, d.QuotaBytes)
	orDefault(&l.MaxPixels, d.MaxPixels)
	orDefault(&l.MaxChunkBytes, d.MaxChunkBytes)
	orDefault(&l.ThumbSize, d.ThumbSize)
	orDefault(&l.AvatarSize, d.AvatarSize)
	orDefault(&l.MaxAttachments, d.MaxAttachments)
	orDefault(&l.URLTTL, d.URLTTL)
	orDefault(&l.UploadTTL, d.UploadTTL)
	orDefault(&l.Grace, d.Grace)
}

// MediaOptions configure files and media. Blobs nil disables uploads
// (every file use case answers unavailable).
type MediaOptions struct {
	Blobs  parley.Blobs
	Limits MediaLimits
	// SignKey signs short-lived file URLs; every node of a cluster needs the
	// same key. Empty: a random key (URLs then only work on this node).
	SignKey []byte
}

// media is the App's file state.
type files struct {
	blobs   parley.Blobs
	limits  MediaLimits
	signKey []byte
	images  *media.Decoder // bounds image decoding (pixels, concurrency)
}

func newMedia(o MediaOptions) *files {
	m := &files{blobs: o.Blobs, limits: o.Limits, signKey: o.SignKey}
	m.limits.fill()
	m.images = media.NewDecoder(m.limits.MaxPixels, 2)
	if len(m.signKey) == 0 {
		m.signKey = []byte(parley.NewID() + parley.NewID())
	}
	return m
}

// MediaLimits returns the media limits in force.
func (a *App) MediaLimits() MediaLimits { return a.media.limits }

func (a *App) blobs() (parley.Blobs, error) {
	if a.media.blobs == nil {
		return nil, parley.Errorf(parley.CodeUnavailable, "file storage is not configured")
	}
	return a.media.blobs, nil
}

// MaxFileNameBytes bounds a stored file name.
const MaxFileNameBytes = 255

// SanitizeFileName reduces a client-given name to a safe base name: no
// directories ("../../x" → "x", "C:\\a\\b" → "b"), no control, format or
// bidi characters, no leading dots or trailing dots and spaces, valid
// UTF-8, at most MaxFileNameBytes bytes (the extension kept). An empty
// result becomes "file".
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		if r == ':' || r == '"' || r == '<' || r == '>' || r == '|' || r == '?' || r == '*' {
			return '_'
		}
		return r
	}, name)
	dotOrSpace := func(r rune) bool { return r == '.' || unicode.IsSpace(r) }
	name = strings.TrimRightFunc(strings.TrimLeftFunc(name, dotOrSpace), dotOrSpace)
	if len(name) > MaxFileNameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		base := name[:MaxFileNameBytes-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = strings.TrimRightFunc(base+ext, dotOrSpace)
	}
	if name == "" {
		return "file"
	}
	return name
}

// sniff decides a file's media type from its first bytes (never from the
// client's claim). Parameters are dropped except a text charset.
func sniff(head []byte) string {
	t := http.DetectContentType(head)
	mt, params, err := mime.ParseMediaType(t)
	if err != nil {
		return "application/octet-stream"
	}
	if cs := params["charset"]; cs != "" && strings.HasPrefix(mt, "text/") {
		return mt + "; charset=" + cs
	}
	return mt
}

func typeMatches(pattern, mt string) bool {
	pattern = strings.ToLower(strings.TrimSpace(pattern))
	if pattern == "*" || pattern == "*/*" {
		return true
	}
	if strings.HasSuffix(pattern, "/*") {
		return strings.HasPrefix(mt, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == mt
}

// checkType applies the allow and deny lists to a sniffed type.
func (m *files) checkType(mt string) error {
	essence, _, _ := strings.Cut(mt, ";")
	for _, p := range m.limits.Deny {
		if typeMatches(p, essence) {
			return parley.Errorf(parley.CodeUnsupportedType, "files of type %s are not accepted here", essence)
		}
	}
	if len(m.limits.Allow) == 0 {
		return nil
	}
	for _, p := range m.limits.Allow {
		if typeMatches(p, essence) {
			return nil
		}
	}
	return parley.Errorf(parley.CodeUnsupportedType, "files of type %s are not accepted here", essence)
}

// room returns how many bytes owner may still store, capped at the file
// limit, and whether the quota (rather than the file cap) is the bound.
func (a *App) room(ctx context.Context, owner string) (int64, bool, error) {
	used, err := a.store.AttachmentUsage(ctx, owner)
	if err != nil {
		return 0, false, err
	}
	left := a.media.limits.QuotaBytes - used
	if left <= 0 {
		return 0, true, quotaExceeded(a.media.limits.QuotaBytes)
	}
	u, err := a.store.User(ctx, owner)
	if err != nil {
		return 0, false, err
	}
	maxFile := a.maxFileBytes(ctx, u.Org)
	if left < maxFile {
		return left, true, nil
	}
	return maxFile, false, nil
}

// maxFileBytes is the file size limit of a member of organisation org.
func (a *App) maxFileBytes(ctx context.Context, org string) int64 {
	return parley.Tighter(a.media.limits.MaxFileBytes, a.orgLimits(ctx, org).MaxUploadBytes)
}

func quotaExceeded(q int64) error {
	return parley.TooLarge("quota", "your storage quota of %d bytes is used up; delete files first", q)
}

// ingested is a stored file before its record is written.
type ingested struct {
	key, mime     string
	size          int64
	width, height int
	thumb         *media.StoredThumbnail
}

// ingest streams src into the blob store: sniffs the type, applies the
// type lists and limits, strips image metadata on the way, then (for
// images) checks the dimensions from the header before decoding and makes a
// thumbnail. declared is the expected size (-1 unknown): a shorter stream
// is a cut-short upload.
func (a *App) ingest(ctx context.Context, owner string, src io.Reader, declared int64, thumbSize int, square bool) (ingested, error) {
	blobs, err := a.blobs()
	if err != nil {
		return ingested{}, err
	}
	limit, byQuota, err := a.room(ctx, owner)
	if err != nil {
		return ingested{}, err
	}
	if declared > limit {
		if byQuota {
			return ingested{}, quotaExceeded(a.media.limits.QuotaBytes)
		}
		return ingested{}, parley.TooLarge("file", "files must be at most %d bytes", limit)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return ingested{}, cutShort(err)
	}
	mt := sniff(head)
	if err := a.media.checkType(mt); err != nil {
		return ingested{}, err
	}
	counted := &countingReader{r: br}
	var body io.Reader = counted
	var meta media.Meta
	body = media.Strip(mt, counted, &meta)
	tooLarge := func() error {
		if byQuota {
			return quotaExceeded(a.media.limits.QuotaBytes)
		}
		return parley.TooLarge("file", "files must be at most %d bytes", limit)
	}
	info, err := blobs.Put(ctx, &imageErrReader{body, mt}, limit)
	if err != nil {
		if counted.err != nil && counted.err != io.EOF {
			return ingested{}, cutShort(counted.err) // the client went away
		}
		if parley.IsCode(err, parley.CodeTooLarge) {
			return ingested{}, tooLarge()
		}
		return ingested{}, err
	}
	// A stripper stops at the image's end: read what follows (dropped) so
	// that sizes and limits account for the whole upload.
	if _, err := io.Copy(io.Discard, io.LimitReader(counted, limit+1-counted.n)); err != nil {
		return ingested{}, cutShort(err)
	}
	if counted.n > limit {
		return ingested{}, tooLarge()
	}
	if declared >= 0 && counted.n != declared {
		return ingested{}, parley.Invalid("file", "the upload was cut short: %d of %d bytes arrived", counted.n, declared)
	}
	out := ingested{key: info.Key, mime: mt, size: info.Size}
	if media.IsImage(mt) {
		img, err := a.media.images.Inspect(ctx, blobs, info.Key, mt, meta, thumbSize, square)
		if err != nil {
			return ingested{}, err
		}
		out.width, out.height, out.thumb = img.Width, img.Height, img.Thumb
	}
	return out, nil
}

// countingReader counts the bytes read and remembers the first error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// imageErrReader turns a stripper's media.ErrBadImage into a typed error.
type imageErrReader struct {
	r  io.Reader
	mt string
}

func (e *imageErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, media.ErrBadImage) {
		err = media.BadImage(e.mt)
	}
	return n, err
}

func cutShort(err error) error {
	return &parley.Error{Code: parley.CodeInvalid, Field: "file", Message: "the upload was cut short", Err: err}
}

// UploadInput is one file streamed in a single request.
type UploadInput struct {
	Name string
	Body io.Reader
	Size int64 // declared length, -1 if unknown
}

// UploadAttachment stores a file for actor to send in a message. It
// streams: memory does not grow with the file. Errors: unauthenticated;
// too_large (file: over the per-file cap, stopped as soon as the cap is
// passed; quota); unsupported_type (denied type, or an image that does not
// decode); invalid (file: cut short); unavailable (no file storage).
func (a *App) UploadAttachment(ctx context.Context, actor parley.Actor, in UploadInput) (parley.Attachment, error) {
	if actor.Anonymous() {
		return parley.Attachment{}, unauthenticated("sign in first")
	}
	st, err := a.storeFile(ctx, actor.UserID, SanitizeFileName(in.Name), in.Body, in.Size)
	return st.Attachment, err
}

func (a *App) storeFile(ctx context.Context, owner, name string, body io.Reader, size int64) (parley.StoredAttachment, error) {
	return a.storeFileAs(ctx, owner, parley.NewID(), name, body, size)
}

// storeFileAs is storeFile with the attachment id chosen by the caller (an
// upload slot's); the store answers conflict if the id exists.
func (a *App) storeFileAs(ctx context.Context, owner, id, name string, body io.Reader, size int64) (parley.StoredAttachment, error) {
	ing, err := a.ingest(ctx, owner, body, size, a.media.limits.ThumbSize, false)
	if err != nil {
		return parley.StoredAttachment{}, err
	}
	st := parley.StoredAttachment{
		Attachment: parley.Attachment{ID: id, Name: name, MIME: ing.mime, Size: ing.size,
			Width: ing.width, Height: ing.height},
		Purpose: parley.PurposeFile, OwnerID: owner, BlobKey: ing.key,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond),
	}
	if ing.thumb != nil {
		st.ThumbKey = ing.thumb.Key
		st.Thumbnail = &ing.thumb.Thumbnail
	}
	if err := a.store.CreateAttachment(ctx, st); err != nil {
		return parley.StoredAttachment{}, err
	}
	return st, nil
}

// checkAttachmentID validates an attachment id from a client.
func checkAttachmentID(field, id string) error {
	if !parley.ValidID(id) {
		return parley.Invalid(field, "%q is not an attachment id", id)
	}
	return nil
}

// attachmentsFor resolves the attachment ids of a message being sent:
// each must be an unsent, live file of the sender (the store re-checks and
// binds atomically). Duplicates are dropped.
func (a *App) attachmentsFor(ctx context.Context, actor parley.Actor, ids []string) ([]parley.Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > a.media.limits.MaxAttachments {
		return nil, parley.TooLarge("attachment_ids", "a message carries at most %d files", a.media.limits.MaxAttachments)
	}
	seen := map[string]bool{}
	out := make([]parley.Attachment, 0, len(ids))
	for _, id := range ids {
		if err := checkAttachmentID("attachment_ids", id); err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		st, err := a.store.Attachment(ctx, id)
		if err != nil && !parley.IsCode(err, parley.CodeNotFound) {
			return nil, err
		}
		if err != nil || st.OwnerID != actor.UserID || st.Purpose != parley.PurposeFile || st.DeletedAt != nil {
			return nil, parley.Invalid("attachment_ids", "attachment %s is not a file you uploaded", id)
		}
		if st.ConversationID != "" {
			return nil, parley.Invalid("attachment_ids", "attachment %s was sent already; upload it again", id)
		}
		out = append(out, st.Attachment)
	}
	return out, nil
}

// attachmentFor returns the record of id if actor may read it: the
// uploader (sent or not), or a current member of the conversation whose
// message carries it. Anything else, deleted files included, is not_found.
func (a *App) attachmentFor(ctx context.Context, actor parley.Actor, id string) (parley.StoredAttachment, error) {
	if actor.Anonymous() {
		return parley.StoredAttachment{}, unauthenticated("sign in first")
	}
	if err := checkAttachmentID("id", id); err != nil {
		return parley.StoredAttachment{}, err
	}
	st, err := a.store.Attachment(ctx, id)
	if err != nil {
		return st, err
	}
	if st.DeletedAt != nil || st.Purpose != parley.PurposeFile {
		return parley.StoredAttachment{}, notFoundAttachment()
	}
	if st.ConversationID == "" {
		if st.OwnerID != actor.UserID {
			return parley.StoredAttachment{}, notFoundAttachment()
		}
		return st, nil
	}
	if err := a.IsMember(ctx, actor, st.ConversationID); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.StoredAttachment{}, notFoundAttachment()
		}
		return parley.StoredAttachment{}, err
	}
	return st, nil
}

func notFoundAttachment() error { return parley.Errorf(parley.CodeNotFound, "attachment not found") }

// Attachment returns a file's metadata to someone who may read it.
// Errors: unauthenticated, invalid (id), not_found.
func (a *App) Attachment(ctx context.Context, actor parley.Actor, id string) (parley.Attachment, error) {
	st, err := a.attachmentFor(ctx, actor, id)
	return st.Attachment, err
}

// DeleteAttachment discards one of actor's unsent files. Errors:
// unauthenticated, invalid, not_found (also for sent files: delete the
// message instead).
func (a *App) DeleteAttachment(ctx context.Context, actor parley.Actor, id string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkAttachmentID("id", id); err != nil {
		return err
	}
	return a.store.DeleteAttachment(ctx, id, actor.UserID, a.now().UTC())
}

// File is an open stored file to serve.
type File struct {
	Content io.ReadSeekCloser // plaintext; Range reads decrypt only what they need
	Name    string
	MIME    string
	Size    int64
	ModTime time.Time
}

// Variant selects the original file or its thumbnail.
type Variant string

const (
	VariantOriginal  Variant = "original"
	VariantThumbnail Variant = "thumbnail"
)

func (a *App) open(ctx context.Context, st parley.StoredAttachment, v Variant) (File, error) {
	blobs, err := a.blobs()
	if err != nil {
		return File{}, err
	}
	key, mt, name := st.BlobKey, st.MIME, st.Name
	if v == VariantThumbnail {
		if st.ThumbKey == "" || st.Thumbnail == nil {
			return File{}, parley.Errorf(parley.CodeNotFound, "this file has no thumbnail")
		}
		key, mt = st.ThumbKey, st.Thumbnail.MIME
		name = strings.TrimSuffix(name, path.Ext(name)) + "-thumbnail" + extFor(mt)
	}
	r, info, err := blobs.Get(ctx, key)
	if err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			a.log.Error("blob of a live attachment is missing", "attachment_id", st.ID, "blob", key)
			return File{}, notFoundAttachment()
		}
		return File{}, err
	}
	return File{Content: r, Name: name, MIME: mt, Size: info.Size, ModTime: st.CreatedAt}, nil
}

func extFor(mt string) string {
	switch mt {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	}
	return ""
}

// OpenAttachment opens a file (or its thumbnail) for someone who may read
// it. The caller closes File.Content. Errors: as Attachment, and not_found
// for a thumbnail of a file that has none.
func (a *App) OpenAttachment(ctx context.Context, actor parley.Actor, id string, v Variant) (File, error) {
	st, err := a.attachmentFor(ctx, actor, id)
	if err != nil {
		return File{}, err
	}
	return a.open(ctx, st, v)
}

func (a *App) signature(kind, id string, v Variant, exp int64) string {
	m := hmac.New(sha256.New, a.media.signKey)
	fmt.Fprintf(m, "%s\x00%s\x00%s\x00%d", kind, id, v, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// SignedURL is a short-lived capability to fetch one file without
// credentials (for <img src> and download links).
type SignedURL struct {
	Query     string    // "exp=…&sig=…", to append to the file's path
	ExpiresAt time.Time // URLTTL from now
}

// SignAttachment returns a signed query for a file actor may read.
func (a *App) SignAttachment(ctx context.Context, actor parley.Actor, id string, v Variant) (SignedURL, error) {
	if _, err := a.attachmentFor(ctx, actor, id); err != nil {
		return SignedURL{}, err
	}
	exp := a.now().Add(a.media.limits.URLTTL).Unix()
	return SignedURL{Query: "exp=" + strconv.FormatInt(exp, 10) + "&sig=" + a.signature("attachment", id, v, exp),
		ExpiresAt: time.Unix(exp, 0).UTC()}, nil
}

// OpenSignedAttachment opens a file for the holder of a signed URL. The
// file must still be live (a deleted message's files stop at once).
// Errors: unauthenticated (bad or expired signature), not_found.
func (a *App) OpenSignedAttachment(ctx context.Context, id string, v Variant, exp, sig string) (File, error) {
	if err := a.checkSignature("attachment", id, v, exp, sig); err != nil {
		return File{}, err
	}
	st, err := a.store.Attachment(ctx, id)
	if err != nil {
		return File{}, err
	}
	if st.DeletedAt != nil || st.Purpose != parley.PurposeFile {
		return File{}, notFoundAttachment()
	}
	return a.open(ctx, st, v)
}

func (a *App) checkSignature(kind, id string, v Variant, exp, sig string) error {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || len(sig) != 64 {
		return unauthenticated("the link is malformed")
	}
	if !hmac.Equal([]byte(sig), []byte(a.signature(kind, id, v, e))) {
		return unauthenticated("the link is not valid")
	}
	if a.now().Unix() > e {
		return unauthenticated("the link has expired; ask for a new one")
	}
	return nil
}

// SweepResult counts what one sweep removed.
type SweepResult struct {
	Records int // attachment records purged
	Uploads int // expired resumable uploads dropped
	Blobs   int // unreferenced blobs deleted
}

// SweepMedia garbage-collects files: records of files never sent and of
// deleted files older than the grace period, expired resumable uploads, and
// then every blob that no record or upload refers to and that was not
// written within the grace period (so a file being uploaded right now is
// never swept). Safe to run on several nodes at once.
func (a *App) SweepMedia(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	blobs, err := a.blobs()
	if err != nil {
		return res, err
	}
	now := a.now()
	cut := now.Add(-a.media.limits.Grace)
	if res.Records, err = a.store.PurgeAttachments(ctx, cut, cut); err != nil {
		return res, err
	}
	ids, err := a.store.ExpiredUploads(ctx, now)
	if err != nil {
		return res, err
	}
	for _, id := range ids {
		if err := a.store.DeleteUpload(ctx, id); err != nil {
			return res, err
		}
		res.Uploads++
	}
	var stale []string
	err = blobs.List(ctx, func(b parley.BlobInfo) error {
		if b.ModTime.Before(cut) {
			stale = append(stale, b.Key)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, key := range stale {
		used, err := a.store.BlobReferenced(ctx, key)
		if err != nil {
			return res, err
		}
		if used {
			continue
		}
		// Re-check freshness: a Put of the same content since the listing
		// refreshed it, and its record may not be written yet.
		if info, err := blobs.Stat(ctx, key); err != nil || !info.ModTime.Before(cut) {
			continue
		}
		if err := blobs.Delete(ctx, key); err != nil {
			return res, err
		}
		res.Blobs++
	}
	return res, nil
}
