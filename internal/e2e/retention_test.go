package e2e_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// Retention: owners set it, admins hold it; the scheduled run deletes old
// history for good (messages, files, search) unless held.
func TestRetentionAndLegalHold(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, configure)
		ctx := context.Background()
		alice, _ := env.NewUser(t, "alice")
		bob, bobU := env.NewUser(t, "bob")
		carol, _ := env.NewUser(t, "carol")
		admin, _ := env.NewAdmin(t, "root")
		g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "short memory",
			MemberIDs: []string{bobU.ID}})
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("a file that should go")
		att, err := alice.Upload(ctx, "old.txt", bytes.NewReader(content), int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "zebracrossing memo", AttachmentIDs: []string{att.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.React(ctx, g.ID, old.Seq, "👍"); err != nil {
			t.Fatal(err)
		}
		if p, err := bob.Retention(ctx, g.ID); err != nil || p.Days != 0 {
			t.Fatalf("default policy = %+v, %v", p, err)
		}
		// Who may do what.
		if _, err := bob.SetRetention(ctx, g.ID, 1); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("a member sets retention: %v", err)
		}
		if _, err := carol.SetRetention(ctx, g.ID, 1); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("a stranger sets retention: %v", err)
		}
		if _, err := carol.Retention(ctx, g.ID); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("a stranger reads retention: %v", err)
		}
		if _, err := alice.SetLegalHold(ctx, g.ID, true); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("a user sets a legal hold: %v", err)
		}
		hc := env.HTTPClient()
		for _, tc := range []struct {
			name, method, path, body string
			token                    string
			status                   int
			field                    string
		}{
			{"days missing", "PUT", "/api/v1/conversations/" + g.ID + "/retention", `{}`, alice.Token(), 400, "days"},
			{"days negative", "PUT", "/api/v1/conversations/" + g.ID + "/retention", `{"days":-1}`, alice.Token(), 400, "days"},
			{"days too many", "PUT", "/api/v1/conversations/" + g.ID + "/retention", `{"days":3651}`, alice.Token(), 400, "days"},
			{"days a string", "PUT", "/api/v1/conversations/" + g.ID + "/retention", `{"days":"7"}`, alice.Token(), 400, "days"},
			{"days fractional", "PUT", "/api/v1/conversations/" + g.ID + "/retention", `{"days":1.5}`, alice.Token(), 400, "days"},
			{"unknown conversation", "PUT", "/api/v1/conversations/" + parley.NewID() + "/retention", `{"days":1}`, alice.Token(), 404, ""},
			{"hold missing", "PUT", "/api/v1/admin/conversations/" + g.ID + "/legal-hold", `{}`, admin.Token(), 400, "hold"},
			{"hold not a bool", "PUT", "/api/v1/admin/conversations/" + g.ID + "/legal-hold", `{"hold":"yes"}`, admin.Token(), 400, "hold"},
			{"hold unknown conversation", "PUT", "/api/v1/admin/conversations/" + parley.NewID() + "/legal-hold", `{"hold":true}`, admin.Token(), 404, ""},
			{"anonymous", "GET", "/api/v1/conversations/" + g.ID + "/retention", ``, "", 401, ""},
		} {
			_, field, status := rawCall(t, hc, env.URL, tc.method, tc.path, tc.token, tc.body)
			if status != tc.status || (tc.field != "" && field != tc.field) {
				t.Errorf("%s: %d field %q, want %d field %q", tc.name, status, field, tc.status, tc.field)
			}
		}
		if p, err := alice.SetRetention(ctx, g.ID, 1); err != nil || p.Days != 1 {
			t.Fatalf("SetRetention = %+v, %v", p, err)
		}

		// On hold: two days later nothing is gone.
		if p, err := admin.SetLegalHold(ctx, g.ID, true); err != nil || !p.LegalHold || p.Days != 1 {
			t.Fatalf("SetLegalHold = %+v, %v", p, err)
		}
		later := time.Now().Add(48 * time.Hour)
		if n, err := env.Server.App.ApplyRetention(ctx, later); err != nil || n != 0 {
			t.Fatalf("retention under a hold deleted %d, %v", n, err)
		}
		if _, err := alice.Message(ctx, g.ID, old.Seq); err != nil {
			t.Fatalf("held message: %v", err)
		}
		if _, err := admin.SetLegalHold(ctx, g.ID, false); err != nil {
			t.Fatal(err)
		}
		entries, _, err := admin.Audit(ctx, g.ID, "", 0)
		if err != nil || len(entries) != 2 || entries[0].Action != "conversation.legal_hold_lifted" || entries[1].Action != "conversation.legal_hold" {
			t.Fatalf("audit = %+v, %v", entries, err)
		}

		// Lifted: the old history goes, for good.
		if n, err := env.Server.App.ApplyRetention(ctx, later); err != nil || n == 0 {
			t.Fatalf("retention deleted %d, %v", n, err)
		}
		if _, err := alice.Message(ctx, g.ID, old.Seq); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("purged message: %v", err)
		}
		if hist, err := bob.History(ctx, g.ID, client.HistoryQuery{Limit: 100}); err != nil || len(hist) != 0 {
			t.Fatalf("history after retention = %+v, %v", hist, err)
		}
		if _, err := alice.Fetch(ctx, att.ID, client.FetchOptions{}); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("file of a purged message: %v", err)
		}
		if page, err := alice.SearchMessages(ctx, client.SearchQuery{Q: "zebracrossing"}); err != nil || len(page.Hits) != 0 {
			t.Fatalf("search after retention = %+v, %v", page, err)
		}
		// The conversation lives on; seqs keep growing.
		if page, err := alice.Conversations(ctx, "", 0); err != nil || len(page.Conversations) != 1 {
			t.Fatalf("conversation list after retention = %+v, %v", page, err)
		}
		m, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: "fresh"})
		if err != nil || m.Seq <= old.Seq {
			t.Fatalf("send after retention = %+v, %v", m, err)
		}
	})
}
