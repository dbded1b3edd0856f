package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

func wantCode(t *testing.T, what string, err error, code parley.Code, field string) {
	t.Helper()
	if !parley.IsCode(err, code) || field != "" && parley.AsError(err).Field != field {
		t.Fatalf("%s: %v, want %s (field %q)", what, err, code, field)
	}
}

// orgActor signs username in and returns their Actor.
func orgActor(t *testing.T, e *msgEnv, u parley.User) parley.Actor {
	t.Helper()
	_, tok, err := e.app.Login(context.Background(), app.LoginInput{Username: u.Username, Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.app.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOrgRegistrationPolicy: sign-up obeys the chosen organisation's
// policy; an invite admits to its own organisation only; the account
// limit holds; the default organisation behaves as before.
func TestOrgRegistrationPolicy(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	acme, err := e.app.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "Acme", Name: "Acme",
		Limits: parley.OrgLimits{MaxUsers: 3}})
	if err != nil || acme.Slug != "acme" || acme.Registration != parley.RegistrationInvite {
		t.Fatalf("CreateOrg: %+v %v", acme, err)
	}
	reg := func(name, org, invite string) (parley.User, error) {
		u, _, err := e.app.Register(ctx, app.RegisterInput{Username: name, Password: "password123", Org: org, Invite: invite})
		return u, err
	}
	_, err = reg("nobody", "acme", "")
	wantCode(t, "acme without invite", err, parley.CodeForbidden, "invite")
	_, err = reg("nobody", "nope", "")
	wantCode(t, "unknown organisation", err, parley.CodeNotFound, "organisation")
	_, err = reg("nobody", "-bad", "")
	wantCode(t, "malformed slug", err, parley.CodeInvalid, "organisation")
	_, err = reg("nobody", strings.Repeat("a", 33), "")
	wantCode(t, "long slug", err, parley.CodeTooLarge, "organisation")
	_, _, err = e.app.Register(ctx, app.RegisterInput{Username: "nobody", Password: "password123", Org: "acme", Setup: "x"})
	wantCode(t, "setup token for another organisation", err, parley.CodeInvalid, "organisation")

	boss, err := e.app.AdminCreateUser(ctx, app.Operator, app.RegisterInput{Username: "boss", Password: "password123", Org: "acme"}, parley.UserRoleAdmin)
	if err != nil || boss.Org != acme.ID {
		t.Fatalf("boss: %+v %v", boss, err)
	}
	bossA := orgActor(t, e, boss)
	if bossA.Admin() || !bossA.OrgAdmin() || !bossA.Manages(acme.ID) || bossA.Manages(parley.DefaultOrgID) {
		t.Fatalf("boss is an organisation admin, not a server admin: %+v", bossA)
	}
	inv, err := e.app.CreateInvite(ctx, bossA, app.InviteInput{MaxUses: 5})
	if err != nil || inv.Org != acme.ID {
		t.Fatalf("invite: %+v %v", inv, err)
	}
	_, err = e.app.CreateInvite(ctx, bossA, app.InviteInput{Org: parley.DefaultOrgID})
	wantCode(t, "invite to another organisation", err, parley.CodeNotFound, "org_id")
	_, err = e.app.CreateInvite(ctx, bossA, app.InviteInput{Org: "not-an-id"})
	wantCode(t, "invite to a malformed organisation", err, parley.CodeNotFound, "org_id")

	// The invite admits to acme, named or not, and only to acme.
	_, err = reg("wrongdoor", "default", inv.Code)
	wantCode(t, "acme's invite at the default organisation", err, parley.CodeForbidden, "invite")
	u1, err := reg("carol", "", inv.Code)
	if err != nil || u1.Org != acme.ID {
		t.Fatalf("register with acme's invite: %+v %v", u1, err)
	}
	u2, err := reg("dave", "acme", inv.Code)
	if err != nil || u2.Org != acme.ID {
		t.Fatalf("register with acme's invite, naming acme: %+v %v", u2, err)
	}
	invs, _ := e.app.Invites(ctx, bossA)
	if len(invs) != 1 || invs[0].Uses != 2 {
		t.Fatalf("invite uses %+v (the refused sign-up must give its use back)", invs)
	}
	// Three accounts: acme is full, for people and bots alike.
	_, err = reg("erin", "", inv.Code)
	wantCode(t, "acme full", err, parley.CodeForbidden, "organisation")
	_, err = e.app.CreateBot(ctx, bossA, app.BotInput{Username: "acmebot"})
	wantCode(t, "a bot in a full acme", err, parley.CodeForbidden, "organisation")

	// Closed means closed, invites included.
	closed := parley.RegistrationClosed
	if _, err := e.app.UpdateOrg(ctx, bossA, acme.ID, app.OrgPatch{Registration: &closed,
		Limits: &parley.OrgLimits{}}); err != nil {
		t.Fatal(err)
	}
	_, err = reg("frank", "", inv.Code)
	wantCode(t, "closed organisation", err, parley.CodeForbidden, "registration")

	// The default organisation follows the server's policy, as before.
	plain, err := reg("gina", "", "")
	if err != nil || plain.Org != parley.DefaultOrgID {
		t.Fatalf("default registration: %+v %v", plain, err)
	}
	def := parley.RegistrationClosed
	_, err = e.app.UpdateOrg(ctx, app.Operator, parley.DefaultOrgID, app.OrgPatch{Registration: &def})
	wantCode(t, "default organisation's policy", err, parley.CodeInvalid, "registration")
}

// TestOrgAdminScope: an organisation admin manages its own organisation's
// accounts, invites and settings, and nothing else.
func TestOrgAdminScope(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	acme, err := e.app.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "acme", Name: "Acme", Registration: parley.RegistrationOpen})
	if err != nil {
		t.Fatal(err)
	}
	boss, _ := e.app.AdminCreateUser(ctx, app.Operator, app.RegisterInput{Username: "boss", Password: "password123", Org: "acme"}, parley.UserRoleAdmin)
	bossA := orgActor(t, e, boss)
	worker, _ := e.app.AdminCreateUser(ctx, bossA, app.RegisterInput{Username: "worker", Password: "password123"}, parley.UserRoleUser)
	if worker.Org != acme.ID {
		t.Fatalf("an organisation admin's account lands in its organisation: %+v", worker)
	}
	outsider := e.user(t, "outsider") // default organisation

	users, _, err := e.app.ListUsers(ctx, bossA, app.SearchUsersInput{})
	if err != nil || len(users) != 2 {
		t.Fatalf("ListUsers by the organisation admin: %v %v", users, err)
	}
	_, err = e.app.AdminUser(ctx, bossA, outsider.UserID)
	wantCode(t, "AdminUser(outsider)", err, parley.CodeNotFound, "")
	_, err = e.app.DisableUser(ctx, bossA, outsider.UserID)
	wantCode(t, "DisableUser(outsider)", err, parley.CodeNotFound, "")
	_, err = e.app.SetRole(ctx, bossA, outsider.UserID, parley.UserRoleAdmin)
	wantCode(t, "SetRole(outsider)", err, parley.CodeNotFound, "")
	_, err = e.app.ResetPassword(ctx, bossA, outsider.UserID, "")
	wantCode(t, "ResetPassword(outsider)", err, parley.CodeNotFound, "")
	wantCode(t, "DeleteUser(outsider)", e.app.DeleteUser(ctx, bossA, outsider.UserID), parley.CodeNotFound, "")
	if _, err := e.app.DisableUser(ctx, bossA, worker.ID); err != nil {
		t.Fatalf("DisableUser(worker): %v", err)
	}
	_, err = e.app.AdminCreateUser(ctx, bossA, app.RegisterInput{Username: "mole", Password: "password123", Org: "default"}, parley.UserRoleUser)
	wantCode(t, "create in the default organisation", err, parley.CodeNotFound, "organisation")

	_, err = e.app.CreateOrg(ctx, bossA, app.OrgInput{Slug: "mine", Name: "Mine"})
	wantCode(t, "CreateOrg by an organisation admin", err, parley.CodeForbidden, "")
	_, err = e.app.Org(ctx, bossA, parley.DefaultOrgID)
	wantCode(t, "Org(default) by acme's admin", err, parley.CodeNotFound, "")
	_, err = e.app.Overview(ctx, bossA)
	wantCode(t, "Overview by an organisation admin", err, parley.CodeForbidden, "")
	_, err = e.app.Audit(ctx, bossA, parley.AuditQuery{Limit: 10})
	wantCode(t, "Audit by an organisation admin", err, parley.CodeForbidden, "")
	orgs, err := e.app.Orgs(ctx, bossA)
	if err != nil || len(orgs) != 1 || orgs[0].ID != acme.ID {
		t.Fatalf("Orgs by acme's admin: %+v %v", orgs, err)
	}
	all, err := e.app.Orgs(ctx, app.Operator)
	if err != nil || len(all) != 2 {
		t.Fatalf("Orgs by the operator: %+v %v", all, err)
	}
	_, err = e.app.Orgs(ctx, outsider)
	wantCode(t, "Orgs by a user", err, parley.CodeForbidden, "")
	name := strings.Repeat("n", parley.OrgNameMaxChars+1)
	_, err = e.app.UpdateOrg(ctx, bossA, acme.ID, app.OrgPatch{Name: &name})
	wantCode(t, "long name", err, parley.CodeTooLarge, "name")
	bad := parley.RegistrationPolicy("maybe")
	_, err = e.app.UpdateOrg(ctx, bossA, acme.ID, app.OrgPatch{Registration: &bad})
	wantCode(t, "bad registration", err, parley.CodeInvalid, "registration")
	_, err = e.app.UpdateOrg(ctx, bossA, acme.ID, app.OrgPatch{Limits: &parley.OrgLimits{MaxMembers: -1}})
	wantCode(t, "negative limit", err, parley.CodeInvalid, "limits.max_conversation_members")
	// acme's admin is no server admin: the last-admin rule (which keeps a
	// server admin) does not hold them, and the setup token still works.
	if setup, err := e.app.PrepareSetup(ctx); err != nil || setup == "" {
		t.Fatalf("setup token with only an organisation admin: %q %v", setup, err)
	}
	if _, err := e.app.DisableUser(ctx, app.Operator, boss.ID); err != nil {
		t.Fatalf("disable acme's only admin: %v", err)
	}
	_, err = e.app.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "acme", Name: "Again"})
	wantCode(t, "duplicate slug", err, parley.CodeConflict, "slug")
	_, err = e.app.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "ok", Name: ""})
	wantCode(t, "missing name", err, parley.CodeInvalid, "name")
}

// TestOrgLimitsAndTwoFactor: an organisation's limits tighten the
// server's for its members only, and its two-factor rule ends the
// sessions of members without a second factor.
func TestOrgLimitsAndTwoFactor(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	acme, _ := e.app.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "acme", Name: "Acme", Registration: parley.RegistrationOpen,
		Limits: parley.OrgLimits{MaxMessageChars: 10, MaxMembers: 2}})
	var acmers []parley.Actor
	for _, n := range []string{"ann", "ben", "cid"} {
		u, _, err := e.app.Register(ctx, app.RegisterInput{Username: n, Password: "password123", Org: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		acmers = append(acmers, orgActor(t, e, u))
	}
	out := e.user(t, "outsider")
	out2 := e.user(t, "outsider2")

	// Members of other organisations cannot be added, whatever the door.
	_, _, err := e.app.CreateConversation(ctx, acmers[0], app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{out.UserID}})
	wantCode(t, "direct chat across organisations", err, parley.CodeNotFound, "")
	_, _, err = e.app.CreateConversation(ctx, acmers[0], app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{acmers[1].UserID, acmers[2].UserID}})
	wantCode(t, "group over acme's member limit", err, parley.CodeTooLarge, "member_ids")
	g, _, err := e.app.CreateConversation(ctx, acmers[0], app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{acmers[1].UserID}})
	if err != nil || g.Org != acme.ID {
		t.Fatalf("acme group: %+v %v", g, err)
	}
	_, err = e.app.AddMembers(ctx, acmers[0], g.ID, []string{acmers[2].UserID})
	wantCode(t, "add over acme's member limit", err, parley.CodeTooLarge, "")
	if _, err := send(e, acmers[0], g.ID, "0123456789"); err != nil {
		t.Fatalf("10 characters in acme: %v", err)
	}
	_, err = send(e, acmers[0], g.ID, "0123456789x")
	wantCode(t, "11 characters in acme", err, parley.CodeTooLarge, "body")
	// The default organisation keeps the server's limits.
	dg, _, err := e.app.CreateConversation(ctx, out, app.CreateConversationInput{Kind: parley.KindGroup, Title: "d",
		MemberIDs: []string{out2.UserID}})
	if err != nil || dg.Org != parley.DefaultOrgID {
		t.Fatal(dg, err)
	}
	if _, err := send(e, out, dg.ID, strings.Repeat("x", 100)); err != nil {
		t.Fatalf("100 characters in the default organisation: %v", err)
	}
	_, err = e.app.AddMembers(ctx, out, dg.ID, []string{acmers[2].UserID})
	wantCode(t, "add an acme member to a default-organisation group", err, parley.CodeNotFound, "user_ids")

	// Two-factor required: existing sessions without it stop working, new
	// sign-ins get a setup challenge; other organisations are untouched.
	_, benTok, err := e.app.Login(ctx, app.LoginInput{Username: "ben", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := e.app.UpdateOrg(ctx, app.Operator, acme.ID, app.OrgPatch{RequireTwoFactor: &on}); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.Authenticate(ctx, benTok)
	wantCode(t, "ben's session once acme requires two-factor", err, parley.CodeUnauthenticated, "")
	res, err := e.app.SignIn(ctx, app.LoginInput{Username: "ann", Password: "password123"})
	if err != nil || res.Token != "" || res.Challenge == nil {
		t.Fatalf("ann's sign-in: %+v %v (want a setup challenge)", res, err)
	}
	_, tok, err := e.app.Login(ctx, app.LoginInput{Username: "outsider", Password: "password123"})
	if err != nil {
		t.Fatalf("outsider's sign-in: %v", err)
	}
	if _, err := e.app.Authenticate(ctx, tok); err != nil {
		t.Fatalf("outsider's session: %v", err)
	}
	st, err := e.app.TwoFactorStatus(ctx, out)
	if err != nil || st.Required {
		t.Fatalf("outsider's two-factor status %+v %v", st, err)
	}
}

// orgCountingStore counts the organisation reads that reach the store.
type orgCountingStore struct {
	parley.Store
	reads atomic.Int64
}

func (s *orgCountingStore) Org(ctx context.Context, id string) (parley.Organisation, error) {
	s.reads.Add(1)
	return s.Store.Org(ctx, id)
}

// TestOrgSendPathReadsNoOrganisation: the organisation's message limit
// comes from the cache, so sending messages reads no organisation from the
// store (the hot path costs no extra query), while a change made through
// the app applies at once.
func TestOrgSendPathReadsNoOrganisation(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = st.Close() })
	cs := &orgCountingStore{Store: st}
	clock := &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	a := app.New(app.Options{Store: cs, Bus: bus, Now: clock.Now, Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})
	acme, err := a.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: "acme", Name: "Acme", Registration: parley.RegistrationOpen,
		Limits: parley.OrgLimits{MaxMessageChars: 20}})
	if err != nil {
		t.Fatal(err)
	}
	var actors []parley.Actor
	for _, n := range []string{"ann", "ben"} {
		_, tok, err := a.Register(ctx, app.RegisterInput{Username: n, Password: "password123", Org: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		ac, err := a.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		actors = append(actors, ac)
	}
	g, _, err := a.CreateConversation(ctx, actors[0], app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{actors[1].UserID}})
	if err != nil {
		t.Fatal(err)
	}
	before := cs.reads.Load()
	for i := range 50 {
		if _, _, err := a.SendMessage(ctx, actors[i%2], app.SendMessageInput{ConversationID: g.ID,
			ClientMsgID: fmt.Sprint("m", i), Body: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load() - before; n != 0 {
		t.Fatalf("50 sends read the organisation %d times from the store, want 0", n)
	}
	limit := 3
	if _, err := a.UpdateOrg(ctx, app.Operator, acme.ID, app.OrgPatch{Limits: &parley.OrgLimits{MaxMessageChars: limit}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = a.SendMessage(ctx, actors[0], app.SendMessageInput{ConversationID: g.ID, ClientMsgID: "long", Body: "hello"})
	wantCode(t, "a send over the new limit", err, parley.CodeTooLarge, "body")
}
