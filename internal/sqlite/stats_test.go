package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/sqlite"
)

// TestResponseHeadSurvivesRestart: the previous user message of the
// response-time rule is stored with the conversation's head, not only in
// the committer's cache: after a restart the next message of another
// member is still a response.
func TestResponseHeadSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var ids []string
	for _, name := range []string{"ra", "rb"} {
		u := parley.User{ID: parley.NewID(), Username: name, DisplayName: name, Role: parley.UserRoleUser, CreatedAt: at, UpdatedAt: at}
		if err := s.CreateUser(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "g", CreatedBy: ids[0], CreatedAt: at, UpdatedAt: at}
	ms := []parley.Member{{UserID: ids[0], Role: parley.RoleOwner, JoinedAt: at}, {UserID: ids[1], Role: parley.RoleMember, JoinedAt: at}}
	sys := []parley.Message{{ID: parley.NewID(), SenderID: ids[0], Kind: parley.MessageSystem, CreatedAt: at,
		System: &parley.SystemInfo{Action: parley.SystemCreated, ActorID: ids[0], UserIDs: ids}}}
	if _, err := s.CreateConversation(ctx, c, ms, sys, nil); err != nil {
		t.Fatal(err)
	}
	msg := func(sender string, after time.Duration) parley.Message {
		return parley.Message{ID: parley.NewID(), ConversationID: c.ID, SenderID: sender, Kind: parley.MessageUser, Body: "x",
			CreatedAt: at.Add(after)}
	}
	if _, _, err := s.AppendMessage(ctx, msg(ids[0], time.Minute), parley.CheckMember, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, _, err := s.AppendMessage(ctx, msg(ids[1], 3*time.Minute), parley.CheckMember, nil)
	if gap, ok := m.ResponseGap(); err != nil || !ok || gap != 2*time.Minute {
		t.Fatalf("after restart: %v %v %v", gap, ok, err)
	}
}
