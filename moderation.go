package parley

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// System actions of conversation moderation (SystemInfo.Reason carries the
// moderator's reason, SystemInfo.Until the end of a mute).
const (
	SystemMemberMuted    SystemAction = "member_muted"    // ActorID muted UserIDs[0] until Until
	SystemMemberUnmuted  SystemAction = "member_unmuted"  // ActorID unmuted UserIDs[0]
	SystemMemberKicked   SystemAction = "member_kicked"   // ActorID removed UserIDs[0] (they may rejoin)
	SystemMemberBanned   SystemAction = "member_banned"   // ActorID banned UserIDs[0] (removed, may not rejoin)
	SystemMemberUnbanned SystemAction = "member_unbanned" // ActorID lifted the ban of UserIDs[0]
	SystemRulesChanged   SystemAction = "rules_changed"   // ActorID changed the conversation's rules
)

// DenyAction is what a deny list does to a message that matches it.
type DenyAction string

const (
	DenyRefuse DenyAction = "refuse" // the message is refused (CodeForbidden, field body)
	DenyMask   DenyAction = "mask"   // the matches are replaced by '*', one per character
	DenyHold   DenyAction = "hold"   // the message waits for a moderator (ErrHeld): approved, it is posted
)

// ErrHeld is the answer to a message a DenyHold list matched: it is not
// posted but held for review (a report the moderators approve or dismiss).
// Compare with errors.Is.
var ErrHeld = &Error{Code: CodeForbidden, Field: "body",
	Message: "held for review: a moderator will decide whether this message is posted"}

// Bounds of ConversationRules (deny lists are matched on every message, so
// they are small; Go's RE2 regexps run in time linear in the body).
const (
	MaxSlowModeSeconds = 24 * 60 * 60
	MaxDenyWords       = 200
	MaxDenyWordChars   = 64
	MaxDenyPatterns    = 20
	MaxDenyPatternLen  = 200
	MaxModReasonChars  = 500
	MaxMuteDuration    = 365 * 24 * time.Hour
)

// ConversationRules are a conversation's moderation settings, set by its
// owners and admins. The zero value imposes nothing. The server-wide rules
// (set by server admins) use only the deny lists and apply to every
// conversation.
type ConversationRules struct {
	// SlowModeSeconds: a member (not an owner or admin) posts at most one
	// message per this many seconds; 0 is off.
	SlowModeSeconds int `json:"slow_mode_seconds"`
	// ReadOnly: only owners and admins post.
	ReadOnly bool `json:"read_only"`
	// MaxMessageChars: a body longer than this is refused; 0 is the server's limit.
	MaxMessageChars int  `json:"max_message_chars"`
	NoLinks         bool `json:"no_links"`
	NoAttachments   bool `json:"no_attachments"`
	// DenyWords are matched as whole words, ignoring case; DenyPatterns are
	// RE2 regular expressions, matched ignoring case. DenyAction says what a
	// match does (default refuse).
	DenyWords    []string   `json:"deny_words"`
	DenyPatterns []string   `json:"deny_patterns"`
	DenyAction   DenyAction `json:"deny_action"`
}

// Normalize fills defaults and gives nil lists their empty form.
func (r ConversationRules) Normalize() ConversationRules {
	if r.DenyAction == "" {
		r.DenyAction = DenyRefuse
	}
	if r.DenyWords == nil {
		r.DenyWords = []string{}
	}
	if r.DenyPatterns == nil {
		r.DenyPatterns = []string{}
	}
	return r
}

// Validate checks r's bounds (after Normalize); errors name the field.
// maxChars is the server's message length limit.
func (r ConversationRules) Validate(maxChars int) error {
	switch {
	case r.SlowModeSeconds < 0 || r.SlowModeSeconds > MaxSlowModeSeconds:
		return Invalid("slow_mode_seconds", "slow_mode_seconds must be between 0 and %d", MaxSlowModeSeconds)
	case r.MaxMessageChars < 0 || r.MaxMessageChars > maxChars:
		return Invalid("max_message_chars", "max_message_chars must be between 0 and %d", maxChars)
	case r.DenyAction != DenyRefuse && r.DenyAction != DenyMask && r.DenyAction != DenyHold:
		return Invalid("deny_action", "deny_action must be refuse, mask or hold")
	case len(r.DenyWords) > MaxDenyWords:
		return TooLarge("deny_words", "at most %d deny words", MaxDenyWords)
	case len(r.DenyPatterns) > MaxDenyPatterns:
		return TooLarge("deny_patterns", "at most %d deny patterns", MaxDenyPatterns)
	}
	for _, w := range r.DenyWords {
		if err := checkText("deny_words", w, MaxDenyWordChars, false); err != nil {
			return err
		}
		if strings.TrimSpace(w) == "" {
			return Invalid("deny_words", "deny words must not be blank")
		}
	}
	for _, p := range r.DenyPatterns {
		if len(p) > MaxDenyPatternLen {
			return TooLarge("deny_patterns", "a deny pattern is at most %d bytes", MaxDenyPatternLen)
		}
		if p == "" {
			return Invalid("deny_patterns", "deny patterns must not be empty")
		}
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return Invalid("deny_patterns", "deny pattern %q is not a valid RE2 expression: %v", p, err)
		}
		if re.MatchString("") {
			return Invalid("deny_patterns", "deny pattern %q matches the empty text (so every message)", p)
		}
	}
	return nil
}

// ContentFilter is ConversationRules' deny lists and link rule, compiled.
type ContentFilter struct {
	deny   []*regexp.Regexp
	action DenyAction
}

// linkRE finds URLs and bare domain names.
var linkRE = regexp.MustCompile(`(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|dev|app|co|me|info|biz|xyz|ly|gg|ru|de|uk|fr|cn|tk)\b`)

// Compile compiles r's deny lists (r must be valid).
func (r ConversationRules) Compile() (*ContentFilter, error) {
	f := &ContentFilter{action: r.Normalize().DenyAction}
	if len(r.DenyWords) > 0 {
		words := make([]string, len(r.DenyWords))
		for i, w := range r.DenyWords {
			words[i] = regexp.QuoteMeta(strings.TrimSpace(w))
		}
		re, err := regexp.Compile(`(?i)(?:^|\b)(?:` + strings.Join(words, "|") + `)(?:\b|$)`)
		if err != nil {
			return nil, Invalid("deny_words", "deny words do not compile: %v", err)
		}
		f.deny = append(f.deny, re)
	}
	for _, p := range r.DenyPatterns {
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return nil, Invalid("deny_patterns", "deny pattern %q is not a valid RE2 expression: %v", p, err)
		}
		f.deny = append(f.deny, re)
	}
	return f, nil
}

// Apply runs the deny lists over body: with DenyRefuse a match refuses the
// message (CodeForbidden, field body), with DenyMask each match is replaced
// by as many '*' as it has characters, with DenyHold a match is ErrHeld.
// A nil filter changes nothing.
func (f *ContentFilter) Apply(body string) (string, error) {
	if f == nil {
		return body, nil
	}
	for _, re := range f.deny {
		if !re.MatchString(body) {
			continue
		}
		if f.action == DenyHold {
			return "", ErrHeld
		}
		if f.action != DenyMask {
			return "", &Error{Code: CodeForbidden, Field: "body", Message: "the message contains words or text this conversation does not allow"}
		}
		body = re.ReplaceAllStringFunc(body, func(s string) string {
			return strings.Repeat("*", utf8.RuneCountInString(s))
		})
	}
	return body, nil
}

// ContainsLink reports whether body holds a URL or a domain name.
func ContainsLink(body string) bool { return linkRE.MatchString(body) }

// PostingState is what the posting rules need to know of a conversation and
// one member, read by ModerationStore.PostingState.
type PostingState struct {
	Kind       ConversationKind
	Encrypted  bool       // an end-to-end encrypted conversation
	Role       MemberRole // the user's role; "" when not a member
	Blocked    bool       // a direct conversation whose two users block each other (either way)
	Rules      ConversationRules
	MutedUntil time.Time // zero: not muted
	LastPostAt time.Time // the member's last post while slow mode was on (zero: none)
}

// PostingTopic is the routing key of EventPostingChanged about a
// conversation. No connection subscribes to it: only apps read these events,
// to forget the posting states they keep.
func PostingTopic(conversationID string) string { return "posting:" + conversationID }

// Post is the part of a message the posting rules look at.
type Post struct {
	Body        string
	Attachments int
}

// AdmitPost decides whether a member with role may post p at now, given st
// and the server-wide filter and the conversation's (each may be nil). It
// returns the body to store (masked, for a DenyMask match). In order:
// blocked direct conversation (CodeForbidden, field conversation_id);
// muted (CodeForbidden, until when); read-only for non-managers
// (CodeForbidden); slow mode for non-managers (CodeRateLimited, RetryAfter);
// the length, link and attachment rules (CodeTooLarge / CodeForbidden, field
// body or attachment_ids); the deny lists, server-wide first.
func AdmitPost(st PostingState, role MemberRole, p Post, now time.Time, server, conv *ContentFilter) (string, error) {
	if st.Blocked {
		return "", ErrBlocked("conversation_id")
	}
	if !st.MutedUntil.IsZero() && now.Before(st.MutedUntil) {
		return "", &Error{Code: CodeForbidden, Field: "conversation_id",
			Message: fmt.Sprintf("you are muted in this conversation until %s", st.MutedUntil.UTC().Format(time.RFC3339))}
	}
	r := st.Rules
	if !role.Manager() {
		if r.ReadOnly {
			return "", &Error{Code: CodeForbidden, Field: "conversation_id",
				Message: "this conversation is read-only: only owners and admins post"}
		}
		if r.SlowModeSeconds > 0 && !st.LastPostAt.IsZero() {
			next := st.LastPostAt.Add(time.Duration(r.SlowModeSeconds) * time.Second)
			if now.Before(next) {
				wait := next.Sub(now)
				return "", &Error{Code: CodeRateLimited, RetryAfter: wait,
					Message: fmt.Sprintf("slow mode: one message per %d s; retry in %d s", r.SlowModeSeconds,
						int((wait+time.Second-1)/time.Second))}
			}
		}
	}
	if r.MaxMessageChars > 0 {
		if n := utf8.RuneCountInString(p.Body); n > r.MaxMessageChars {
			return "", TooLarge("body", "this conversation allows at most %d characters per message (got %d)", r.MaxMessageChars, n)
		}
	}
	if r.NoLinks && ContainsLink(p.Body) {
		return "", &Error{Code: CodeForbidden, Field: "body", Message: "this conversation does not allow links"}
	}
	if r.NoAttachments && p.Attachments > 0 {
		return "", &Error{Code: CodeForbidden, Field: "attachment_ids", Message: "this conversation does not allow attachments"}
	}
	body, err := server.Apply(p.Body)
	if err != nil {
		return "", err
	}
	return conv.Apply(body)
}

// CanModerate reports whether a member with role actor may mute, kick or
// ban a member with role target: owners act on admins and members, admins
// on members.
func CanModerate(actor, target MemberRole) bool {
	switch actor {
	case RoleOwner:
		return target != RoleOwner
	case RoleAdmin:
		return target == RoleMember || target == ""
	}
	return false
}

// Ban keeps a user out of a conversation: they are removed and cannot join
// or be added again until unbanned.
type Ban struct {
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id"`
	ActorID        string    `json:"actor_id"`
	Reason         string    `json:"reason"`
	CreatedAt      time.Time `json:"created_at"`
}

// ErrBanned refuses adding or letting a banned user join.
func ErrBanned(field string) *Error {
	return &Error{Code: CodeForbidden, Field: field, Message: "banned from this conversation"}
}

// ModerationStore persists conversation moderation: rules, mutes, bans and
// the slow-mode clock. The conversation id "" holds the server-wide rules.
type ModerationStore interface {
	// ConversationRules returns a conversation's rules (the zero rules,
	// normalized, when none were set).
	ConversationRules(ctx context.Context, conversationID string) (ConversationRules, error)
	// SetConversationRules stores them.
	SetConversationRules(ctx context.Context, conversationID string, r ConversationRules) error
	// SetMutedUntil mutes a member until the given time (zero: unmutes).
	SetMutedUntil(ctx context.Context, conversationID, userID string, until time.Time) error
	// TouchPost records userID's post at `at` for slow mode.
	TouchPost(ctx context.Context, conversationID, userID string, at time.Time) error
	// PostingState reads what AdmitPost needs. CodeNotFound for an unknown
	// conversation.
	PostingState(ctx context.Context, conversationID, userID string) (PostingState, error)
	// BanUser records (or replaces) a ban.
	BanUser(ctx context.Context, b Ban) error
	// UnbanUser lifts a ban. CodeNotFound when there is none.
	UnbanUser(ctx context.Context, conversationID, userID string) error
	// Bans lists a conversation's bans, oldest first.
	Bans(ctx context.Context, conversationID string) ([]Ban, error)
	// Banned returns those of userIDs banned from the conversation.
	Banned(ctx context.Context, conversationID string, userIDs []string) ([]string, error)
}
