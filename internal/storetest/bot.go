package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testBots: a bot is a user with BotOwner, listed under its owner only;
// API tokens keep their scopes, are found by hash with their bot, record
// use, are capped per bot, deleted one by one and with the bot.
func testBots(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	owner := acctCreate(t, s, acctUser("botowner"))
	stranger := acctCreate(t, s, acctUser("botstranger"))
	b := acctUser("helperbot")
	b.BotOwner, b.Email = owner.ID, ""
	bot := acctCreate(t, s, b)
	for name, get := range map[string]func() (parley.User, error){
		"User":           func() (parley.User, error) { return s.User(ctx, bot.ID) },
		"UserByUsername": func() (parley.User, error) { return s.UserByUsername(ctx, "helperbot") },
	} {
		if got, err := get(); err != nil || got.BotOwner != owner.ID || !got.Bot() {
			t.Fatalf("%s of a bot = %+v, %v", name, got, err)
		}
	}
	if got, _ := s.User(ctx, owner.ID); got.Bot() {
		t.Fatal("a person reads back as a bot")
	}
	bots, err := s.Bots(ctx, owner.ID)
	if err != nil || len(bots) != 1 || bots[0].ID != bot.ID {
		t.Fatalf("Bots(owner) = %+v, %v", bots, err)
	}
	if bots, err := s.Bots(ctx, stranger.ID); err != nil || len(bots) != 0 {
		t.Fatalf("Bots(stranger) = %+v, %v", bots, err)
	}

	now := time.Now().UTC().Truncate(time.Millisecond)
	tok := parley.APIToken{ID: parley.NewID(), UserID: bot.ID, Name: "ci", Hash: tfHash("tok1"), CreatedAt: now,
		Scopes: []parley.Scope{parley.ScopeMessagesRead, parley.ScopeMessagesWrite}}
	if err := s.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	dup := tok
	dup.ID = parley.NewID()
	acctCode(t, "CreateAPIToken(same hash)", s.CreateAPIToken(ctx, dup), parley.CodeConflict)
	ghost := tok
	ghost.ID, ghost.UserID, ghost.Hash = parley.NewID(), parley.NewID(), tfHash("ghost")
	acctCode(t, "CreateAPIToken(unknown bot)", s.CreateAPIToken(ctx, ghost), parley.CodeNotFound)
	got, u, err := s.APITokenUserByHash(ctx, tok.Hash)
	if err != nil || got.ID != tok.ID || u.ID != bot.ID || u.BotOwner != owner.ID ||
		!reflect.DeepEqual(got.Scopes, tok.Scopes) || got.LastUsedAt != nil || !got.CreatedAt.Equal(now) {
		t.Fatalf("APITokenUserByHash = %+v, %+v, %v", got, u, err)
	}
	acctCode(t, "APITokenUserByHash(unknown)", func() error { _, _, err := s.APITokenUserByHash(ctx, tfHash("x")); return err }(), parley.CodeNotFound)
	used := now.Add(time.Minute)
	if err := s.TouchAPIToken(ctx, tok.ID, used); err != nil {
		t.Fatal(err)
	}
	list, err := s.APITokens(ctx, bot.ID)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(used) || list[0].Name != "ci" {
		t.Fatalf("APITokens = %+v, %v", list, err)
	}
	acctCode(t, "DeleteAPIToken(someone else's)", s.DeleteAPIToken(ctx, stranger.ID, tok.ID), parley.CodeNotFound)
	for i := 1; i < parley.APITokensPerBot; i++ {
		if err := s.CreateAPIToken(ctx, parley.APIToken{ID: parley.NewID(), UserID: bot.ID, Name: "t", Hash: tfHash(fmt.Sprint("cap", i)),
			CreatedAt: now, Scopes: []parley.Scope{parley.ScopeMessagesRead}}); err != nil {
			t.Fatal(err)
		}
	}
	acctCode(t, "CreateAPIToken(beyond the cap)", s.CreateAPIToken(ctx, parley.APIToken{ID: parley.NewID(), UserID: bot.ID,
		Name: "t", Hash: tfHash("over"), CreatedAt: now, Scopes: []parley.Scope{parley.ScopeMessagesRead}}), parley.CodeConflict)
	if err := s.DeleteAPIToken(ctx, bot.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "APITokenUserByHash(deleted)", func() error { _, _, err := s.APITokenUserByHash(ctx, tok.Hash); return err }(), parley.CodeNotFound)

	// Incoming webhooks: found by id (the app compares the secret), use
	// recorded, capped, deleted one by one and with the bot.
	conv := newConversation(t, s, parley.KindGroup, "hooks", owner.ID, bot.ID)
	hook := parley.IncomingWebhook{ID: parley.NewID(), BotID: bot.ID, ConversationID: conv.ID, Hash: tfHash("hook"), CreatedAt: now}
	if err := s.CreateIncomingWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}
	bad := hook
	bad.ID, bad.ConversationID = parley.NewID(), parley.NewID()
	acctCode(t, "CreateIncomingWebhook(unknown conversation)", s.CreateIncomingWebhook(ctx, bad), parley.CodeNotFound)
	w, err := s.UseIncomingWebhook(ctx, hook.ID, used)
	if err != nil || w.BotID != bot.ID || w.ConversationID != conv.ID || string(w.Hash) != string(hook.Hash) ||
		w.LastUsedAt == nil || !w.LastUsedAt.Equal(used) {
		t.Fatalf("UseIncomingWebhook = %+v, %v", w, err)
	}
	acctCode(t, "UseIncomingWebhook(unknown)", func() error { _, err := s.UseIncomingWebhook(ctx, parley.NewID(), used); return err }(), parley.CodeNotFound)
	for i := 1; i < parley.IncomingWebhooksPerBot; i++ {
		if err := s.CreateIncomingWebhook(ctx, parley.IncomingWebhook{ID: parley.NewID(), BotID: bot.ID, ConversationID: conv.ID,
			Hash: tfHash(fmt.Sprint("h", i)), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	acctCode(t, "CreateIncomingWebhook(beyond the cap)", s.CreateIncomingWebhook(ctx, parley.IncomingWebhook{ID: parley.NewID(),
		BotID: bot.ID, ConversationID: conv.ID, Hash: tfHash("over"), CreatedAt: now}), parley.CodeConflict)
	if hooks, err := s.IncomingWebhooks(ctx, bot.ID); err != nil || len(hooks) != parley.IncomingWebhooksPerBot {
		t.Fatalf("IncomingWebhooks = %d, %v", len(hooks), err)
	}
	acctCode(t, "DeleteIncomingWebhook(someone else's)", s.DeleteIncomingWebhook(ctx, owner.ID, hook.ID), parley.CodeNotFound)
	if err := s.DeleteIncomingWebhook(ctx, bot.ID, hook.ID); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "UseIncomingWebhook(deleted)", func() error { _, err := s.UseIncomingWebhook(ctx, hook.ID, used); return err }(), parley.CodeNotFound)

	if _, err := s.DeleteUser(ctx, bot.ID, now); err != nil {
		t.Fatal(err)
	}
	if hooks, err := s.IncomingWebhooks(ctx, bot.ID); err != nil || len(hooks) != 0 {
		t.Fatalf("incoming webhooks of a deleted bot = %d, %v", len(hooks), err)
	}
	if list, err := s.APITokens(ctx, bot.ID); err != nil || len(list) != 0 {
		t.Fatalf("tokens of a deleted bot = %+v, %v", list, err)
	}
	if bots, err := s.Bots(ctx, owner.ID); err != nil || len(bots) != 0 {
		t.Fatalf("Bots after deleting the bot = %+v, %v", bots, err)
	}
}
