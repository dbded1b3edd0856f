package parley

import "context"

// Store is Parley's durable state. internal/sqlite and internal/postgres
// implement it, and both pass the one conformance suite in internal/storetest.
//
// Every method returns *Error: CodeNotFound, CodeConflict and CodeInvalid for
// the conditions each method documents, CodeUnavailable when the database
// cannot be reached, CodeInternal otherwise. Once a method returns nil for a
// write, that write is durable to the degree the implementation documents.
type Store interface {
	UserStore
	SessionStore
	ConversationStore
	MessageStore
	ReceiptStore
	AttachmentStore
	OperatorStore
	SearchStore
	ContactStore
	ScramStore
	PositionStore
	CallStore
	BlockStore
	ModerationStore
	ReportStore
	StatsStore
	NotifyStore
	PushStore
	EmailStore
	PhoneStore
	TwoFactorStore
	AppPasswordStore
	BotStore
	IncomingWebhookStore
	OutgoingWebhookStore
	ExportStore
	RetentionStore
	OrgStore
	E2EEStore

	// Ping reports whether the database is reachable (used by /readyz).
	Ping(ctx context.Context) error
	Close() error
}
