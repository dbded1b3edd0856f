package parley

import (
	"context"
	"time"
)

// ConversationKind says how a conversation behaves.
type ConversationKind string

const (
	KindDirect  ConversationKind = "direct"  // exactly two users; at most one per pair
	KindGroup   ConversationKind = "group"   // invited members, private
	KindChannel ConversationKind = "channel" // public (discoverable, joinable) or private
)

// Valid reports whether k is one of the defined kinds.
func (k ConversationKind) Valid() bool {
	return k == KindDirect || k == KindGroup || k == KindChannel
}

// MemberRole is a member's role within one conversation.
type MemberRole string

const (
	RoleOwner  MemberRole = "owner"
	RoleAdmin  MemberRole = "admin"
	RoleMember MemberRole = "member"
)

// Valid reports whether r is one of the defined roles.
func (r MemberRole) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// Manager reports whether r may manage the conversation (owner or admin).
func (r MemberRole) Manager() bool { return r == RoleOwner || r == RoleAdmin }

// Conversation is a direct chat, group or channel. LastSeq is the seq of its
// newest message (0 when empty); every message, system events included, takes
// the next seq.
type Conversation struct {
	ID          string           `json:"id"`
	Kind        ConversationKind `json:"kind"`
	Title       string           `json:"title"`
	Topic       string           `json:"topic"`
	AvatarURL   string           `json:"avatar_url,omitempty"`
	Public      bool             `json:"public"`    // channels only: discoverable and joinable
	Broadcast   bool             `json:"broadcast"` // channels only: only owners/admins post
	CreatedBy   string           `json:"created_by"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	LastSeq     int64            `json:"last_seq"`
	LastAt      time.Time        `json:"last_activity_at"`
	MemberCount int              `json:"member_count"`
	// Encrypted conversations (direct and group only, fixed at creation)
	// carry end-to-end encrypted envelopes instead of bodies (e2ee.go).
	Encrypted bool `json:"encrypted"`
	// DirectKey identifies the pair of a direct conversation ("<lower id>:<higher id>");
	// stores keep it unique. Empty for groups and channels.
	DirectKey string `json:"-"`
	// Org is the organisation of the conversation (its creator's): only its
	// users may be members.
	Org string `json:"org_id"`
}

// DirectKey returns the DirectKey of the direct conversation between a and b.
func DirectKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// Member is one user's membership of one conversation, with their receipts
// and per-member settings. DeliveredSeq and ReadSeq never decrease.
type Member struct {
	ConversationID string     `json:"conversation_id"`
	UserID         string     `json:"user_id"`
	Role           MemberRole `json:"role"`
	JoinedAt       time.Time  `json:"joined_at"`
	DeliveredSeq   int64      `json:"delivered_seq"`
	ReadSeq        int64      `json:"read_seq"`
	Muted          bool       `json:"muted"`
	Pinned         bool       `json:"pinned"`
	Archived       bool       `json:"archived"`
}

// ConversationEntry is one row of a user's conversation list: the
// conversation, the user's own membership, the newest message (nil when the
// history is empty) and the number of unread messages (messages after the
// member's ReadSeq that others sent and that are not deleted).
type ConversationEntry struct {
	Conversation
	Self        Member   `json:"self"`
	LastMessage *Message `json:"last_message,omitempty"`
	Unread      int64    `json:"unread"`
}

// ConversationCursor is the position after which a conversation list page
// starts: the LastAt and ID of the last entry of the previous page. The zero
// cursor starts at the most recently active conversation.
type ConversationCursor struct {
	LastAt time.Time
	ID     string
}

// MemberPatch changes one membership. Nil fields stay as they are.
type MemberPatch struct {
	Role     *MemberRole
	Muted    *bool
	Pinned   *bool
	Archived *bool
}

// Demotes reports whether applying p to m takes the owner role away from m.
// Stores check it inside the write transaction: if m is the last owner, the
// patch is refused with ErrLastOwner.
func (p MemberPatch) Demotes(m Member) bool {
	return p.Role != nil && *p.Role != m.Role && m.Role == RoleOwner
}

// Apply returns m with p's non-nil fields set.
func (p MemberPatch) Apply(m Member) Member {
	if p.Role != nil {
		m.Role = *p.Role
	}
	if p.Muted != nil {
		m.Muted = *p.Muted
	}
	if p.Pinned != nil {
		m.Pinned = *p.Pinned
	}
	if p.Archived != nil {
		m.Archived = *p.Archived
	}
	return m
}

// ErrLastOwner is the refusal to demote a conversation's only owner.
func ErrLastOwner() *Error {
	return &Error{Code: CodeConflict, Field: "role",
		Message: "the last owner cannot be demoted; promote another owner first"}
}

// ConversationPatch changes a conversation's descriptive fields. Nil fields
// stay as they are.
type ConversationPatch struct {
	Title     *string
	Topic     *string
	AvatarURL *string
}

// MembershipResult reports what a membership write did.
type MembershipResult struct {
	Conversation Conversation // after the change (LastSeq, MemberCount updated)
	Members      []Member     // members added, removed or updated, after the change
	// NewOwner is set when removing the last owner handed ownership on.
	NewOwner *Member
	// System holds the system messages appended to the history, in seq order.
	System []Message
}

// ConversationStore persists conversations and memberships; see
// internal/storetest for the contract every implementation passes.
//
// Commit hooks: the writes below that take a notify function call it once
// after their transaction has committed and before the method returns, from
// one store goroutine, in commit order across every such write (so, within a
// conversation, in seq order). notify must not block; the app publishes
// events from it. A failed write never calls notify.
type ConversationStore interface {
	// CreateConversation inserts c with its members and system messages (Seq
	// assigned by the store from 1; their ConversationID is set to c.ID).
	// CodeConflict if c.DirectKey is set and a conversation with that key
	// exists; CodeNotFound if a member's user does not exist.
	CreateConversation(ctx context.Context, c Conversation, members []Member, system []Message,
		notify func(MembershipResult)) (MembershipResult, error)
	// Conversation returns one conversation (with MemberCount). CodeNotFound.
	Conversation(ctx context.Context, id string) (Conversation, error)
	// ConversationByDirectKey returns the direct conversation with that key. CodeNotFound.
	ConversationByDirectKey(ctx context.Context, key string) (Conversation, error)
	// UpdateConversation applies p and appends system (may be nil). CodeNotFound.
	UpdateConversation(ctx context.Context, id string, p ConversationPatch, at time.Time, system *Message,
		notify func(MembershipResult)) (MembershipResult, error)

	// Member returns userID's membership of conversationID; CodeNotFound if
	// they are not a current member.
	Member(ctx context.Context, conversationID, userID string) (Member, error)
	// Members lists current members ordered by user id, after the user id
	// `after`, at most limit.
	Members(ctx context.Context, conversationID, after string, limit int) ([]Member, error)
	// MemberIDs returns the user ids of every current member.
	MemberIDs(ctx context.Context, conversationID string) ([]string, error)
	// AddMembers inserts the members not already present, together with
	// system (its System.UserIDs is replaced by the users actually added;
	// nothing is appended when nobody was added). Result.Members lists the
	// added members. If the conversation had no owner (its last member
	// left), the last-owner rule of RemoveMember applies after the insert
	// (Result.NewOwner, an "owner_changed" system message). CodeNotFound for an unknown conversation or user;
	// CodeTooLarge when the member count would exceed maxMembers.
	AddMembers(ctx context.Context, conversationID string, members []Member, maxMembers int, system Message,
		notify func(MembershipResult)) (MembershipResult, error)
	// RemoveMember deletes userID's membership and appends system. If the
	// removed member was the conversation's last owner, the remaining admin
	// who joined first (else the remaining member who joined first) becomes
	// owner in the same transaction (Result.NewOwner) and a second system
	// message (action "owner_changed") follows. CodeNotFound if not a member.
	RemoveMember(ctx context.Context, conversationID, userID string, system Message,
		notify func(MembershipResult)) (MembershipResult, error)
	// UpdateMember applies p to one membership and appends system (may be
	// nil, for settings changes). CodeNotFound if not a member. When p
	// demotes the last owner, CodeConflict.
	UpdateMember(ctx context.Context, conversationID, userID string, p MemberPatch, system *Message,
		notify func(MembershipResult)) (MembershipResult, error)
	// ListConversations returns userID's conversations, most recently active
	// first (LastAt descending, then ID descending), after cursor, at most limit.
	ListConversations(ctx context.Context, userID string, after ConversationCursor, limit int) ([]ConversationEntry, error)
	// ConversationEntry returns the entry ListConversations would list for
	// conversationID; CodeNotFound if userID is not a current member.
	ConversationEntry(ctx context.Context, userID, conversationID string) (ConversationEntry, error)
	// ConversationIDs returns the ids of every conversation userID is a member of.
	ConversationIDs(ctx context.Context, userID string) ([]string, error)
	// PublicChannels lists public channels of organisation org whose title
	// contains query (case-insensitive; "" matches all), ordered by title then
	// id, after the (title, id) position given, at most limit.
	PublicChannels(ctx context.Context, org, query, afterTitle, afterID string, limit int) ([]Conversation, error)
}
