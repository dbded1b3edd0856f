package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestBrowserBlock: alice blocks bob from a shared group's members dialog;
// bob's messages in the group collapse for her to a note with "Show", which
// reveals them; bob can no longer message her directly; the contacts panel
// lists him as blocked, and unblocking from there brings his messages back.
func TestBrowserBlock(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, aliceU := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	named(t, bob, "Bob Chen", "")
	g, _, err := carol.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Book club",
		MemberIDs: []string{aliceU.ID, bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	dm, _, err := bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{aliceU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m := sdkSend(t, bob, g.ID, parley.NewID(), "spoiler: the butler did it", 0)
	a := newTab(t)
	signIn(t, a, env.URL, alice, "/c/"+g.ID)
	a.waitJS(t, "bob's message", `document.getElementById('m-`+itoa(m.Seq)+`')?.textContent.includes('butler')`)
	a.clickJS(t, `button[aria-label=Members]`)
	a.clickJS(t, `dialog .member-row[data-user="`+bobU.ID+`"] .block-btn`)
	a.waitJS(t, "confirm", `document.querySelectorAll('dialog').length === 2 && document.querySelector('dialog:last-of-type .btn-danger')`)
	a.clickJS(t, `dialog:last-of-type .btn-danger`)
	a.waitJS(t, "collapsed", `document.querySelector('#m-`+itoa(m.Seq)+`.msg-blocked') && !document.getElementById('m-`+itoa(m.Seq)+`').textContent.includes('butler')`)
	a.waitJS(t, "unblock offered", `document.querySelector('dialog .member-row[data-user="`+bobU.ID+`"] .unblock-btn')`)
	if _, _, err := bob.Send(ctx, dm.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "hello?"}); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("direct message after the block: %v", err)
	}
	eval[bool](t, a, `(document.querySelector('dialog').close(), true)`)
	a.waitJS(t, "dialog closed", `!document.querySelector('dialog')`)
	a.clickJS(t, `#m-`+itoa(m.Seq)+` .show-blocked`)
	a.waitJS(t, "shown", `document.getElementById('m-`+itoa(m.Seq)+`').textContent.includes('butler')`)
	// The contacts panel lists the block; unblocking there restores bob.
	a.clickJS(t, `.contacts-btn`)
	a.waitJS(t, "blocked list", `document.querySelector('.blocked-list [data-user="`+bobU.ID+`"] .unblock-btn')`)
	a.clickJS(t, `.blocked-list [data-user="`+bobU.ID+`"] .unblock-btn`)
	a.waitJS(t, "unblocked", `document.querySelector('.blocked-list') && !document.querySelector('.blocked-list [data-user]')`)
	if bs, err := alice.Blocks(ctx); err != nil || len(bs) != 0 {
		t.Fatalf("blocks after unblock %v %v", bs, err)
	}
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors: %v", errs)
	}
}

// TestBrowserBan: the owner bans a member from the members dialog with a
// reason; the member leaves the list and appears under "Banned", the
// history shows the ban, and the server refuses adding them back; "Unban"
// lifts it.
func TestBrowserBan(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Garden",
		MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a := newTab(t)
	signIn(t, a, env.URL, alice, "/c/"+g.ID)
	a.waitJS(t, "chat", `document.querySelector('button[aria-label=Members]')`)
	a.clickJS(t, `button[aria-label=Members]`)
	a.clickJS(t, `dialog .member-row[data-user="`+bobU.ID+`"] .ban-btn`)
	a.waitJS(t, "reason dialog", `document.querySelector('dialog:last-of-type .mod-reason')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog:last-of-type .mod-reason`), "trolling"))
	a.clickJS(t, `dialog:last-of-type .mod-ok`)
	a.waitJS(t, "banned listed", `document.querySelector('.ban-list [data-user="`+bobU.ID+`"]')?.textContent.includes('trolling')`)
	a.waitJS(t, "gone from members", `!document.querySelector('.member-list .member-row[data-user="`+bobU.ID+`"]')`)
	a.waitJS(t, "system message", `[...document.querySelectorAll('.msg-system')].some((e) => e.textContent.includes('banned Bob Chen (trolling)'))`)
	if _, err := alice.AddMembers(ctx, g.ID, bobU.ID); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("adding a banned user: %v", err)
	}
	a.clickJS(t, `.ban-list [data-user="`+bobU.ID+`"] .unban-btn`)
	a.waitJS(t, "ban lifted", `document.querySelector('.ban-list') && !document.querySelector('.ban-list [data-user]')`)
	if _, err := alice.AddMembers(ctx, g.ID, bobU.ID); err != nil {
		t.Fatalf("adding after unban: %v", err)
	}
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors: %v", errs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBrowserReport: a member reports a message from its menu with a
// reason; a server admin sees it in the admin page's reports panel and
// deletes the message from there; the reporter is told at once.
func TestBrowserReport(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	root, _ := env.NewAdmin(t, "root")
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	carol, carolU := env.NewUser(t, "carol")
	named(t, bob, "Bob Chen", "")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Market",
		MemberIDs: []string{bobU.ID, carolU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m := sdkSend(t, bob, g.ID, parley.NewID(), "cheap pills here", 0)
	c := newTab(t)
	signIn(t, c, env.URL, carol, "/c/"+g.ID)
	c.waitJS(t, "message", `document.querySelector('#m-`+itoa(m.Seq)+` .report-btn')`)
	c.clickJS(t, `#m-`+itoa(m.Seq)+` .report-btn`)
	c.waitJS(t, "reason dialog", `document.querySelector('dialog .mod-reason')`)
	c.do(t, chromedp.SendKeys(chromedp.CSS(`dialog .mod-reason`), "spam"))
	c.clickJS(t, `dialog .mod-ok`)
	c.waitJS(t, "thanks", `document.body.innerText.includes('The moderators will look at it')`)
	a := newTab(t)
	signIn(t, a, env.URL, root, "/admin")
	a.waitJS(t, "report listed", `[...document.querySelectorAll('.reports-queue tr[data-report]')].some((r) => r.textContent.includes('cheap pills here') && r.textContent.includes('spam'))`)
	a.clickJS(t, `.reports-queue tr[data-report] [data-action=delete_message]`)
	a.waitJS(t, "queue empty", `document.querySelector('.reports-queue') && !document.querySelector('.reports-queue tr[data-report]')`)
	// The audit log, filtered to reports, shows the resolution.
	eval[bool](t, a, `(s => { s.value = 'report.'; s.dispatchEvent(new Event('change')); return true })(document.querySelector('.audit-kind'))`)
	a.waitJS(t, "audit filtered", `(() => { const tds = [...document.querySelectorAll('.admin-audit td')].map((td) => td.textContent);
		return tds.includes('report.delete_message') && !tds.includes('user.create') })()`)
	c.waitJS(t, "reporter told", `document.body.innerText.includes('Your report was resolved: the message was deleted')`)
	c.waitJS(t, "message gone", `!document.getElementById('m-`+itoa(m.Seq)+`').textContent.includes('cheap pills')`)
	if got, err := alice.Message(ctx, g.ID, m.Seq); err != nil || !got.Deleted {
		t.Fatalf("message after the report: %+v %v", got, err)
	}
	for _, tb := range []*tab{a, c} {
		if errs := tb.jsErrors(); len(errs) > 0 {
			t.Fatalf("js errors: %v", errs)
		}
	}
}

// TestBrowserAnalytics: the owner opens the analytics page from the members
// dialog and sees the totals and SVG charts of what was sent, response
// times included.
func TestBrowserAnalytics(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Stats club",
		MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		sdkSend(t, bob, g.ID, parley.NewID(), "message "+itoa(int64(i)), 0)
	}
	sdkSend(t, alice, g.ID, parley.NewID(), "from the owner", 0)
	sdkSend(t, bob, g.ID, parley.NewID(), "bob answers", 0)
	a := newTab(t)
	signIn(t, a, env.URL, alice, "/c/"+g.ID)
	a.clickJS(t, `button[aria-label=Members]`)
	a.clickJS(t, `dialog .stats-link`)
	a.waitJS(t, "totals", `document.querySelector('.stats-totals [data-fact=messages]')?.textContent === '7' && document.querySelector('.stats-totals [data-fact=active]')?.textContent === '2'`)
	// Response times: alice answered bob, bob answered alice.
	a.waitJS(t, "response totals", `document.querySelector('.stats-totals [data-fact=responses]')?.textContent === '2' && document.querySelector('.stats-totals [data-fact=median]')?.textContent !== '–'`)
	a.waitJS(t, "response chart", `document.querySelectorAll('.chart-response svg rect.bar').length === 30 && document.querySelectorAll('.top-responders li').length === 2 && document.querySelector('.top-responders')?.textContent.includes('Bob Chen')`)
	a.waitJS(t, "charts", `document.querySelectorAll('.chart svg rect.bar').length >= 30 && document.querySelector('.top-posters li')?.textContent.includes('Bob Chen')`)
	if p := eval[string](t, a, `location.pathname`); p != "/c/"+g.ID+"/stats" {
		t.Fatalf("path %q", p)
	}
	// The page loads directly too, and a plain member is refused.
	b := newTab(t)
	signIn(t, b, env.URL, bob, "/c/"+g.ID+"/stats")
	b.waitJS(t, "refused", `document.querySelector('.stats-body .form-error')?.textContent.includes('only owners and admins')`)
	if errs := a.jsErrors(); len(errs) > 0 { // b's console shows the refused request
		t.Fatalf("js errors: %v", errs)
	}
}
