package parley

import "time"

// ConversationKind says how a conversation behaves.
type ConversationKind string

const (
	KindDirect  ConversationKind = "direct"  // exactly two users; at most one per pair
	KindGroup   ConversationKind = "group"   // invited members, private
	KindChannel ConversationKind = "channel" // public (discoverable, joinable) or private
)

// MemberRole is a member's role within one conversation.
type MemberRole string

const (
	RoleOwner  MemberRole = "owner"
	RoleAdmin  MemberRole = "admin"
	RoleMember MemberRole = "member"
)

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

// ConversationStore persists conversations and memberships; see
// internal/storetest for the contract every implementation passes.
type ConversationStore interface {
}
