package e2e_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestSearchOverREST: search finds messages of the caller's conversations
// only, follows edits, deletes and leaving, pages with cursors, and refuses
// bad input with typed errors; the context endpoint centres on a message.
// Every response is validated against the OpenAPI document.
func TestSearchOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	g := group(t, alice, b)
	other := group(t, carol)
	for i := range 5 {
		if _, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: strings.Repeat("filler ", i+1) + "quarterly <i>report</i>"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := carol.Send(ctx, other.ID, client.SendRequest{Body: "carol's private report"}); err != nil {
		t.Fatal(err)
	}
	seen := 0
	cursor := ""
	for range 5 {
		page := must[client.SearchPage](t)(alice.SearchMessages(ctx, client.SearchQuery{Q: "report", Limit: 2, Cursor: cursor}))
		for _, h := range page.Hits {
			seen++
			if h.Message.ConversationID != g.ID || len(h.Snippet) == 0 {
				t.Fatalf("hit %+v", h)
			}
			found := false
			for _, p := range h.Snippet {
				found = found || p.Hit && p.Text == "report"
			}
			if !found {
				t.Fatalf("snippet %+v", h.Snippet)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if seen != 5 {
		t.Fatalf("found %d of 5", seen)
	}
	rel := must[client.SearchPage](t)(alice.SearchMessages(ctx, client.SearchQuery{Q: "quarterly report", Order: "relevance"}))
	if len(rel.Hits) != 5 {
		t.Fatalf("relevance: %d hits", len(rel.Hits))
	}
	// Jump to the third message in context.
	hit := rel.Hits[0].Message
	around := must[[]parley.Message](t)(alice.MessageContext(ctx, g.ID, hit.Seq, 3))
	if len(around) == 0 || around[0].Seq > hit.Seq || around[len(around)-1].Seq < hit.Seq {
		t.Fatalf("context of %d: %v", hit.Seq, around)
	}
	_, err := carol.MessageContext(ctx, g.ID, hit.Seq, 3)
	wantAPICode(t, err, parley.CodeNotFound)
	// Edits, deletes and leaving are reflected at once.
	if _, err := bob.EditMessage(ctx, g.ID, 2, "annual summary"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.DeleteMessage(ctx, g.ID, 3); err != nil {
		t.Fatal(err)
	}
	if n := len(must[client.SearchPage](t)(alice.SearchMessages(ctx, client.SearchQuery{Q: "report"})).Hits); n != 3 {
		t.Fatalf("after edit and delete: %d hits", n)
	}
	if n := len(must[client.SearchPage](t)(alice.SearchMessages(ctx, client.SearchQuery{Q: "summary from:bob"})).Hits); n != 1 {
		t.Fatalf("edited text: %d hits", n)
	}
	if err := alice.Leave(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(must[client.SearchPage](t)(alice.SearchMessages(ctx, client.SearchQuery{Q: "report"})).Hits); n != 0 {
		t.Fatalf("after leaving: %d hits", n)
	}
	// Bad input.
	for _, tc := range []struct {
		q    client.SearchQuery
		code parley.Code
	}{
		{client.SearchQuery{Q: ""}, parley.CodeInvalid},
		{client.SearchQuery{Q: strings.Repeat("x", 300)}, parley.CodeTooLarge},
		{client.SearchQuery{Q: "x has:video"}, parley.CodeInvalid},
		{client.SearchQuery{Q: "x before:soon"}, parley.CodeInvalid},
		{client.SearchQuery{Q: "x", Cursor: "garbage!"}, parley.CodeInvalid},
		{client.SearchQuery{Q: "x", Order: "best"}, parley.CodeInvalid},
		{client.SearchQuery{Q: "x", Limit: 1000}, parley.CodeInvalid},
		{client.SearchQuery{Q: "report in:" + other.ID}, parley.CodeNotFound},
	} {
		_, err := bob.SearchMessages(ctx, tc.q)
		wantAPICode(t, err, tc.code)
	}
	_, err = env.Client().SearchMessages(ctx, client.SearchQuery{Q: "x"})
	wantAPICode(t, err, parley.CodeUnauthenticated)
}

func wantAPICode(t *testing.T, err error, code parley.Code) {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}
