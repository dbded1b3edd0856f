package parley

import (
	"strings"
	"time"
	_ "time/tzdata" // quiet-hour time zones resolve on machines without a zoneinfo database
)

// NotifyLevel is what a user wants to be notified of (docs/notifications.md).
type NotifyLevel string

const (
	NotifyAll      NotifyLevel = "all"      // every message others send (the default)
	NotifyMentions NotifyLevel = "mentions" // mentions of the user and direct messages
	NotifyNone     NotifyLevel = "none"     // nothing
)

// QuietHours is a daily span, in the user's TimeZone, during which no
// notification is sent. Start and End are "HH:MM" (24-hour); a span whose
// End is not after its Start wraps midnight ("22:00"–"07:00"). Start equal
// to End is a whole day.
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// NotifyPrefs are a user's notification settings. The zero value means the
// defaults (DefaultNotifyPrefs).
type NotifyPrefs struct {
	Level      NotifyLevel `json:"level"`
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	TimeZone   string      `json:"time_zone,omitempty"` // IANA name ("Europe/Paris"); empty: UTC
	// Previews lets notifications carry the message text; without it a
	// notification says only who wrote where.
	Previews bool `json:"previews"`
}

// MaxTimeZoneLen bounds NotifyPrefs.TimeZone.
const MaxTimeZoneLen = 64

// DefaultNotifyPrefs are the settings of a user who never changed them.
func DefaultNotifyPrefs() NotifyPrefs { return NotifyPrefs{Level: NotifyAll} }

// Normalize fills zero fields with their defaults.
func (p NotifyPrefs) Normalize() NotifyPrefs {
	if p.Level == "" {
		p.Level = NotifyAll
	}
	return p
}

// Validate checks a normalized NotifyPrefs. Errors are CodeInvalid or
// CodeTooLarge naming the field.
func (p NotifyPrefs) Validate() error {
	switch p.Level {
	case NotifyAll, NotifyMentions, NotifyNone:
	default:
		return Invalid("level", "level must be all, mentions or none")
	}
	if len(p.TimeZone) > MaxTimeZoneLen {
		return TooLarge("time_zone", "time_zone must be at most %d bytes", MaxTimeZoneLen)
	}
	if p.TimeZone != "" {
		if _, err := loadZone(p.TimeZone); err != nil {
			return Invalid("time_zone", "time_zone must be an IANA time zone name such as Europe/Paris")
		}
	}
	if q := p.QuietHours; q != nil {
		if _, ok := clockMinutes(q.Start); !ok {
			return Invalid("quiet_hours.start", "quiet_hours.start must be HH:MM")
		}
		if _, ok := clockMinutes(q.End); !ok {
			return Invalid("quiet_hours.end", "quiet_hours.end must be HH:MM")
		}
	}
	return nil
}

// loadZone resolves an IANA name, refusing names the time package would
// read as file paths.
func loadZone(name string) (*time.Location, error) {
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return nil, Invalid("time_zone", "bad time zone")
	}
	return time.LoadLocation(name)
}

// clockMinutes parses "HH:MM" into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	d := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := d(s[0])
	h2, ok2 := d(s[1])
	m1, ok3 := d(s[3])
	m2, ok4 := d(s[4])
	h, m := h1*10+h2, m1*10+m2
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// InQuietHours reports whether at falls inside p's quiet hours, read in p's
// time zone (UTC when empty or unknown).
func (p NotifyPrefs) InQuietHours(at time.Time) bool {
	q := p.QuietHours
	if q == nil {
		return false
	}
	start, ok1 := clockMinutes(q.Start)
	end, ok2 := clockMinutes(q.End)
	if !ok1 || !ok2 {
		return false
	}
	loc := time.UTC
	if p.TimeZone != "" {
		if l, err := loadZone(p.TimeZone); err == nil {
			loc = l
		}
	}
	t := at.In(loc)
	now := t.Hour()*60 + t.Minute()
	if start < end {
		return now >= start && now < end
	}
	return now >= start || now < end // wraps midnight; start == end is all day
}

// ConversationNotify is one member's notification setting for one
// conversation. The zero value is "as the user's NotifyPrefs say".
type ConversationNotify struct {
	// MutedUntil silences the conversation (mentions included) until then.
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	// MentionsOnly notifies only of mentions of the member (and @all/@here).
	MentionsOnly bool `json:"mentions_only"`
}

// Muted reports whether c silences the conversation at at.
func (c ConversationNotify) Muted(at time.Time) bool {
	return c.MutedUntil != nil && c.MutedUntil.After(at)
}

// NotifyReason is why a member is notified of a message, strongest first.
type NotifyReason string

const (
	ReasonDirect  NotifyReason = "direct"  // a message in a direct conversation
	ReasonMention NotifyReason = "mention" // the member was mentioned (or @all/@here by a manager)
	ReasonMessage NotifyReason = "message" // any other message
)

// Stronger returns the stronger of r and o (direct > mention > message).
func (r NotifyReason) Stronger(o NotifyReason) NotifyReason {
	rank := func(x NotifyReason) int {
		switch x {
		case ReasonDirect:
			return 3
		case ReasonMention:
			return 2
		case ReasonMessage:
			return 1
		}
		return 0
	}
	if rank(o) > rank(r) {
		return o
	}
	return r
}

// MentionScope is a mention of many members at once.
type MentionScope int

const (
	MentionNobody MentionScope = iota
	MentionHere                // "@here": the members who are online
	MentionAll                 // "@all": every member
)

// BroadcastMention reports the widest of "@all" and "@here" in body, with
// the boundaries of ParseMentions: '@' at the start or after a character
// that cannot be part of a username, and the word ending there (trailing
// '.', '-', '_' allowed, as in "@all.").
func BroadcastMention(body string) MentionScope {
	scope := MentionNobody
	for i := 0; i < len(body); i++ {
		if body[i] != '@' || i > 0 && (usernameChar(body[i-1]) || body[i-1] == '@') {
			continue
		}
		j := i + 1
		for j < len(body) && usernameChar(body[j]) {
			j++
		}
		switch strings.ToLower(strings.TrimRight(body[i+1:j], "._-")) {
		case "all":
			return MentionAll
		case "here":
			scope = MentionHere
		}
		i = j - 1
	}
	return scope
}

func usernameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// MayMentionAll reports whether a member with role may reach everyone with
// @all or @here in a conversation of kind: in groups and channels only
// owners and admins may (from others the words notify nobody); a direct
// conversation has no one to broadcast to.
func MayMentionAll(kind ConversationKind, role MemberRole) bool {
	return kind != KindDirect && role.Manager()
}

// NotifyMessage is what the notification rule needs to know about one
// committed message.
type NotifyMessage struct {
	Kind       ConversationKind
	SenderID   string
	SenderRole MemberRole // the sender's role when the notifier read it ("" if no longer a member)
	System     bool
	Deleted    bool
	Mentions   []string // user ids
	Broadcast  MentionScope
	At         time.Time // when the message was committed
}

// NotifyRecipient is what the rule needs to know about one member.
type NotifyRecipient struct {
	UserID string
	Prefs  NotifyPrefs
	Conv   ConversationNotify
	// MemberMuted is the member's own muted flag (MemberPatch.Muted): the
	// conversation is silenced for good, as by a MutedUntil never reached.
	MemberMuted bool
	Online      bool // has a connection somewhere (for @here)
}

// NotifyFor decides whether recipient r is notified of m, and why. The rules
// (docs/notifications.md), in order: nobody is notified of system messages,
// deleted messages or their own messages; a muted conversation (the
// member's muted flag, or mute until) notifies of nothing; the reason is direct in a direct conversation,
// mention when r is mentioned by name (or by @all, or by @here while
// online, from a manager), message otherwise; a conversation set to
// mentions-only drops plain messages; the user's level (none: nothing;
// mentions: mentions and direct only) applies next; nothing is sent during
// the user's quiet hours. Focus (a device in front of the user) is decided
// at delivery time, not here.
func NotifyFor(m NotifyMessage, r NotifyRecipient) (NotifyReason, bool) {
	if m.System || m.Deleted || m.SenderID == r.UserID {
		return "", false
	}
	if r.MemberMuted || r.Conv.Muted(m.At) {
		return "", false
	}
	reason := ReasonMessage
	switch {
	case m.Kind == KindDirect:
		reason = ReasonDirect
	case mentioned(m, r):
		reason = ReasonMention
	}
	if r.Conv.MentionsOnly && reason == ReasonMessage {
		return "", false
	}
	p := r.Prefs.Normalize()
	switch p.Level {
	case NotifyNone:
		return "", false
	case NotifyMentions:
		if reason == ReasonMessage {
			return "", false
		}
	}
	if p.InQuietHours(m.At) {
		return "", false
	}
	return reason, true
}

func mentioned(m NotifyMessage, r NotifyRecipient) bool {
	for _, id := range m.Mentions {
		if id == r.UserID {
			return true
		}
	}
	if !MayMentionAll(m.Kind, m.SenderRole) {
		return false
	}
	return m.Broadcast == MentionAll || m.Broadcast == MentionHere && r.Online
}

// NotifyMaxAttempts is how many times a notification is tried before it is
// given up (counted as failed).
const NotifyMaxAttempts = 8

// NotifyBackoff is the wait before retry number attempt (1 after the first
// failure): 5 s, 10 s, 20 s… doubling, at most one hour.
func NotifyBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// FocusTopic is the routing key of focus events about userID (EventFocus).
// No connection subscribes to it: only notifiers read these events.
func FocusTopic(userID string) string { return "focus:" + userID }
