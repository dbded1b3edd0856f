package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// searchBodies runs q and returns the bodies found, in order.
func searchBodies(t *testing.T, s parley.Store, q parley.MessageSearch) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 50
	}
	ms, _, err := s.SearchMessages(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	out := []string{}
	for _, m := range ms {
		if m.Kind != parley.MessageUser || m.Deleted {
			t.Fatalf("search returned %+v", m)
		}
		out = append(out, m.Body)
	}
	return out
}

func wantBodies(t *testing.T, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("found %q, want %q", got, want)
	}
}

func testSearch(t *testing.T, open Opener) {
	t.Run("terms, scripts and order", func(t *testing.T) { searchTermsScriptsAndOrder(t, open) })
	t.Run("pages", func(t *testing.T) { searchPages(t, open) })
	t.Run("index follows edits and deletes", func(t *testing.T) { searchIndexFollowsEditsAndDeletes(t, open) })
	t.Run("only current members", func(t *testing.T) { searchOnlyCurrentMembers(t, open) })
	t.Run("filters", func(t *testing.T) { searchFilters(t, open) })
}

// searchTermsScriptsAndOrder: terms, scripts and order.
func searchTermsScriptsAndOrder(t *testing.T, open Opener) {
	s := open(t)
	u := newUsers(t, s, "st", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	searchPost(t, s, c.ID, u[0], "Lunch at the Harbour café?", 1)
	searchPost(t, s, c.ID, u[1], "今日は東京で会議があります", 2)
	searchPost(t, s, c.ID, u[0], "สวัสดีครับ เพื่อน", 3)
	searchPost(t, s, c.ID, u[1], "harbourside lunch, 50% off_today", 4)
	searchPost(t, s, c.ID, u[0], "nothing here", 5)
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"harbour"}}),
		"harbourside lunch, 50% off_today", "Lunch at the Harbour café?")
	// Every term must match; case is folded; parts of words match.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"LUNCH", "side"}}),
		"harbourside lunch, 50% off_today")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"東京"}}),
		"今日は東京で会議があります")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"会議があ"}}),
		"今日は東京で会議があります")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"วัสดี"}}),
		"สวัสดีครับ เพื่อน")
	// LIKE wildcards in terms are literal.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"0%"}}),
		"harbourside lunch, 50% off_today")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"f_t"}}),
		"harbourside lunch, 50% off_today")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"%"}}),
		"harbourside lunch, 50% off_today")
	// Quotes inside a term cannot break out of it.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{`lunch" OR "nothing`}}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"zzzz"}}))
	// System messages are never found.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], SenderID: u[0], Has: nil,
		Since: searchAt(0)}), "nothing here", "สวัสดีครับ เพื่อน", "Lunch at the Harbour café?")
	// Relevance: both found, either order, no duplicates.
	rel := searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"lunch"}, Order: parley.SearchRelevance})
	if len(rel) != 2 {
		t.Fatalf("relevance found %q", rel)
	}
}

// searchPages: pages.
func searchPages(t *testing.T, open Opener) {
	ctx := context.Background()
	for _, order := range []parley.SearchOrder{parley.SearchRecent, parley.SearchRelevance} {
		s := open(t)
		u := newUsers(t, s, "sp", 1)
		c := newConversation(t, s, parley.KindGroup, "g", u[0])
		c2 := newConversation(t, s, parley.KindGroup, "g2", u[0])
		for i := range 7 {
			searchPost(t, s, []string{c.ID, c2.ID}[i%2], u[0], "page word", i)
		}
		seen := map[string]bool{}
		cursor := ""
		var last time.Time
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pages never end")
			}
			ms, next, err := s.SearchMessages(ctx, parley.MessageSearch{UserID: u[0], Terms: []string{"word"},
				Order: order, Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if seen[m.ID] {
					t.Fatalf("%s: %s twice", order, m.ID)
				}
				seen[m.ID] = true
				if order == parley.SearchRecent && !last.IsZero() && m.CreatedAt.After(last) {
					t.Fatalf("not newest first")
				}
				last = m.CreatedAt
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 7 {
			t.Fatalf("%s: found %d of 7", order, len(seen))
		}
		for _, bad := range []string{"x", "r", "o", "r-1", "o-5", "rabc", "r1:2", "o1x"} {
			_, _, err := s.SearchMessages(ctx, parley.MessageSearch{UserID: u[0], Terms: []string{"word"},
				Order: order, Cursor: bad, Limit: 3})
			wantCode(t, err, parley.CodeInvalid)
		}
	}
}

// searchIndexFollowsEditsAndDeletes: index follows edits and deletes.
func searchIndexFollowsEditsAndDeletes(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "se", 1)
	c := newConversation(t, s, parley.KindGroup, "g", u[0])
	m := searchPost(t, s, c.ID, u[0], "the original wording", 1)
	searchPost(t, s, c.ID, u[0], "gone soon", 2)
	if _, err := s.EditMessage(ctx, c.ID, m.Seq, "a revised text", nil, nil, searchAt(3), nil); err != nil {
		t.Fatal(err)
	}
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"original"}}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"revised"}}), "a revised text")
	if _, err := s.DeleteMessage(ctx, c.ID, m.Seq+1, searchAt(4), nil); err != nil {
		t.Fatal(err)
	}
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"gone"}}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"go"}}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Since: searchAt(0)}), "a revised text")
	// Edit after edit, then delete: nothing left.
	if _, err := s.EditMessage(ctx, c.ID, m.Seq, "third version", nil, nil, searchAt(5), nil); err != nil {
		t.Fatal(err)
	}
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"revised"}}))
	if _, err := s.DeleteMessage(ctx, c.ID, m.Seq, searchAt(6), nil); err != nil {
		t.Fatal(err)
	}
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"third"}}))
}

// searchOnlyCurrentMembers: only current members.
func searchOnlyCurrentMembers(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "sm", 3)
	mine := newConversation(t, s, parley.KindGroup, "mine", u[0], u[1])
	theirs := newConversation(t, s, parley.KindGroup, "theirs", u[1], u[2])
	searchPost(t, s, mine.ID, u[1], "secret plan alpha", 1)
	searchPost(t, s, theirs.ID, u[1], "secret plan beta", 2)
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"secret"}}), "secret plan alpha")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"secret"}, ConversationID: theirs.ID}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], ConversationID: theirs.ID}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[2], Terms: []string{"plan"}}), "secret plan beta")
	if _, err := s.RemoveMember(ctx, mine.ID, u[0], systemMsg(u[0], parley.SystemMemberLeft, u[0]), nil); err != nil {
		t.Fatal(err)
	}
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"secret"}}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"secret"}, ConversationID: mine.ID}))
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Since: searchAt(0)}))
}

// searchFilters: filters.
func searchFilters(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "sf", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	c2 := newConversation(t, s, parley.KindGroup, "g2", u[0], u[1])
	searchPost(t, s, c.ID, u[0], "report draft https://example.org/r", 1)
	m := userMsg(c.ID, u[1], parley.NewID(), "report with picture")
	m.CreatedAt, m.Mentions = searchAt(2), []string{u[0]}
	m.Attachments = []parley.Attachment{newFile(t, s, u[1], 10, 'a').Attachment}
	if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
		t.Fatal(err)
	}
	searchPost(t, s, c2.ID, u[1], "report final", 3)
	all := func(q parley.MessageSearch) []string {
		q.UserID, q.Terms = u[0], []string{"report"}
		return searchBodies(t, s, q)
	}
	wantBodies(t, all(parley.MessageSearch{}), "report final", "report with picture", "report draft https://example.org/r")
	wantBodies(t, all(parley.MessageSearch{SenderID: u[1]}), "report final", "report with picture")
	wantBodies(t, all(parley.MessageSearch{ConversationID: c2.ID}), "report final")
	wantBodies(t, all(parley.MessageSearch{Has: []parley.SearchHas{parley.HasLink}}), "report draft https://example.org/r")
	wantBodies(t, all(parley.MessageSearch{Has: []parley.SearchHas{parley.HasFile}}), "report with picture")
	wantBodies(t, all(parley.MessageSearch{Has: []parley.SearchHas{parley.HasImage, parley.HasFile}}), "report with picture")
	wantBodies(t, all(parley.MessageSearch{Has: []parley.SearchHas{parley.HasImage, parley.HasLink}}))
	wantBodies(t, all(parley.MessageSearch{MentionsUserID: u[0]}), "report with picture")
	wantBodies(t, all(parley.MessageSearch{MentionsUserID: u[1]}))
	wantBodies(t, all(parley.MessageSearch{Since: searchAt(2)}), "report final", "report with picture")
	wantBodies(t, all(parley.MessageSearch{Until: searchAt(2)}), "report draft https://example.org/r")
	wantBodies(t, all(parley.MessageSearch{Since: searchAt(2), Until: searchAt(3)}), "report with picture")
	// Filters without terms.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Has: []parley.SearchHas{parley.HasFile}}),
		"report with picture")
	// Short terms (under three characters) are matched too.
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"report", "fi"}}), "report final")
	wantBodies(t, searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"FI"}}), "report final")
}

// searchAt is the base time plus min minutes.
func searchAt(min int) time.Time { return baseTime.Add(time.Duration(min) * time.Minute) }

// searchPost appends a user message dated searchAt(min).
func searchPost(t *testing.T, s parley.Store, conv, sender, body string, min int) parley.Message {
	t.Helper()
	m := userMsg(conv, sender, parley.NewID(), body)
	m.CreatedAt = searchAt(min)
	got, _, err := s.AppendMessage(context.Background(), m, parley.CheckMember, nil)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return got
}
