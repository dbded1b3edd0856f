package app

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// Conversation input limits (characters).
const (
	MaxTitleChars     = 100
	MaxTopicChars     = 500
	MaxAvatarURLBytes = 2048
	MaxPageLimit      = 200 // largest page of any list (history, members, conversations)
	DefaultPageLimit  = 50
)

// CreateConversationInput is a new conversation. MemberIDs are the other
// users to add; the caller is always a member (the owner, for groups and
// channels). Direct conversations take exactly one other user.
type CreateConversationInput struct {
	Kind      parley.ConversationKind
	Title     string
	Topic     string
	MemberIDs []string
	Public    bool // channels only
	Broadcast bool // channels only
	// Encrypted makes a direct or group conversation end-to-end encrypted
	// (docs/e2ee.md), fixed at creation. A pair may have one plain and one
	// encrypted direct conversation.
	Encrypted bool
}

// ConversationUpdate changes a conversation's descriptive fields; nil stays.
type ConversationUpdate struct {
	Title     *string
	Topic     *string
	AvatarURL *string
}

func notFoundConversation() error {
	return parley.Errorf(parley.CodeNotFound, "conversation not found")
}

func forbidden(format string, args ...any) error {
	return parley.Errorf(parley.CodeForbidden, format, args...)
}

func checkText(field, s string, maxChars int) error {
	if !utf8.ValidString(s) {
		return parley.Invalid(field, "%s must be valid UTF-8", field)
	}
	if strings.ContainsRune(s, 0) {
		return parley.Invalid(field, "%s must not contain NUL characters", field)
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return parley.TooLarge(field, "%s must be at most %d characters (got %d)", field, maxChars, n)
	}
	return nil
}

func checkConversationID(id string) error {
	if !parley.ValidID(id) {
		return parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	return nil
}

// CreateConversation creates a direct conversation, group or channel and
// returns it with created=true; for a direct conversation that already
// exists between the two users it returns that one with created=false.
// Errors: unauthenticated; invalid/too_large naming the field (kind, title,
// topic, member_ids, public, broadcast); not_found (field member_ids) for an
// unknown user; too_large when over the member limit.
func (a *App) CreateConversation(ctx context.Context, actor parley.Actor, in CreateConversationInput) (parley.Conversation, bool, error) {
	if actor.Anonymous() {
		return parley.Conversation{}, false, unauthenticated("sign in first")
	}
	if !in.Kind.Valid() {
		return parley.Conversation{}, false, parley.Invalid("kind", "kind must be direct, group or channel")
	}
	in.Title = strings.TrimSpace(in.Title)
	if err := checkText("title", in.Title, MaxTitleChars); err != nil {
		return parley.Conversation{}, false, err
	}
	if err := checkText("topic", in.Topic, MaxTopicChars); err != nil {
		return parley.Conversation{}, false, err
	}
	if in.Kind != parley.KindChannel && in.Public {
		return parley.Conversation{}, false, parley.Invalid("public", "only channels can be public")
	}
	if in.Kind != parley.KindChannel && in.Broadcast {
		return parley.Conversation{}, false, parley.Invalid("broadcast", "only channels can be broadcast-only")
	}
	if in.Kind == parley.KindChannel && in.Encrypted {
		return parley.Conversation{}, false, parley.Invalid("encrypted", "only direct and group conversations can be end-to-end encrypted")
	}
	if in.Kind == parley.KindChannel && in.Title == "" {
		return parley.Conversation{}, false, parley.Invalid("title", "a channel needs a title")
	}
	// Other members, de-duplicated, without the caller.
	seen := map[string]bool{actor.UserID: true}
	var others []string
	for _, id := range in.MemberIDs {
		if !parley.ValidID(id) {
			return parley.Conversation{}, false, parley.Invalid("member_ids", "member_ids must hold user ids")
		}
		if !seen[id] {
			seen[id] = true
			others = append(others, id)
		}
	}
	if maxMembers := a.maxMembers(ctx, actor.Org); len(others)+1 > maxMembers {
		return parley.Conversation{}, false, parley.TooLarge("member_ids", "a conversation has at most %d members", maxMembers)
	}
	if in.Kind == parley.KindDirect {
		if len(others) != 1 {
			return parley.Conversation{}, false, parley.Invalid("member_ids", "a direct conversation needs exactly one other user")
		}
		if in.Title != "" || in.Topic != "" {
			return parley.Conversation{}, false, parley.Invalid("title", "direct conversations have no title or topic")
		}
	}
	if len(others) > 0 {
		if err := a.refuseBlocked(ctx, actor.UserID, others, "member_ids"); err != nil {
			return parley.Conversation{}, false, err
		}
		users, err := a.store.Users(ctx, others)
		if err != nil {
			return parley.Conversation{}, false, err
		}
		if len(users) != len(others) {
			return parley.Conversation{}, false, &parley.Error{Code: parley.CodeNotFound, Field: "member_ids",
				Message: "member_ids holds an unknown user"}
		}
		if err := parley.AdmitOrgMembers("member_ids", actor.Org, users); err != nil {
			return parley.Conversation{}, false, err
		}
	}
	now := a.now().UTC()
	c := parley.Conversation{ID: parley.NewID(), Kind: in.Kind, Title: in.Title, Topic: in.Topic, Public: in.Public,
		Broadcast: in.Broadcast, CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now, Org: parley.OrgID(actor.Org),
		Encrypted: in.Encrypted}
	ownerRole := parley.RoleOwner
	if in.Kind == parley.KindDirect {
		c.DirectKey = parley.DirectKey(actor.UserID, others[0])
		if in.Encrypted {
			c.DirectKey = parley.EncryptedDirectKey(actor.UserID, others[0])
		}
		if existing, err := a.store.ConversationByDirectKey(ctx, c.DirectKey); err == nil {
			return existing, false, nil
		}
		if err := a.mayStartDirect(ctx, actor.UserID, actor.Org, others[0]); err != nil { // contact.go
			return parley.Conversation{}, false, err
		}
		ownerRole = parley.RoleMember // two equals
	}
	members := []parley.Member{{UserID: actor.UserID, Role: ownerRole, JoinedAt: now}}
	for _, id := range others {
		members = append(members, parley.Member{UserID: id, Role: parley.RoleMember, JoinedAt: now})
	}
	sys := parley.Message{ID: parley.NewID(), SenderID: actor.UserID, Kind: parley.MessageSystem, CreatedAt: now,
		System: &parley.SystemInfo{Action: parley.SystemCreated, ActorID: actor.UserID, UserIDs: append([]string{actor.UserID}, others...)}}
	res, err := a.store.CreateConversation(ctx, c, members, []parley.Message{sys}, func(r parley.MembershipResult) {
		for _, m := range r.Members {
			a.publishJoined(r.Conversation, m)
		}
		for _, m := range r.System {
			a.publishMessage(parley.EventMessage, m)
		}
	})
	if parley.IsCode(err, parley.CodeConflict) && c.DirectKey != "" {
		// Created concurrently by the other user.
		existing, err := a.store.ConversationByDirectKey(ctx, c.DirectKey)
		return existing, false, err
	}
	if err != nil {
		return parley.Conversation{}, false, err
	}
	return res.Conversation, true, nil
}

// access loads a conversation and the actor's membership. A non-member gets
// not_found for a private conversation and (member=nil) the conversation for
// a public channel; callers decide what a public non-member may do.
func (a *App) access(ctx context.Context, actor parley.Actor, convID string) (parley.Conversation, *parley.Member, error) {
	if actor.Anonymous() {
		return parley.Conversation{}, nil, unauthenticated("sign in first")
	}
	if err := checkConversationID(convID); err != nil {
		return parley.Conversation{}, nil, err
	}
	c, err := a.store.Conversation(ctx, convID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return c, nil, notFoundConversation()
	}
	if err != nil {
		return c, nil, err
	}
	m, err := a.store.Member(ctx, convID, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		if c.Public && parley.SameOrg(actor.Org, c.Org) {
			return c, nil, nil
		}
		return parley.Conversation{}, nil, notFoundConversation()
	}
	if err != nil {
		return c, nil, err
	}
	return c, &m, nil
}

// member is access for operations reserved to members: a non-member of a
// public channel gets forbidden ("join first"), of anything else not_found.
func (a *App) member(ctx context.Context, actor parley.Actor, convID string) (parley.Conversation, parley.Member, error) {
	c, m, err := a.access(ctx, actor, convID)
	if err != nil {
		return c, parley.Member{}, err
	}
	if m == nil {
		return c, parley.Member{}, forbidden("join the channel first")
	}
	return c, *m, nil
}

// IsMember returns nil if actor is a current member of conversationID, else
// not_found (also for malformed ids and anonymous actors).
func (a *App) IsMember(ctx context.Context, actor parley.Actor, conversationID string) error {
	if actor.Anonymous() || !parley.ValidID(conversationID) {
		return notFoundConversation()
	}
	_, err := a.store.Member(ctx, conversationID, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return notFoundConversation()
	}
	return err
}

// ConversationIDs lists the ids of every conversation actor is a member of
// (the real-time gateway subscribes a connection to them).
func (a *App) ConversationIDs(ctx context.Context, actor parley.Actor) ([]string, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.ConversationIDs(ctx, actor.UserID)
}

// Conversation returns one conversation to a member, or to anyone signed in
// for a public channel. Errors: unauthenticated, invalid, not_found.
func (a *App) Conversation(ctx context.Context, actor parley.Actor, id string) (parley.Conversation, error) {
	c, _, err := a.access(ctx, actor, id)
	return c, err
}

// ConversationEntry returns one conversation as the caller's list shows it
// (own membership, newest message, unread count) and member=true. A
// signed-in non-member of a public channel gets the bare conversation
// (only Entry.Conversation set) and member=false. Errors: unauthenticated,
// invalid, not_found.
func (a *App) ConversationEntry(ctx context.Context, actor parley.Actor, id string) (parley.ConversationEntry, bool, error) {
	c, m, err := a.access(ctx, actor, id)
	if err != nil {
		return parley.ConversationEntry{}, false, err
	}
	if m != nil {
		e, err := a.store.ConversationEntry(ctx, actor.UserID, id)
		if err == nil {
			return e, true, nil
		}
		if !parley.IsCode(err, parley.CodeNotFound) {
			return parley.ConversationEntry{}, false, err
		}
		if !c.Public { // left between the two reads
			return parley.ConversationEntry{}, false, notFoundConversation()
		}
	}
	return parley.ConversationEntry{Conversation: c}, false, nil
}

// UpdateConversation changes title, topic or avatar (owners and admins of
// groups and channels), records a system message and publishes
// conversation_updated. Errors: unauthenticated, invalid/too_large (title,
// topic, avatar_url), not_found, forbidden.
func (a *App) UpdateConversation(ctx context.Context, actor parley.Actor, id string, in ConversationUpdate) (parley.Conversation, error) {
	c, m, err := a.member(ctx, actor, id)
	if err != nil {
		return c, err
	}
	if c.Kind == parley.KindDirect {
		return parley.Conversation{}, forbidden("direct conversations have no title, topic or avatar")
	}
	if !m.Role.Manager() {
		return parley.Conversation{}, forbidden("only owners and admins change the conversation")
	}
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		in.Title = &t
		if err := checkText("title", t, MaxTitleChars); err != nil {
			return parley.Conversation{}, err
		}
		if t == "" && c.Kind == parley.KindChannel {
			return parley.Conversation{}, parley.Invalid("title", "a channel needs a title")
		}
	}
	if in.Topic != nil {
		if err := checkText("topic", *in.Topic, MaxTopicChars); err != nil {
			return parley.Conversation{}, err
		}
	}
	if in.AvatarURL != nil {
		u := *in.AvatarURL
		if err := checkText("avatar_url", u, MaxAvatarURLBytes); err != nil {
			return parley.Conversation{}, err
		}
		if len(u) > MaxAvatarURLBytes {
			return parley.Conversation{}, parley.TooLarge("avatar_url", "avatar_url must be at most %d bytes", MaxAvatarURLBytes)
		}
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "/") {
			return parley.Conversation{}, parley.Invalid("avatar_url", "avatar_url must be an http(s) URL or a path on this server")
		}
	}
	if in.Title == nil && in.Topic == nil && in.AvatarURL == nil {
		return c, nil
	}
	now := a.now().UTC()
	sys := parley.Message{ID: parley.NewID(), SenderID: actor.UserID, Kind: parley.MessageSystem, CreatedAt: now,
		System: &parley.SystemInfo{Action: parley.SystemConversationUp, ActorID: actor.UserID, Title: in.Title, Topic: in.Topic}}
	res, err := a.store.UpdateConversation(ctx, id, parley.ConversationPatch{Title: in.Title, Topic: in.Topic, AvatarURL: in.AvatarURL},
		now, &sys, func(r parley.MembershipResult) {
			a.publishConversation(r.Conversation)
			for _, m := range r.System {
				a.publishMessage(parley.EventMessage, m)
			}
		})
	return res.Conversation, err
}

// ListConversations lists actor's conversations, most recently active
// first, with the last message, unread count and actor's own membership.
// cursor is "" or the next cursor of the previous page; next is "" on the
// last page. limit 0 means DefaultPageLimit; at most MaxPageLimit.
func (a *App) ListConversations(ctx context.Context, actor parley.Actor, cursor string, limit int) ([]parley.ConversationEntry, string, error) {
	if actor.Anonymous() {
		return nil, "", unauthenticated("sign in first")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	var after parley.ConversationCursor
	if cursor != "" {
		parts, err := decodeCursor(cursor, 2)
		if err != nil {
			return nil, "", err
		}
		ms, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || !parley.ValidID(parts[1]) {
			return nil, "", parley.Invalid("cursor", "cursor is not one this server handed out")
		}
		after = parley.ConversationCursor{LastAt: timeFromMillis(ms), ID: parts[1]}
	}
	list, err := a.store.ListConversations(ctx, actor.UserID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[len(list)-1]
		next = encodeCursor(strconv.FormatInt(last.LastAt.UnixMilli(), 10), last.ID)
	}
	return list, next, nil
}

// PublicChannels browses public channels whose title contains query
// (case-insensitive), ordered by title; paginated like ListConversations.
func (a *App) PublicChannels(ctx context.Context, actor parley.Actor, query, cursor string, limit int) ([]parley.Conversation, string, error) {
	if actor.Anonymous() {
		return nil, "", unauthenticated("sign in first")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	if err := checkText("q", query, MaxTitleChars); err != nil {
		return nil, "", err
	}
	var afterTitle, afterID string
	if cursor != "" {
		parts, err := decodeCursor(cursor, 2)
		if err != nil {
			return nil, "", err
		}
		if !parley.ValidID(parts[1]) {
			return nil, "", parley.Invalid("cursor", "cursor is not one this server handed out")
		}
		afterTitle, afterID = parts[0], parts[1]
	}
	list, err := a.store.PublicChannels(ctx, actor.Org, strings.TrimSpace(query), afterTitle, afterID, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[len(list)-1]
		next = encodeCursor(last.Title, last.ID)
	}
	return list, next, nil
}

func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageLimit, nil
	case limit < 0:
		return 0, parley.Invalid("limit", "limit must be positive")
	case limit > MaxPageLimit:
		return 0, parley.Invalid("limit", "limit must be at most %d", MaxPageLimit)
	}
	return limit, nil
}

// Cursors are opaque to clients: base64url of NUL-separated parts.
func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

func decodeCursor(s string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != n || !utf8.Valid(b) {
		return nil, parley.Invalid("cursor", "cursor is not one this server handed out")
	}
	return parts, nil
}

func timeFromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
