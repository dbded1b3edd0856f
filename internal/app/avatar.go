package app

import (
	"context"
	"io"
	"time"

	"github.com/parley-chat/parley"
)

// Avatars: a user's or a conversation's picture, cropped to a centred
// square and resized to AvatarSize × AvatarSize (re-encoded, so no
// metadata survives). Only the resized picture is kept; the upload itself
// goes with the next sweep.

// UserAvatarPath and ConversationAvatarPath are where avatars are served;
// ?v= changes with every new picture so caches never show a stale one.
func UserAvatarPath(userID, version string) string {
	return "/api/v1/users/" + userID + "/avatar?v=" + version
}

// ConversationAvatarPath: see UserAvatarPath.
func ConversationAvatarPath(convID, version string) string {
	return "/api/v1/conversations/" + convID + "/avatar?v=" + version
}

func (a *App) avatarFrom(ctx context.Context, owner, convID string, body io.Reader, size int64) (parley.StoredAttachment, error) {
	ing, err := a.ingest(ctx, owner, body, size, a.media.limits.AvatarSize, true)
	if err != nil {
		return parley.StoredAttachment{}, err
	}
	if ing.thumb == nil {
		return parley.StoredAttachment{}, parley.Errorf(parley.CodeUnsupportedType,
			"an avatar must be a PNG, JPEG, GIF or WebP image (this is %s)", ing.mime)
	}
	th := ing.thumb
	st := parley.StoredAttachment{
		Attachment: parley.Attachment{ID: parley.NewID(), Name: "avatar" + extFor(th.MIME), MIME: th.MIME,
			Size: th.Size, Width: th.Width, Height: th.Height},
		Purpose: parley.PurposeAvatar, OwnerID: owner, ConversationID: convID, BlobKey: th.Key,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond),
	}
	if err := a.store.SetAvatar(ctx, st); err != nil {
		return parley.StoredAttachment{}, err
	}
	return st, nil
}

// SetUserAvatar replaces actor's picture and returns it (ID is the
// version in UserAvatarPath). Errors: unauthenticated; those of
// UploadAttachment; unsupported_type (not an image).
func (a *App) SetUserAvatar(ctx context.Context, actor parley.Actor, body io.Reader, size int64) (parley.Attachment, error) {
	if actor.Anonymous() {
		return parley.Attachment{}, unauthenticated("sign in first")
	}
	st, err := a.avatarFrom(ctx, actor.UserID, "", body, size)
	return st.Attachment, err
}

// SetConversationAvatar replaces a group's or channel's picture (owners and
// admins) and points its avatar_url at it, which records a system message
// and publishes conversation_updated. Errors: as UpdateConversation and
// SetUserAvatar.
func (a *App) SetConversationAvatar(ctx context.Context, actor parley.Actor, convID string, body io.Reader,
	size int64) (parley.Conversation, error) {
	c, m, err := a.member(ctx, actor, convID)
	if err != nil {
		return c, err
	}
	if c.Kind == parley.KindDirect {
		return parley.Conversation{}, forbidden("direct conversations have no title, topic or avatar")
	}
	if !m.Role.Manager() {
		return parley.Conversation{}, forbidden("only owners and admins change the conversation")
	}
	st, err := a.avatarFrom(ctx, actor.UserID, convID, body, size)
	if err != nil {
		return parley.Conversation{}, err
	}
	url := ConversationAvatarPath(convID, st.ID)
	return a.UpdateConversation(ctx, actor, convID, ConversationUpdate{AvatarURL: &url})
}

// OpenUserAvatar opens a user's picture for anyone signed in. Errors:
// unauthenticated, invalid, not_found (no such user or no picture).
func (a *App) OpenUserAvatar(ctx context.Context, actor parley.Actor, userID string) (File, error) {
	if actor.Anonymous() {
		return File{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(userID) {
		return File{}, parley.Invalid("id", "%q is not a user id", userID)
	}
	st, err := a.store.Avatar(ctx, userID, "")
	if err != nil {
		return File{}, err
	}
	return a.open(ctx, st, VariantOriginal)
}

// OpenConversationAvatar opens a conversation's picture for its members
// (anyone signed in, for a public channel). Errors: as Conversation, and
// not_found when it has no picture.
func (a *App) OpenConversationAvatar(ctx context.Context, actor parley.Actor, convID string) (File, error) {
	if _, _, err := a.access(ctx, actor, convID); err != nil {
		return File{}, err
	}
	st, err := a.store.Avatar(ctx, "", convID)
	if err != nil {
		return File{}, err
	}
	return a.open(ctx, st, VariantOriginal)
}

// MaxAvatarLookup bounds the user ids of one UserAvatarURLs call.
const MaxAvatarLookup = 200

// UserAvatarURLs maps each of the given users who has a picture to the
// URL path it is served at (UserAvatarPath, versioned); users without one
// are absent. Lets a client show pictures without probing each user.
// Errors: unauthenticated; invalid (user_ids); too_large (more than
// MaxAvatarLookup ids).
func (a *App) UserAvatarURLs(ctx context.Context, actor parley.Actor, userIDs []string) (map[string]string, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	if len(userIDs) > MaxAvatarLookup {
		return nil, parley.TooLarge("user_ids", "at most %d user ids at a time", MaxAvatarLookup)
	}
	for _, id := range userIDs {
		if !parley.ValidID(id) {
			return nil, parley.Invalid("user_ids", "%q is not a user id", id)
		}
	}
	ids, err := a.store.UserAvatars(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for user, id := range ids {
		out[user] = UserAvatarPath(user, id)
	}
	return out, nil
}
