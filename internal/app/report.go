package app

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// EventReportResolved tells a reporter's devices that their report was
// resolved: {"type":"report_resolved","report":{…}} (without resolved_by).
const EventReportResolved parley.EventKind = "report_resolved"

type reportFrame struct {
	Type   parley.EventKind `json:"type"`
	Report parley.Report    `json:"report"`
}

// ReportInput is a report of a message (ConversationID and Seq) or of a
// user (UserID).
type ReportInput struct {
	ConversationID string
	Seq            int64
	UserID         string
	Reason         string
}

// ResolveInput is a moderator's decision on a report: Action, Duration for
// ReportMute, and an optional Note for the reporter (at most
// parley.MaxModReasonChars characters; also the reason recorded with a mute
// or ban).
type ResolveInput struct {
	Action   parley.ReportAction
	Duration time.Duration
	Note     string
}

// Report files a report for the moderators: of a message (any member of its
// conversation may report another member's user message), or of a user.
// Message reports go to the conversation's owners and admins and to server
// admins; user reports to server admins.
// Errors: unauthenticated; invalid (conversation_id, seq, user_id, reason);
// too_large (reason); not_found (conversation, message, user); forbidden
// (a system message, one's own message); rate_limited (too many open
// reports, parley.MaxOpenReports).
func (a *App) Report(ctx context.Context, actor parley.Actor, in ReportInput) (parley.Report, error) {
	if actor.Anonymous() {
		return parley.Report{}, unauthenticated("sign in first")
	}
	r := parley.Report{ID: parley.NewSequentialID(), ReporterID: actor.UserID, Reason: in.Reason, Status: parley.ReportOpen,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	switch {
	case in.ConversationID != "":
		if in.UserID != "" {
			return parley.Report{}, parley.Invalid("user_id", "report a message (conversation_id, seq) or a user (user_id), not both")
		}
		m, err := a.Message(ctx, actor, in.ConversationID, in.Seq)
		if err != nil {
			return parley.Report{}, err
		}
		if m.Kind != parley.MessageUser {
			return parley.Report{}, forbidden("system messages cannot be reported")
		}
		if m.SenderID == actor.UserID {
			return parley.Report{}, forbidden("you cannot report your own message")
		}
		r.ConversationID, r.Seq, r.TargetUserID = m.ConversationID, m.Seq, m.SenderID
		r.Excerpt = m.Body
		if utf8.RuneCountInString(r.Excerpt) > parley.MaxReportExcerpt {
			r.Excerpt = string([]rune(r.Excerpt)[:parley.MaxReportExcerpt]) + "…"
		}
	default:
		if err := checkUserID(in.UserID); err != nil {
			return parley.Report{}, err
		}
		if in.Seq != 0 {
			return parley.Report{}, parley.Invalid("seq", "seq needs a conversation_id")
		}
		r.TargetUserID = in.UserID
	}
	open, err := a.store.OpenReports(ctx, actor.UserID)
	if err != nil {
		return parley.Report{}, err
	}
	if err := parley.AdmitReport(actor.UserID, r.TargetUserID, in.Reason, open); err != nil {
		return parley.Report{}, err
	}
	if r.ConversationID == "" {
		if u, err := a.store.User(ctx, r.TargetUserID); err != nil || u.Deleted() || !parley.SameOrg(actor.Org, u.Org) {
			return parley.Report{}, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
		}
	}
	if err := a.store.CreateReport(ctx, r); err != nil {
		return parley.Report{}, err
	}
	a.log.Info("report filed", "report_id", r.ID, "user_id", actor.UserID, "conversation_id", r.ConversationID)
	return r, nil
}

// ReportsInput selects a page of the reports queue (see Reports).
type ReportsInput struct {
	Status         parley.ReportStatus // "", open or resolved
	ConversationID string
	Before         string
	Limit          int
}

// Reports returns a page of the reports queue, newest first, and the
// Before of the next page ("" at the end). Server admins see every
// report; owners and admins of a group or channel see its reports (they
// must give its ConversationID). Errors: unauthenticated; invalid (status,
// limit, conversation_id); not_found; forbidden.
func (a *App) Reports(ctx context.Context, actor parley.Actor, in ReportsInput) ([]parley.Report, string, error) {
	if actor.Anonymous() && !actor.Admin() {
		return nil, "", unauthenticated("sign in first")
	}
	if in.Status != "" && in.Status != parley.ReportOpen && in.Status != parley.ReportResolved {
		return nil, "", parley.Invalid("status", "status must be open or resolved")
	}
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, "", err
	}
	if !actor.Admin() {
		if in.ConversationID == "" {
			return nil, "", forbidden("only server admins see every report; give the conversation_id of a conversation you moderate")
		}
		c, me, err := a.member(ctx, actor, in.ConversationID)
		if err != nil {
			return nil, "", err
		}
		if c.Kind == parley.KindDirect || !me.Role.Manager() {
			return nil, "", forbidden("only owners and admins see a conversation's reports")
		}
	} else if in.ConversationID != "" {
		if err := checkConversationID(in.ConversationID); err != nil {
			return nil, "", err
		}
	}
	rs, err := a.store.Reports(ctx, parley.ReportQuery{Status: in.Status, ConversationID: in.ConversationID, Before: in.Before, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		next = rs[limit-1].ID
	}
	return rs, next, nil
}

// MyReports lists actor's own reports (newest first, at most
// MaxPageLimit) with their outcome.
func (a *App) MyReports(ctx context.Context, actor parley.Actor) ([]parley.Report, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	rs, err := a.store.Reports(ctx, parley.ReportQuery{ReporterID: actor.UserID, Limit: MaxPageLimit})
	for i := range rs {
		rs[i].ResolvedBy = ""
	}
	return rs, err
}

// ResolveReport acts on an open report and closes it: dismiss, delete the
// reported message, mute its author in the conversation (Duration), or ban
// them. Server admins resolve any report; owners and admins the reports of
// their conversation. The action is taken as the matching moderation use
// case would (system message, audit entry), the resolution is audited, and
// the reporter's devices get report_resolved.
// Errors: unauthenticated; invalid (action, duration_seconds, an action that
// needs a message or conversation the report lacks); too_large (note);
// not_found (unknown report, or one actor may not see); forbidden; conflict
// (resolved already).
func (a *App) ResolveReport(ctx context.Context, actor parley.Actor, id string, in ResolveInput) (parley.Report, error) {
	if actor.Anonymous() && !actor.Admin() {
		return parley.Report{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Report{}, parley.Errorf(parley.CodeNotFound, "report not found")
	}
	if !in.Action.Valid() {
		return parley.Report{}, parley.Invalid("action", "action must be dismiss, delete_message, mute, ban or approve")
	}
	if err := checkText("note", in.Note, parley.MaxModReasonChars); err != nil {
		return parley.Report{}, err
	}
	r, err := a.store.Report(ctx, id)
	if err != nil {
		return parley.Report{}, err
	}
	if !actor.Admin() {
		ok := false
		if r.ConversationID != "" {
			if c, me, err := a.member(ctx, actor, r.ConversationID); err == nil && c.Kind != parley.KindDirect && me.Role.Manager() {
				ok = true
			}
		}
		if !ok {
			return parley.Report{}, parley.Errorf(parley.CodeNotFound, "report not found")
		}
	}
	if r.Status != parley.ReportOpen {
		return parley.Report{}, parley.ErrReportResolved()
	}
	switch {
	case in.Action == parley.ReportApprove && !r.Held:
		return parley.Report{}, parley.Invalid("action", "only a held message is approved")
	case in.Action == parley.ReportDeleteMessage && r.Held:
		return parley.Report{}, parley.Invalid("action", "a held message was never posted; dismiss it")
	}
	if in.Action != parley.ReportDismiss && r.ConversationID == "" {
		return parley.Report{}, parley.Invalid("action", "a report of a user can only be dismissed here; use the admin tools (disable the account)")
	}
	switch in.Action {
	case parley.ReportApprove:
		err = a.postHeld(ctx, r)
	case parley.ReportDeleteMessage:
		err = a.deleteAsModerator(ctx, actor, r.ConversationID, r.Seq)
	case parley.ReportMute:
		var md moderated
		if md, err = a.moderateAs(ctx, actor, r.ConversationID, r.TargetUserID, in.Note, true, true); err == nil {
			_, err = a.mute(ctx, actor, md, in.Duration, in.Note)
		}
	case parley.ReportBan:
		var md moderated
		if md, err = a.moderateAs(ctx, actor, r.ConversationID, r.TargetUserID, in.Note, false, true); err == nil {
			_, err = a.ban(ctx, actor, md, in.Note)
		}
	}
	if err != nil {
		return parley.Report{}, err
	}
	r, err = a.store.ResolveReport(ctx, id, in.Action, actor.UserID, in.Note, a.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return parley.Report{}, err
	}
	target := ""
	if u, err := a.store.User(ctx, r.TargetUserID); err == nil {
		target = u.Username
	}
	a.auditIn(ctx, actor, r.ConversationID, "report."+string(in.Action), r.TargetUserID, target, "report "+r.ID+conversationDetail(r.ConversationID)+noteDetail(in.Note))
	told := r
	told.ResolvedBy = ""
	a.publish(context.WithoutCancel(ctx), parley.Event{Kind: EventReportResolved, UserIDs: []string{r.ReporterID},
		Frame: frame(reportFrame{Type: EventReportResolved, Report: told})})
	return r, nil
}

func conversationDetail(id string) string {
	if id == "" {
		return ""
	}
	return "; conversation " + id
}

func noteDetail(note string) string {
	if note == "" {
		return ""
	}
	return "; note: " + note
}

// hold files a message a DenyHold list stopped as a held report in its
// sender's name and returns parley.ErrHeld (or why it could not be held:
// too many open reports). A resend of a message held already is not held
// twice.
func (a *App) hold(ctx context.Context, actor parley.Actor, in SendMessageInput) error {
	if len(in.AttachmentIDs) > 0 {
		return &parley.Error{Code: parley.CodeForbidden, Field: "body",
			Message: "this message has text that needs a moderator's review; send it without attachments to have it held"}
	}
	open, err := a.store.Reports(ctx, parley.ReportQuery{ReporterID: actor.UserID, Status: parley.ReportOpen, Limit: parley.MaxOpenReports + 1})
	if err != nil {
		return err
	}
	for _, r := range open {
		if r.Held && r.ClientMsgID == in.ClientMsgID && r.ConversationID == in.ConversationID {
			return parley.ErrHeld
		}
	}
	if err := parley.AdmitReport(actor.UserID, actor.UserID, parley.HeldReason, len(open)); err != nil {
		return err
	}
	r := parley.Report{ID: parley.NewSequentialID(), ReporterID: actor.UserID, TargetUserID: actor.UserID, ConversationID: in.ConversationID,
		Excerpt: in.Body, Reason: parley.HeldReason, Status: parley.ReportOpen, CreatedAt: a.now().UTC().Truncate(time.Millisecond),
		Held: true, ClientMsgID: in.ClientMsgID}
	if err := a.store.CreateReport(ctx, r); err != nil {
		return err
	}
	return parley.ErrHeld
}

// postHeld posts an approved held message in its sender's name (the
// membership check of the append still applies).
func (a *App) postHeld(ctx context.Context, r parley.Report) error {
	mentions, err := a.mentions(ctx, r.ConversationID, r.Excerpt)
	if err != nil {
		return err
	}
	m := parley.Message{ID: parley.NewID(), ConversationID: r.ConversationID, SenderID: r.TargetUserID, ClientMsgID: r.ClientMsgID,
		Kind: parley.MessageUser, Body: r.Excerpt, Mentions: mentions, CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	_, _, err = a.store.AppendMessage(ctx, m, parley.CheckMember, func(m parley.Message) {
		a.publishMessage(parley.EventMessage, m)
		a.countMessage(m)
	})
	if parley.IsCode(err, parley.CodeNotFound) {
		return &parley.Error{Code: parley.CodeConflict, Field: "action", Message: "the sender is no longer a member; dismiss it instead"}
	}
	return err
}

// deleteAsModerator deletes a message for a report's resolution: as
// DeleteMessage by a manager, or by a server admin who is none.
func (a *App) deleteAsModerator(ctx context.Context, actor parley.Actor, convID string, seq int64) error {
	m, err := a.message(ctx, convID, seq)
	if err != nil || m.Deleted {
		return err
	}
	if m.Kind != parley.MessageUser {
		return forbidden("system messages cannot be deleted")
	}
	_, err = a.store.DeleteMessage(ctx, convID, seq, a.now().UTC(), func(m parley.Message) {
		a.publishMessage(parley.EventMessageDeleted, m)
	})
	return err
}
