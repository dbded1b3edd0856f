package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Upload slots and file capabilities serve clients that move files as
// plain URLs (XMPP's HTTP File Upload, XEP-0363): a slot is a signed
// promise to accept one PUT of a declared size as a file of its holder,
// with the file's id fixed in advance so the download URL is known before
// the upload; a capability is a URL that serves one file to whoever holds
// it, for as long as the file lives (no expiry: it is sent in messages that
// stay in history).

// SlotTTL is how long an upload slot accepts its PUT.
const SlotTTL = 5 * time.Minute

// UploadSlot is a granted slot: PUT Size bytes with Token to store the file
// AttachmentID named Name; Capability is the download signature of that
// file (see FileCapability).
type UploadSlot struct {
	AttachmentID string
	Name         string
	Size         int64
	Token        string
	Capability   string
	ExpiresAt    time.Time
}

type slotClaims struct {
	User string `json:"u"`
	ID   string `json:"i"`
	Name string `json:"n"`
	Size int64  `json:"s"`
	Exp  int64  `json:"e"`
}

// CreateUploadSlot grants actor a slot for one file. name is sanitized as
// for any upload. Errors: unauthenticated; invalid (size not positive);
// too_large (size over the per-file cap, or the quota would be passed);
// unavailable (no file storage).
func (a *App) CreateUploadSlot(ctx context.Context, actor parley.Actor, name string, size int64) (UploadSlot, error) {
	if actor.Anonymous() {
		return UploadSlot{}, unauthenticated("sign in first")
	}
	if _, err := a.blobs(); err != nil {
		return UploadSlot{}, err
	}
	if size <= 0 {
		return UploadSlot{}, parley.Invalid("size", "size must be a positive number of bytes")
	}
	if maxFile := a.maxFileBytes(ctx, actor.Org); size > maxFile {
		return UploadSlot{}, &parley.Error{Code: parley.CodeTooLarge, Field: "size",
			Message: fmt.Sprintf("a file may have at most %d bytes", maxFile)}
	}
	if left, limited, err := a.room(ctx, actor.UserID); err != nil {
		return UploadSlot{}, err
	} else if limited && size > left {
		return UploadSlot{}, &parley.Error{Code: parley.CodeTooLarge, Field: "size",
			Message: "this file would pass your storage quota; delete files you no longer need"}
	}
	c := slotClaims{User: actor.UserID, ID: parley.NewID(), Name: SanitizeFileName(name), Size: size,
		Exp: a.now().Add(SlotTTL).Unix()}
	raw, err := json.Marshal(c)
	if err != nil {
		return UploadSlot{}, err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return UploadSlot{AttachmentID: c.ID, Name: c.Name, Size: size,
		Token: payload + "." + a.slotSignature(payload), Capability: a.FileCapability(c.ID),
		ExpiresAt: time.Unix(c.Exp, 0).UTC()}, nil
}

func (a *App) slotSignature(payload string) string {
	m := hmac.New(sha256.New, a.media.signKey)
	fmt.Fprintf(m, "slot\x00%s", payload)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// FillUploadSlot stores body (size bytes, as declared by the PUT) as the
// slot's file, owned by the slot's holder. Errors: unauthenticated (token
// forged or expired); invalid (size differs from the slot's, or the body
// is cut short); conflict (the slot was filled already); and
// UploadAttachment's.
func (a *App) FillUploadSlot(ctx context.Context, token string, body io.Reader, size int64) (parley.Attachment, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 || !hmac.Equal([]byte(sig), []byte(a.slotSignature(payload))) {
		return parley.Attachment{}, unauthenticated("the upload slot is not valid")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	var c slotClaims
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return parley.Attachment{}, unauthenticated("the upload slot is not valid")
	}
	if a.now().Unix() > c.Exp {
		return parley.Attachment{}, unauthenticated("the upload slot has expired; ask for a new one")
	}
	if size != c.Size {
		return parley.Attachment{}, parley.Invalid("size", "the slot is for %d bytes, not %d", c.Size, size)
	}
	if _, err := a.store.Attachment(ctx, c.ID); err == nil {
		return parley.Attachment{}, &parley.Error{Code: parley.CodeConflict, Field: "slot", Message: "this slot was used already"}
	} else if !parley.IsCode(err, parley.CodeNotFound) {
		return parley.Attachment{}, err
	}
	u, err := a.store.User(ctx, c.User)
	if err != nil || u.Disabled {
		return parley.Attachment{}, unauthenticated("the upload slot is not valid")
	}
	st, err := a.storeFileAs(ctx, c.User, c.ID, c.Name, body, size)
	if parley.IsCode(err, parley.CodeConflict) {
		return parley.Attachment{}, &parley.Error{Code: parley.CodeConflict, Field: "slot", Message: "this slot was used already"}
	}
	return st.Attachment, err
}

// FileCapability returns the signature that lets anyone holding it fetch
// file id (OpenFileCapability). It never expires; the file's deletion ends it.
func (a *App) FileCapability(id string) string {
	return a.signature("capability", id, "", 0)
}

// OpenFileCapability opens file id for the holder of its capability. The
// file must be live: a deleted message's files stop at once. Errors:
// unauthenticated (bad signature), not_found.
func (a *App) OpenFileCapability(ctx context.Context, id, sig string) (File, error) {
	if len(sig) != 64 || !hmac.Equal([]byte(sig), []byte(a.FileCapability(id))) {
		return File{}, unauthenticated("the link is not valid")
	}
	st, err := a.store.Attachment(ctx, id)
	if err != nil {
		return File{}, err
	}
	if st.DeletedAt != nil || st.Purpose != parley.PurposeFile {
		return File{}, notFoundAttachment()
	}
	return a.open(ctx, st, VariantOriginal)
}
