package parley

import (
	"context"
	"io"
	"time"
)

// BlobInfo describes one stored blob.
type BlobInfo struct {
	Key     string    // content address: lowercase hex, [0-9a-f]{64}
	Size    int64     // plaintext bytes
	ModTime time.Time // last Put of this content (a Put of existing content refreshes it)
}

// Blobs stores immutable byte streams by content address. internal/blob/local
// (encrypted files under the data dir) and internal/blob/s3 implement it and
// pass the suite in internal/blob/blobtest.
//
// Every method returns *Error: CodeNotFound for a missing key (also for a
// malformed key), CodeTooLarge from Put when the stream is longer than max,
// CodeUnavailable when the backend cannot be reached.
type Blobs interface {
	// Put stores r's bytes and returns their content address. It streams
	// (memory does not grow with the size of r) and is atomic: the blob is
	// either wholly stored under its key or not at all (a failed read of r,
	// a cancelled ctx or more than max bytes leave nothing behind). max <= 0
	// means no limit. Storing content that exists already refreshes its
	// ModTime and returns the same key.
	Put(ctx context.Context, r io.Reader, max int64) (BlobInfo, error)
	// Get opens a blob for reading. The reader seeks cheaply (a Range read
	// touches only the bytes it needs) and must be closed.
	Get(ctx context.Context, key string) (io.ReadSeekCloser, BlobInfo, error)
	// Stat returns a blob's size and ModTime.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every stored blob, in no particular order, until fn
	// returns an error (which List returns).
	List(ctx context.Context, fn func(BlobInfo) error) error
}

// ValidBlobKey reports whether key has the form of a content address.
func ValidBlobKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Attachment is a file as messages carry it (REST, WebSocket frames and
// history alike). Type and dimensions are what the server found by sniffing
// and decoding the content, never the uploader's claim.
type Attachment struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"` // sanitised file name (no path, no control characters)
	MIME      string     `json:"mime"`
	Size      int64      `json:"size"`             // bytes
	Width     int        `json:"width,omitempty"`  // images only
	Height    int        `json:"height,omitempty"` // images only
	Thumbnail *Thumbnail `json:"thumbnail,omitempty"`
}

// Thumbnail describes an image attachment's server-made preview, fetched at
// /api/v1/attachments/{id}/thumbnail.
type Thumbnail struct {
	MIME   string `json:"mime"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Size   int64  `json:"size"`
}

// AttachmentPurpose says what a stored file is for.
type AttachmentPurpose string

const (
	PurposeFile   AttachmentPurpose = "file"   // a message attachment
	PurposeAvatar AttachmentPurpose = "avatar" // a user's or conversation's picture
)

// StoredAttachment is an attachment with the server-side bookkeeping the
// store keeps about it.
type StoredAttachment struct {
	Attachment
	Purpose AttachmentPurpose
	OwnerID string // the uploader
	// ConversationID is set when a message carries the file (Seq is then that
	// message's seq), or for a conversation's avatar. Empty for an unsent
	// upload and for a user's avatar.
	ConversationID string
	Seq            int64
	BlobKey        string
	ThumbKey       string // "" when there is no thumbnail
	CreatedAt      time.Time
	DeletedAt      *time.Time // set when its message was deleted or it was replaced
}

// Upload is a resumable upload in progress. Parts are stored as blobs; the
// upload is complete when Received == Size.
type Upload struct {
	ID        string       `json:"id"`
	OwnerID   string       `json:"-"`
	Name      string       `json:"name"`
	Size      int64        `json:"size"`     // declared total
	Received  int64        `json:"received"` // bytes stored so far: the offset of the next part
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	Parts     []UploadPart `json:"-"`
}

// UploadPart is one stored piece of an Upload, in offset order.
type UploadPart struct {
	Key  string
	Size int64
}

// AttachmentStore persists attachment records and resumable uploads. See
// internal/storetest for the contract. Message binding happens in
// MessageStore.AppendMessage (Message.Attachments).
type AttachmentStore interface {
	// CreateAttachment inserts a. CodeConflict if the id exists.
	CreateAttachment(ctx context.Context, a StoredAttachment) error
	// Attachment returns one record, deleted or not. CodeNotFound.
	Attachment(ctx context.Context, id string) (StoredAttachment, error)
	// AttachmentUsage returns the bytes of ownerID's live (not deleted)
	// attachments of every purpose, thumbnails not counted.
	AttachmentUsage(ctx context.Context, ownerID string) (int64, error)
	// DeleteAttachment marks an unsent file (ConversationID empty) deleted.
	// CodeNotFound if it does not exist, is not ownerID's, or was sent.
	DeleteAttachment(ctx context.Context, id, ownerID string, at time.Time) error
	// SetAvatar makes a (Purpose avatar) the current avatar of its subject —
	// the conversation a.ConversationID, or the user a.OwnerID when
	// ConversationID is empty — marking the previous one deleted.
	SetAvatar(ctx context.Context, a StoredAttachment) error
	// Avatar returns the current avatar of a conversation (conversationID
	// set) or of a user. CodeNotFound.
	Avatar(ctx context.Context, userID, conversationID string) (StoredAttachment, error)
	// UserAvatars maps each of userIDs that has a current avatar to that
	// avatar's id (users without one are absent). Any number of ids.
	UserAvatars(ctx context.Context, userIDs []string) (map[string]string, error)
	// PurgeAttachments removes the records of files never sent and created
	// before unsentBefore, and of files deleted before deletedBefore, and
	// returns how many it removed.
	PurgeAttachments(ctx context.Context, unsentBefore, deletedBefore time.Time) (int, error)
	// BlobReferenced reports whether any attachment record (deleted ones
	// included, until purged) or upload part refers to the blob key.
	BlobReferenced(ctx context.Context, key string) (bool, error)

	// CreateUpload inserts u (Received 0, no parts). CodeConflict if the id exists.
	CreateUpload(ctx context.Context, u Upload) error
	// Upload returns an upload with its parts. CodeNotFound.
	Upload(ctx context.Context, id string) (Upload, error)
	// AddUploadPart appends a part at offset, atomically: CodeConflict (field
	// offset) unless offset == Received, and CodeInvalid (field offset)
	// when the part would go past Size. Returns the upload after the change.
	AddUploadPart(ctx context.Context, id string, offset int64, part UploadPart) (Upload, error)
	// DeleteUpload removes an upload record. Missing is not an error.
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads returns the ids of uploads that expired before t.
	ExpiredUploads(ctx context.Context, t time.Time) ([]string, error)
}
