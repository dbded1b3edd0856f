package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// acctSession returns a valid session of userID created at `at`.
func acctSession(userID string, at time.Time) parley.Session {
	var tok [32]byte
	_, _ = rand.Read(tok[:])
	h := sha256.Sum256(tok[:])
	return parley.Session{
		ID:         parley.NewID(),
		UserID:     userID,
		TokenHash:  h[:],
		UserAgent:  "Mozilla/5.0 (storetest)",
		Address:    "192.0.2.7",
		CreatedAt:  at,
		LastSeenAt: at,
		ExpiresAt:  at.Add(30 * 24 * time.Hour),
	}
}

func acctCreateSession(t *testing.T, s parley.Store, ss parley.Session) parley.Session {
	t.Helper()
	if err := s.CreateSession(context.Background(), ss); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ss
}

func acctSameSession(t *testing.T, got, want parley.Session) {
	t.Helper()
	for _, p := range [][2]time.Time{{got.CreatedAt, want.CreatedAt}, {got.LastSeenAt, want.LastSeenAt}, {got.ExpiresAt, want.ExpiresAt}} {
		if !p[0].Equal(p[1]) {
			t.Fatalf("session times: got %+v, want %+v", got, want)
		}
	}
	got.CreatedAt, got.LastSeenAt, got.ExpiresAt = want.CreatedAt, want.LastSeenAt, want.ExpiresAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("session:\n got  %+v\n want %+v", got, want)
	}
}

func sessionIDs(ss []parley.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func testSessions(t *testing.T, open Opener) {
	t.Run("create and find by token hash", func(t *testing.T) { sessionCreateAndFindByTokenHash(t, open) })
	t.Run("session and user by token hash", func(t *testing.T) { sessionSessionAndUserByTokenHash(t, open) })
	t.Run("refused creates", func(t *testing.T) { sessionRefusedCreates(t, open) })
	t.Run("list newest first, per user", func(t *testing.T) { sessionListNewestFirstPerUser(t, open) })
	t.Run("touch", func(t *testing.T) { sessionTouch(t, open) })
	t.Run("delete one: only the owner's", func(t *testing.T) { sessionDeleteOneOnlyTheOwnerS(t, open) })
	t.Run("delete all of a user but one", func(t *testing.T) { sessionDeleteAllOfAUserButOne(t, open) })
	t.Run("delete expired", func(t *testing.T) { sessionDeleteExpired(t, open) })
}

// sessionCreateAndFindByTokenHash: create and find by token hash.
func sessionCreateAndFindByTokenHash(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("alice"))
	want := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	acctCreateSession(t, s, acctSession(u.ID, acctTime))
	got, err := s.SessionByTokenHash(ctx, want.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	acctSameSession(t, got, want)
	other := sha256.Sum256([]byte("unknown"))
	_, err = s.SessionByTokenHash(ctx, other[:])
	acctCode(t, "unknown hash", err, parley.CodeNotFound)
	_, err = s.SessionByTokenHash(ctx, nil)
	acctCode(t, "nil hash", err, parley.CodeNotFound)
}

// sessionSessionAndUserByTokenHash: session and user by token hash.
func sessionSessionAndUserByTokenHash(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("amy"))
	acctCreate(t, s, acctUser("ann"))
	want := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	wantUser, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, gotUser, err := s.SessionUserByTokenHash(ctx, want.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	acctSameSession(t, got, want)
	if !reflect.DeepEqual(gotUser, wantUser) {
		t.Fatalf("user:\n got  %+v\n want %+v", gotUser, wantUser)
	}
	other := sha256.Sum256([]byte("unknown"))
	_, _, err = s.SessionUserByTokenHash(ctx, other[:])
	acctCode(t, "unknown hash", err, parley.CodeNotFound)
}

// sessionRefusedCreates: refused creates.
func sessionRefusedCreates(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("bob"))
	first := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	dupHash := acctSession(u.ID, acctTime)
	dupHash.TokenHash = bytes.Clone(first.TokenHash)
	acctCode(t, "duplicate token hash", s.CreateSession(ctx, dupHash), parley.CodeConflict)
	dupID := acctSession(u.ID, acctTime)
	dupID.ID = first.ID
	acctCode(t, "duplicate id", s.CreateSession(ctx, dupID), parley.CodeConflict)
	acctCode(t, "unknown user", s.CreateSession(ctx, acctSession(parley.NewID(), acctTime)), parley.CodeNotFound)
	list, err := s.Sessions(ctx, u.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions after refused creates = %v, %v", sessionIDs(list), err)
	}
	acctSameSession(t, list[0], first)
}

// sessionListNewestFirstPerUser: list newest first, per user.
func sessionListNewestFirstPerUser(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("carol"))
	v := acctCreate(t, s, acctUser("dave"))
	var want []string
	for i := range 3 {
		ss := acctCreateSession(t, s, acctSession(u.ID, acctTime.Add(time.Duration(i)*time.Second)))
		want = append([]string{ss.ID}, want...)
	}
	acctCreateSession(t, s, acctSession(v.ID, acctTime))
	list, err := s.Sessions(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionIDs(list); !reflect.DeepEqual(got, want) {
		t.Fatalf("Sessions = %v, want %v", got, want)
	}
	list, err = s.Sessions(ctx, parley.NewID())
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("Sessions of unknown user = %#v, %v; want empty non-nil", list, err)
	}
}

// sessionTouch: touch.
func sessionTouch(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("erin"))
	ss := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	other := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	untouched := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	seen, exp := acctTime.Add(time.Hour+123*time.Millisecond), acctTime.Add(48*time.Hour)
	seen2, exp2 := seen.Add(time.Second), exp.Add(time.Second)
	// An unknown id (a session deleted meanwhile) is skipped, not an error.
	if err := s.TouchSessions(ctx, []parley.SessionTouch{{ID: ss.ID, LastSeen: seen, Expires: exp},
		{ID: parley.NewID(), LastSeen: seen, Expires: exp}, {ID: other.ID, LastSeen: seen2, Expires: exp2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSessions(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ss        parley.Session
		seen, exp time.Time
	}{{ss, seen, exp}, {other, seen2, exp2}, {untouched, untouched.LastSeenAt, untouched.ExpiresAt}} {
		got, err := s.SessionByTokenHash(ctx, c.ss.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		want := c.ss
		want.LastSeenAt, want.ExpiresAt = c.seen, c.exp
		acctSameSession(t, got, want)
	}
}

// sessionDeleteOneOnlyTheOwnerS: delete one: only the owner's.
func sessionDeleteOneOnlyTheOwnerS(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("frank"))
	v := acctCreate(t, s, acctUser("grace"))
	mine := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	theirs := acctCreateSession(t, s, acctSession(v.ID, acctTime))
	acctCode(t, "someone else's session", s.DeleteSession(ctx, u.ID, theirs.ID), parley.CodeNotFound)
	if _, err := s.SessionByTokenHash(ctx, theirs.TokenHash); err != nil {
		t.Fatalf("refused delete removed the session: %v", err)
	}
	if err := s.DeleteSession(ctx, u.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.SessionByTokenHash(ctx, mine.TokenHash)
	acctCode(t, "deleted session", err, parley.CodeNotFound)
	acctCode(t, "delete twice", s.DeleteSession(ctx, u.ID, mine.ID), parley.CodeNotFound)
}

// sessionDeleteAllOfAUserButOne: delete all of a user but one.
func sessionDeleteAllOfAUserButOne(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("heidi"))
	v := acctCreate(t, s, acctUser("ivan"))
	var ids []string
	for range 3 {
		ids = append(ids, acctCreateSession(t, s, acctSession(u.ID, acctTime)).ID)
	}
	other := acctCreateSession(t, s, acctSession(v.ID, acctTime))
	gone, err := s.DeleteUserSessions(ctx, u.ID, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(gone)
	want := []string{ids[0], ids[2]}
	sort.Strings(want)
	if !reflect.DeepEqual(gone, want) {
		t.Fatalf("removed %v, want %v", gone, want)
	}
	list, _ := s.Sessions(ctx, u.ID)
	if got := sessionIDs(list); !reflect.DeepEqual(got, []string{ids[1]}) {
		t.Fatalf("left %v, want [%s]", got, ids[1])
	}
	gone, err = s.DeleteUserSessions(ctx, u.ID, "")
	if err != nil || !reflect.DeepEqual(gone, []string{ids[1]}) {
		t.Fatalf("DeleteUserSessions keep none = %v, %v", gone, err)
	}
	gone, err = s.DeleteUserSessions(ctx, u.ID, "")
	if err != nil || len(gone) != 0 {
		t.Fatalf("DeleteUserSessions with none left = %v, %v", gone, err)
	}
	if _, err := s.SessionByTokenHash(ctx, other.TokenHash); err != nil {
		t.Fatalf("another user's session was removed: %v", err)
	}
}

// sessionDeleteExpired: delete expired.
func sessionDeleteExpired(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("judy"))
	old := acctSession(u.ID, acctTime)
	old.ExpiresAt = acctTime.Add(time.Hour)
	acctCreateSession(t, s, old)
	fresh := acctCreateSession(t, s, acctSession(u.ID, acctTime))
	n, err := s.DeleteExpiredSessions(ctx, acctTime.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	list, _ := s.Sessions(ctx, u.ID)
	if got := sessionIDs(list); !reflect.DeepEqual(got, []string{fresh.ID}) {
		t.Fatalf("left %v, want [%s]", got, fresh.ID)
	}
}
