package parley

import (
	"context"
	"time"
)

// Audience says who may do something to a user: find them in people search
// and send them a contact request (PrivacySettings.FindMe), or start a
// direct conversation with them (PrivacySettings.DirectFrom).
type Audience string

const (
	AudienceEveryone           Audience = "everyone"             // any signed-in user (the default)
	AudienceContactsOfContacts Audience = "contacts_of_contacts" // contacts and their contacts
	AudienceContacts           Audience = "contacts"             // contacts only
	AudienceNobody             Audience = "nobody"               // nobody (contacts still may, see Admits)
)

// PrivacySettings are a user's discoverability settings. Zero fields mean
// AudienceEveryone.
type PrivacySettings struct {
	// FindMe: who finds the user in people search and may send them a
	// contact request: everyone, contacts_of_contacts or nobody.
	FindMe Audience `json:"find_me"`
	// DirectFrom: who may start a direct conversation with the user:
	// everyone, contacts_of_contacts or contacts.
	DirectFrom Audience `json:"direct_from"`
}

// DefaultPrivacySettings are the settings of a user who never changed them.
func DefaultPrivacySettings() PrivacySettings {
	return PrivacySettings{FindMe: AudienceEveryone, DirectFrom: AudienceEveryone}
}

// Normalize fills zero fields with their defaults.
func (p PrivacySettings) Normalize() PrivacySettings {
	if p.FindMe == "" {
		p.FindMe = AudienceEveryone
	}
	if p.DirectFrom == "" {
		p.DirectFrom = AudienceEveryone
	}
	return p
}

// Validate checks both fields (after Normalize); errors name the field.
func (p PrivacySettings) Validate() error {
	switch p.FindMe {
	case AudienceEveryone, AudienceContactsOfContacts, AudienceNobody:
	default:
		return Invalid("find_me", "find_me must be everyone, contacts_of_contacts or nobody")
	}
	switch p.DirectFrom {
	case AudienceEveryone, AudienceContactsOfContacts, AudienceContacts:
	default:
		return Invalid("direct_from", "direct_from must be everyone, contacts_of_contacts or contacts")
	}
	return nil
}

// Distance is how two users are connected through contacts: 1 contacts, 2
// contacts of contacts (a shared contact), 0 neither.
type Distance int

// Admits reports whether a user at distance d from the one whose setting
// aud is may act. Contacts are always admitted (a contact found you once).
func (aud Audience) Admits(d Distance) bool {
	switch aud {
	case AudienceEveryone, "":
		return true
	case AudienceContactsOfContacts:
		return d == 1 || d == 2
	default: // contacts, nobody
		return d == 1
	}
}

// ContactRequest is a pending request from one user to another.
type ContactRequest struct {
	FromID    string    `json:"from_id"`
	ToID      string    `json:"to_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Contact is one of a user's contacts (the relation is mutual).
type Contact struct {
	UserID string    `json:"user_id"`
	Since  time.Time `json:"since"`
}

// ContactSuggestion is a user who shares conversations with the caller and
// is neither a contact nor in a pending request with them.
type ContactSuggestion struct {
	UserID string `json:"user_id"`
	Shared int    `json:"shared_conversations"`
}

// Contact event kinds, sent to both users of the request (Event.UserIDs).
const (
	EventContactRequest  EventKind = "contact_request"  // a request was sent (frame: request)
	EventContactAccepted EventKind = "contact_accepted" // the users are now contacts
	EventContactRemoved  EventKind = "contact_removed"  // a request was declined or cancelled, or a contact removed
)

// ContactStore persists contacts, contact requests and privacy settings.
type ContactStore interface {
	// RequestContact records a request from fromID to toID. If toID had
	// already asked fromID, both become contacts instead and accepted is
	// true. CodeConflict if they are contacts already or fromID already
	// asked; CodeNotFound if a user does not exist.
	RequestContact(ctx context.Context, fromID, toID string, at time.Time) (accepted bool, err error)
	// AnswerContactRequest accepts (the users become contacts) or declines
	// (the request is dropped) the request from fromID to toID. CodeNotFound
	// without such a request.
	AnswerContactRequest(ctx context.Context, fromID, toID string, accept bool, at time.Time) error
	// CancelContactRequest drops fromID's request to toID. CodeNotFound.
	CancelContactRequest(ctx context.Context, fromID, toID string) error
	// RemoveContact ends the contact between a and b. CodeNotFound.
	RemoveContact(ctx context.Context, a, b string) error
	// ContactRequests lists the pending requests to userID (incoming) or
	// from userID (outgoing), oldest first.
	ContactRequests(ctx context.Context, userID string, incoming bool) ([]ContactRequest, error)
	// Contacts lists userID's contacts ordered by user id, after `after`, at
	// most limit.
	Contacts(ctx context.Context, userID, after string, limit int) ([]Contact, error)
	// ContactDistance returns how a and b are connected (see Distance).
	ContactDistance(ctx context.Context, a, b string) (Distance, error)
	// ContactSuggestions returns up to limit enabled users sharing
	// conversations with userID who are not their contacts and have no pending request
	// with them, most shared conversations first, then by user id.
	ContactSuggestions(ctx context.Context, userID string, limit int) ([]ContactSuggestion, error)
	// PrivacySettings returns userID's settings (defaults if never set).
	PrivacySettings(ctx context.Context, userID string) (PrivacySettings, error)
	// SetPrivacySettings stores userID's settings. CodeNotFound for an
	// unknown user.
	SetPrivacySettings(ctx context.Context, userID string, p PrivacySettings) error
	// FindPeople returns up to limit enabled users whose username starts
	// with the canonical query or whose username or display name contains
	// query (case-insensitive), username prefix matches first, then by
	// username, each with their privacy settings.
	// Only users of organisation org are found.
	FindPeople(ctx context.Context, org, query string, limit int) ([]User, []PrivacySettings, error)
	// PeopleNames returns up to limit enabled users' names with an id
	// greater than after ("" for the first page), ordered by id: the scan
	// behind typo-tolerant people search (MatchPerson).
	// Only users of organisation org are read.
	PeopleNames(ctx context.Context, org, after string, limit int) ([]PersonName, error)
}

// AdmitContactRequest decides a contact request from one user to another,
// given what the store read inside its transaction: whether they are
// contacts already, whether the sender asked before, and whether the other
// user's request to the sender is pending (crossing). A crossing request is
// accepted instead of stored (accept true). Errors: CodeConflict naming
// user_id when they are contacts or the request exists.
func AdmitContactRequest(contacts, asked, crossing bool) (accept bool, err error) {
	switch {
	case contacts:
		return false, &Error{Code: CodeConflict, Field: "user_id", Message: "you are contacts already"}
	case asked:
		return false, &Error{Code: CodeConflict, Field: "user_id", Message: "you asked this user already"}
	}
	return crossing, nil
}

// ErrNoContactRequest is the CodeNotFound error for answering or cancelling
// a request that is not pending.
func ErrNoContactRequest() *Error { return Errorf(CodeNotFound, "no such contact request") }
