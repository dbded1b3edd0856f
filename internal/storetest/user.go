package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// acctTime is a fixed, millisecond-precise timestamp: stores keep
// milliseconds, so test values are truncated to them.
var acctTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// acctUser returns a valid user value with the given username.
func acctUser(name string) parley.User {
	return parley.User{
		ID:          parley.NewID(),
		Username:    name,
		DisplayName: "Display " + name,
		Email:       name + "@example.org",
		StatusText:  "status of " + name,
		Role:        parley.UserRoleUser,
		Settings:    parley.DefaultUserSettings(),
		CreatedAt:   acctTime,
		UpdatedAt:   acctTime,
		Org:         parley.DefaultOrgID,
	}
}

// acctCreate stores a user and fails the test on error.
func acctCreate(t *testing.T, s parley.Store, u parley.User) parley.User {
	t.Helper()
	if err := s.CreateUser(context.Background(), u, "$argon2id$hash-of-"+u.Username); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Username, err)
	}
	return u
}

// acctCode fails the test unless err carries code.
func acctCode(t *testing.T, what string, err error, code parley.Code) {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("%s: got error %v, want code %s", what, err, code)
	}
	var pe *parley.Error
	if err != nil && !asError(err, &pe) {
		t.Fatalf("%s: error %T is not a *parley.Error", what, err)
	}
}

func asError(err error, target **parley.Error) bool {
	e, ok := err.(*parley.Error)
	if ok {
		*target = e
	}
	return ok
}

func acctSameUser(t *testing.T, got, want parley.User) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("times: got created %v updated %v, want %v %v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("user:\n got  %+v\n want %+v", got, want)
	}
}

func usernames(us []parley.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Username
	}
	return out
}

func testUsers(t *testing.T, open Opener) {
	t.Run("create and read back", func(t *testing.T) { userCreateAndReadBack(t, open) })
	t.Run("missing users are not_found", func(t *testing.T) { userMissingUsersAreNotFound(t, open) })
	t.Run("duplicates conflict and keep the original", func(t *testing.T) { userDuplicatesConflictAndKeepTheOriginal(t, open) })
	t.Run("concurrent creates of one username: exactly one wins", func(t *testing.T) { userConcurrentCreatesOfOneUsernameExactlyOneWins(t, open) })
	t.Run("update replaces mutable fields only", func(t *testing.T) { userUpdateReplacesMutableFieldsOnly(t, open) })
	t.Run("users by ids", func(t *testing.T) { userUsersByIds(t, open) })
	t.Run("users by many ids", func(t *testing.T) { userUsersByManyIds(t, open) })
	t.Run("search by prefix", func(t *testing.T) { userSearchByPrefix(t, open) })
	t.Run("count admins", func(t *testing.T) { userCountAdmins(t, open) })
}

// userCreateAndReadBack: create and read back.
func userCreateAndReadBack(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	want := acctUser("alice")
	want.Role = parley.UserRoleAdmin
	want.Settings.Theme = parley.ThemeDark
	want.StatusText = "héllo 👋 — ünïcode"
	want.UpdatedAt = acctTime.Add(1500 * time.Millisecond)
	acctCreate(t, s, want)
	got, err := s.User(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	acctSameUser(t, got, want)
	got, err = s.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	acctSameUser(t, got, want)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("times should come back in UTC, got %v", got.CreatedAt.Location())
	}
	h, err := s.PasswordHash(ctx, want.ID)
	if err != nil || h != "$argon2id$hash-of-alice" {
		t.Fatalf("PasswordHash = %q, %v", h, err)
	}
}

// userMissingUsersAreNotFound: missing users are not_found.
func userMissingUsersAreNotFound(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	_, err := s.User(ctx, parley.NewID())
	acctCode(t, "User", err, parley.CodeNotFound)
	_, err = s.UserByUsername(ctx, "nobody")
	acctCode(t, "UserByUsername", err, parley.CodeNotFound)
	_, err = s.PasswordHash(ctx, parley.NewID())
	acctCode(t, "PasswordHash", err, parley.CodeNotFound)
	acctCode(t, "SetPasswordHash", s.SetPasswordHash(ctx, parley.NewID(), "x"), parley.CodeNotFound)
	acctCode(t, "UpdateUser", s.UpdateUser(ctx, acctUser("ghost")), parley.CodeNotFound)
	if _, err := s.UserByUsername(ctx, "ghost"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("UpdateUser of a missing user must not create it: %v", err)
	}
}

// userDuplicatesConflictAndKeepTheOriginal: duplicates conflict and keep the original.
func userDuplicatesConflictAndKeepTheOriginal(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	orig := acctCreate(t, s, acctUser("bob"))
	dup := acctUser("bob")
	acctCode(t, "same username", s.CreateUser(ctx, dup, "other"), parley.CodeConflict)
	sameID := acctUser("robert")
	sameID.ID = orig.ID
	acctCode(t, "same id", s.CreateUser(ctx, sameID, "other"), parley.CodeConflict)
	got, err := s.UserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	acctSameUser(t, got, orig)
	if h, _ := s.PasswordHash(ctx, orig.ID); h != "$argon2id$hash-of-bob" {
		t.Fatalf("hash changed by a refused insert: %q", h)
	}
	if _, err := s.UserByUsername(ctx, "robert"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("refused insert left a row: %v", err)
	}
}

// userConcurrentCreatesOfOneUsernameExactlyOneWins: concurrent creates of one username: exactly one wins.
func userConcurrentCreatesOfOneUsernameExactlyOneWins(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateUser(ctx, acctUser("race"), "h")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			acctCode(t, "losing create", err, parley.CodeConflict)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates succeeded, want 1", wins)
	}
}

// userUpdateReplacesMutableFieldsOnly: update replaces mutable fields only.
func userUpdateReplacesMutableFieldsOnly(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("carol"))
	other := acctCreate(t, s, acctUser("dave"))
	upd := u
	upd.Username = "renamed" // must be ignored
	upd.CreatedAt = acctTime.Add(time.Hour)
	upd.DisplayName = "Carol C."
	upd.Email = ""
	upd.StatusText = "away"
	upd.Role = parley.UserRoleAdmin
	upd.Disabled = true
	upd.Settings = parley.UserSettings{Theme: parley.ThemeLight}
	upd.UpdatedAt = acctTime.Add(time.Minute)
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := upd
	want.Username, want.CreatedAt = u.Username, u.CreatedAt
	acctSameUser(t, got, want)
	gotOther, _ := s.User(ctx, other.ID)
	acctSameUser(t, gotOther, other)
	if err := s.SetPasswordHash(ctx, u.ID, "new-hash"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.PasswordHash(ctx, u.ID); h != "new-hash" {
		t.Fatalf("hash = %q", h)
	}
	if h, _ := s.PasswordHash(ctx, other.ID); h != "$argon2id$hash-of-dave" {
		t.Fatalf("other user's hash changed: %q", h)
	}
}

// userUsersByIds: users by ids.
func userUsersByIds(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, acctCreate(t, s, acctUser(fmt.Sprintf("user%d", i))).ID)
	}
	got, err := s.Users(ctx, []string{ids[2], parley.NewID(), ids[0], ids[2], "not-an-id"})
	if err != nil {
		t.Fatal(err)
	}
	names := usernames(got)
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"user0", "user2"}) {
		t.Fatalf("Users = %v", names)
	}
	got, err = s.Users(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Users(nil) = %v, %v", got, err)
	}
}

// userUsersByManyIds: users by many ids.
func userUsersByManyIds(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	want := map[string]bool{}
	var ids []string
	for i := range 40 {
		u := acctCreate(t, s, acctUser(fmt.Sprintf("many%02d", i)))
		want[u.ID] = true
		ids = append(ids, u.ID)
	}
	for range 1500 { // more than one statement's worth of parameters
		ids = append(ids, parley.NewID())
	}
	got, err := s.Users(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d users, want %d", len(got), len(want))
	}
	for _, u := range got {
		if !want[u.ID] {
			t.Fatalf("unexpected user %v", u.ID)
		}
	}
}

// userSearchByPrefix: search by prefix.
func userSearchByPrefix(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	for _, n := range []string{"ann", "anna", "annabel", "anne", "bea", "an_x", "an.y", "an-z", "zed"} {
		acctCreate(t, s, acctUser(n))
	}
	off := acctUser("annie")
	off.Disabled = true
	acctCreate(t, s, off)

	search := func(prefix, after string, limit int) []string {
		t.Helper()
		got, err := s.SearchUsers(ctx, "", prefix, after, limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q,%q,%d): %v", prefix, after, limit, err)
		}
		return usernames(got)
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if len(want) == 0 {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	eq(search("ann", "", 10), "ann", "anna", "annabel", "anne")
	eq(search("ann", "", 2), "ann", "anna")
	eq(search("ann", "anna", 2), "annabel", "anne")
	eq(search("ann", "anne", 2))
	eq(search("an", "", 100), "an-z", "an.y", "an_x", "ann", "anna", "annabel", "anne")
	eq(search("", "", 3), "an-z", "an.y", "an_x")
	eq(search("", "bea", 10), "zed")
	eq(search("annie", "", 10)) // disabled users are not found
	eq(search("q", "", 10))
	eq(search("ann", "", 0))
	eq(search("zed", "", 10), "zed")
	eq(search("zedd", "", 10))
}

// userCountAdmins: count admins.
func userCountAdmins(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	n, err := s.CountAdmins(ctx)
	if err != nil || n != 0 {
		t.Fatalf("CountAdmins on empty store = %d, %v", n, err)
	}
	a1 := acctUser("root1")
	a1.Role = parley.UserRoleAdmin
	acctCreate(t, s, a1)
	a2 := acctUser("root2")
	a2.Role = parley.UserRoleAdmin
	a2.Disabled = true
	acctCreate(t, s, a2)
	acctCreate(t, s, acctUser("plain"))
	if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
		t.Fatalf("CountAdmins = %d, %v; want 1 (disabled admins do not count)", n, err)
	}
}
