package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testExport: a user's messages from every conversation and their live
// files, paged in id order, nobody else's.
func testExport(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ex", 2)
	c1 := newConversation(t, s, parley.KindGroup, "one", u[0], u[1])
	c2 := newConversation(t, s, parley.KindGroup, "two", u[0], u[1])
	var mine []string
	for i := range 5 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		m := userMsg(c.ID, u[0], fmt.Sprint("e", i), fmt.Sprint("mine ", i))
		if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
			t.Fatal(err)
		}
		mine = append(mine, m.ID)
		if _, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[1], fmt.Sprint("o", i), "theirs"), parley.CheckMember, nil); err != nil {
			t.Fatal(err)
		}
	}
	var got []parley.Message
	for after := ""; ; {
		page, err := s.MessagesBySender(ctx, u[0], after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].ID
	}
	if len(got) != 5 {
		t.Fatalf("MessagesBySender: %d messages, want 5", len(got))
	}
	// Pages come in id order; ids made in the same millisecond need not
	// follow creation order, so compare against mine sorted by id.
	body := map[string]string{}
	for i, id := range mine {
		body[id] = fmt.Sprint("mine ", i)
	}
	slices.Sort(mine)
	for i, m := range got {
		if m.ID != mine[i] || m.SenderID != u[0] || m.Body != body[m.ID] || m.ConversationID == "" || m.Seq == 0 {
			t.Fatalf("MessagesBySender[%d] = %+v, want id %s", i, m, mine[i])
		}
	}
	f1 := newFile(t, s, u[0], 10, 'a')
	f2 := newFile(t, s, u[0], 20, 'c')
	newFile(t, s, u[1], 30, 'e')
	gone := newFile(t, s, u[0], 40, 'g')
	if err := s.DeleteAttachment(ctx, gone.ID, u[0], baseTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	first, err := s.AttachmentsByOwner(ctx, u[0], "", 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("AttachmentsByOwner page 1 = %+v, %v", first, err)
	}
	rest, err := s.AttachmentsByOwner(ctx, u[0], first[0].ID, 10)
	if err != nil || len(rest) != 1 {
		t.Fatalf("AttachmentsByOwner page 2 = %+v, %v", rest, err)
	}
	ids := map[string]bool{first[0].ID: true, rest[0].ID: true}
	if !ids[f1.ID] || !ids[f2.ID] || first[0].BlobKey == "" || first[0].Name != "photo.jpg" {
		t.Fatalf("AttachmentsByOwner = %+v %+v", first, rest)
	}
}
