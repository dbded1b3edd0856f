package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestReportsQueueAndResolution(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	o, m, r, x := e.user(t, "owner"), e.user(t, "member"), e.user(t, "reporter"), e.user(t, "outsider")
	g, _, _ := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{m.UserID, r.UserID}})
	bad, err := send(e, m, g.ID, "buy cheap watches")
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := send(e, r, g.ID, "mine")
	// Bad reports.
	_, err = e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: bad.Seq})
	wantModErr(t, err, parley.CodeInvalid, "reason")
	_, err = e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: bad.Seq, Reason: strings.Repeat("x", parley.MaxReportReasonChars+1)})
	wantModErr(t, err, parley.CodeTooLarge, "reason")
	_, err = e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: mine.Seq, Reason: "x"})
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: 1, Reason: "x"}) // system message
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: 999, Reason: "x"})
	wantModErr(t, err, parley.CodeNotFound, "")
	_, err = e.app.Report(ctx, x, app.ReportInput{ConversationID: g.ID, Seq: bad.Seq, Reason: "x"})
	wantModErr(t, err, parley.CodeNotFound, "")
	_, err = e.app.Report(ctx, r, app.ReportInput{UserID: r.UserID, Reason: "x"})
	wantModErr(t, err, parley.CodeInvalid, "user_id")
	_, err = e.app.Report(ctx, r, app.ReportInput{UserID: parley.NewID(), Reason: "x"})
	wantModErr(t, err, parley.CodeNotFound, "user_id")
	// A message report goes to the conversation's managers.
	rep, err := e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: bad.Seq, Reason: "spam"})
	if err != nil || rep.TargetUserID != m.UserID || rep.Excerpt != "buy cheap watches" || rep.Status != parley.ReportOpen {
		t.Fatalf("report %+v %v", rep, err)
	}
	userRep, err := e.app.Report(ctx, r, app.ReportInput{UserID: x.UserID, Reason: "creepy"})
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := e.app.Reports(ctx, o, app.ReportsInput{ConversationID: g.ID, Status: parley.ReportOpen})
	if err != nil || len(q) != 1 || q[0].ID != rep.ID {
		t.Fatalf("owner's queue %+v %v", q, err)
	}
	_, _, err = e.app.Reports(ctx, o, app.ReportsInput{})
	wantModErr(t, err, parley.CodeForbidden, "")
	_, _, err = e.app.Reports(ctx, m, app.ReportsInput{ConversationID: g.ID})
	wantModErr(t, err, parley.CodeForbidden, "")
	_, _, err = e.app.Reports(ctx, x, app.ReportsInput{ConversationID: g.ID})
	wantModErr(t, err, parley.CodeNotFound, "")
	_, _, err = e.app.Reports(ctx, app.Operator, app.ReportsInput{Status: "weird"})
	wantModErr(t, err, parley.CodeInvalid, "status")
	all, _, err := e.app.Reports(ctx, app.Operator, app.ReportsInput{})
	if err != nil || len(all) != 2 {
		t.Fatalf("admin queue %+v %v", all, err)
	}
	// Resolution: who may, and what.
	_, err = e.app.ResolveReport(ctx, m, rep.ID, app.ResolveInput{Action: parley.ReportDismiss})
	wantModErr(t, err, parley.CodeNotFound, "")
	_, err = e.app.ResolveReport(ctx, o, userRep.ID, app.ResolveInput{Action: parley.ReportDismiss})
	wantModErr(t, err, parley.CodeNotFound, "")
	_, err = e.app.ResolveReport(ctx, o, rep.ID, app.ResolveInput{Action: "nuke"})
	wantModErr(t, err, parley.CodeInvalid, "action")
	_, err = e.app.ResolveReport(ctx, o, rep.ID, app.ResolveInput{Action: parley.ReportMute})
	wantModErr(t, err, parley.CodeInvalid, "duration_seconds")
	n := len(e.events(t, 0))
	res, err := e.app.ResolveReport(ctx, o, rep.ID, app.ResolveInput{Action: parley.ReportDeleteMessage, Note: "removed, thanks"})
	if err != nil || res.Status != parley.ReportResolved || res.Action != parley.ReportDeleteMessage {
		t.Fatalf("resolve %+v %v", res, err)
	}
	if msg, _ := e.app.Message(ctx, o, g.ID, bad.Seq); !msg.Deleted {
		t.Fatal("message not deleted")
	}
	// The reporter is told.
	var told bool
	for _, ev := range e.events(t, n+2)[n:] {
		if ev.Kind == app.EventReportResolved && len(ev.UserIDs) == 1 && ev.UserIDs[0] == r.UserID {
			var f struct {
				Report parley.Report `json:"report"`
			}
			_ = json.Unmarshal(ev.Frame, &f)
			told = f.Report.ID == rep.ID && f.Report.Note == "removed, thanks" && f.Report.ResolvedBy == ""
		}
	}
	if !told {
		t.Fatal("reporter not told")
	}
	_, err = e.app.ResolveReport(ctx, o, rep.ID, app.ResolveInput{Action: parley.ReportDismiss})
	wantModErr(t, err, parley.CodeConflict, "id")
	mineList, _ := e.app.MyReports(ctx, r)
	if len(mineList) != 2 || mineList[1].Status != parley.ReportResolved {
		t.Fatalf("my reports %+v", mineList)
	}
	// A server admin who is no member bans through a report; user reports
	// can only be dismissed.
	bad2, _ := send(e, m, g.ID, "more spam")
	rep2, _ := e.app.Report(ctx, r, app.ReportInput{ConversationID: g.ID, Seq: bad2.Seq, Reason: "again"})
	if _, err := e.app.ResolveReport(ctx, app.Operator, rep2.ID, app.ResolveInput{Action: parley.ReportBan, Note: "repeat"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.AddMembers(ctx, o, g.ID, []string{m.UserID}); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("banned via report, re-add: %v", err)
	}
	_, err = e.app.ResolveReport(ctx, app.Operator, userRep.ID, app.ResolveInput{Action: parley.ReportMute, Duration: time.Minute})
	wantModErr(t, err, parley.CodeInvalid, "action")
	if _, err := e.app.ResolveReport(ctx, app.Operator, userRep.ID, app.ResolveInput{Action: parley.ReportDismiss}); err != nil {
		t.Fatal(err)
	}
	audit, _ := e.app.Audit(ctx, app.Operator, parley.AuditQuery{TargetID: m.UserID})
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, " ") != "report.ban conversation.ban report.delete_message" {
		t.Fatalf("audit %v", actions)
	}
}

func TestReportFlood(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	r, x := e.user(t, "reporter"), e.user(t, "target")
	for i := range parley.MaxOpenReports {
		if _, err := e.app.Report(ctx, r, app.ReportInput{UserID: x.UserID, Reason: "again " + itoaT(i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.app.Report(ctx, r, app.ReportInput{UserID: x.UserID, Reason: "one more"})
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("flood: %v", err)
	}
}

func itoaT(i int) string { return string(rune('a'+i%26)) + string(rune('0'+i/26)) }
