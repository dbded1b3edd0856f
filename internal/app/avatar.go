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
// version in the transport's avatar path). Errors: unauthenticated; those of
// UploadAttachment; unsupported_type (not an image).
func (a *App) SetUserAvatar(ctx context.Context, actor parley.Actor, body io.Reader, size int64) (parley.Attachment, error) {
	if actor.Anonymous() {
		return parley.Attachment{}, unauthenticated("sign in first")
	}
	st, err := a.avatarFrom(ctx, actor.UserID, "", body, size)
	return st.Attachment, err
}

// SetConversationAvatar replaces a group's or channel's picture (owners and
// admins) and points its avatar_url at servedAt(version), the path where
// the calling transport serves that version of the picture; that records a
// system message and publishes conversation_updated. Errors: as
// UpdateConversation and SetUserAvatar.
func (a *App) SetConversationAvatar(ctx context.Context, actor parley.Actor, convID string, body io.Reader,
	size int64, servedAt func(version string) string) (parley.Conversation, error) {
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
	url := servedAt(st.ID)
	return a.UpdateConversation(ctx, actor, convID, ConversationUpdate{AvatarURL: &url})
}

// OpenUserAvatar opens a user's picture for anyone signed in in the same
// organisation. Errors: unauthenticated, invalid, not_found (no such user
// in the caller's organisation, or no picture).
func (a *App) OpenUserAvatar(ctx context.Context, actor parley.Actor, userID string) (File, error) {
	if actor.Anonymous() {
		return File{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(userID) {
		return File{}, parley.Invalid("id", "%q is not a user id", userID)
	}
	if _, err := a.visibleUser(ctx, actor, userID); err != nil {
		return File{}, err
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

// MaxAvatarLookup bounds the user ids of one UserAvatarVersions call.
const MaxAvatarLookup = 200

// UserAvatarVersions maps each of the given users who has a picture to its
// version (the picture's attachment id, which changes with every new
// picture); users without one are absent. Transports turn versions into
// the paths they serve pictures at, so a client shows pictures without
// probing each user.
// Errors: unauthenticated; invalid (user_ids); too_large (more than
// MaxAvatarLookup ids).
func (a *App) UserAvatarVersions(ctx context.Context, actor parley.Actor, userIDs []string) (map[string]string, error) {
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
	// Users of other organisations are absent, as users without a picture.
	users, err := a.store.Users(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	same := make([]string, 0, len(users))
	for _, u := range users {
		if parley.SameOrg(actor.Org, u.Org) {
			same = append(same, u.ID)
		}
	}
	return a.store.UserAvatars(ctx, same)
}
