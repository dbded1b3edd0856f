package parley

import (
	"context"
	"strings"
	"time"
)

// ReportStatus is where a report is in the queue.
type ReportStatus string

const (
	ReportOpen     ReportStatus = "open"
	ReportResolved ReportStatus = "resolved"
)

// ReportAction is what a moderator did about a report.
type ReportAction string

const (
	ReportDismiss       ReportAction = "dismiss"        // nothing wrong found
	ReportDeleteMessage ReportAction = "delete_message" // the reported message was deleted
	ReportMute          ReportAction = "mute"           // the author was muted in the conversation
	ReportBan           ReportAction = "ban"            // the author was banned from the conversation
)

// Valid reports whether a is a defined action.
func (a ReportAction) Valid() bool {
	return a == ReportDismiss || a == ReportDeleteMessage || a == ReportMute || a == ReportBan
}

// Report is one user's report of a message (ConversationID and Seq set)
// or of a user (ConversationID empty). Excerpt keeps the message body as it
// was when reported, so an edit or deletion does not hide what was reported.
type Report struct {
	ID             string       `json:"id"` // time-ordered (NewID)
	ReporterID     string       `json:"reporter_id"`
	TargetUserID   string       `json:"target_user_id"`
	ConversationID string       `json:"conversation_id,omitempty"`
	Seq            int64        `json:"seq,omitempty"`
	Excerpt        string       `json:"excerpt,omitempty"`
	Reason         string       `json:"reason"`
	Status         ReportStatus `json:"status"`
	Action         ReportAction `json:"action,omitempty"`
	ResolvedBy     string       `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time   `json:"resolved_at,omitempty"`
	Note           string       `json:"note,omitempty"` // the moderator's note to the reporter
	CreatedAt      time.Time    `json:"created_at"`
}

// Report bounds.
const (
	MaxReportReasonChars = 500
	MaxReportExcerpt     = 500 // characters of the message kept
	MaxOpenReports       = 20  // open reports per reporter
)

// ReportQuery selects reports, newest first. Empty fields match all.
type ReportQuery struct {
	Status         ReportStatus
	ConversationID string
	ReporterID     string
	Before         string // only reports with ID < Before
	Limit          int
}

// AdmitReport checks a new report: a reason of 1..MaxReportReasonChars
// characters (CodeInvalid / CodeTooLarge, field reason), not of oneself
// (CodeInvalid, field user_id), and the reporter's open reports below
// MaxOpenReports (CodeRateLimited).
func AdmitReport(reporterID, targetID, reason string, open int) error {
	if strings.TrimSpace(reason) == "" {
		return Invalid("reason", "say what is wrong (reason)")
	}
	if err := checkText("reason", reason, MaxReportReasonChars, true); err != nil {
		return err
	}
	if reporterID == targetID {
		return Invalid("user_id", "you cannot report yourself")
	}
	if open >= MaxOpenReports {
		return &Error{Code: CodeRateLimited, RetryAfter: time.Hour,
			Message: "you have too many open reports; wait until moderators have looked at them"}
	}
	return nil
}

// ErrReportResolved refuses resolving a report twice.
func ErrReportResolved() *Error {
	return &Error{Code: CodeConflict, Field: "id", Message: "this report was resolved already"}
}

// ReportStore persists reports.
type ReportStore interface {
	// CreateReport inserts r.
	CreateReport(ctx context.Context, r Report) error
	// Report returns one report. CodeNotFound.
	Report(ctx context.Context, id string) (Report, error)
	// Reports returns up to q.Limit reports matching q, newest first.
	Reports(ctx context.Context, q ReportQuery) ([]Report, error)
	// OpenReports counts reporterID's open reports.
	OpenReports(ctx context.Context, reporterID string) (int, error)
	// ResolveReport marks an open report resolved with action, by, at and
	// note, atomically: ErrReportResolved when it is not open, CodeNotFound
	// when it does not exist.
	ResolveReport(ctx context.Context, id string, action ReportAction, by, note string, at time.Time) (Report, error)
}
