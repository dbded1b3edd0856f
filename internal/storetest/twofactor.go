package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func tfHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testTwoFactor: enrolment is pending until enabled; steps are accepted only
// once and in increasing order (also under concurrency); recovery codes are
// single-use; disabling removes codes and challenges; the session lookup
// sees User.TwoFactor; a deleted account loses its second factor.
func testTwoFactor(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("twofa"))
	now := time.Now().UTC().Truncate(time.Millisecond)

	acctCode(t, "TwoFactor(none)", func() error { _, err := s.TwoFactor(ctx, u.ID); return err }(), parley.CodeNotFound)
	acctCode(t, "SetPending(unknown user)", s.SetPendingTwoFactor(ctx, parley.NewID(), []byte("k"), now), parley.CodeNotFound)
	acctCode(t, "Enable(no pending)", s.EnableTwoFactor(ctx, u.ID, 1, nil), parley.CodeNotFound)
	acctCode(t, "UseStep(not on)", s.UseTwoFactorStep(ctx, u.ID, 5), parley.CodeNotFound)
	acctCode(t, "ReplaceRecovery(not on)", s.ReplaceRecoveryCodes(ctx, u.ID, nil), parley.CodeNotFound)
	acctCode(t, "Delete(none)", s.DeleteTwoFactor(ctx, u.ID), parley.CodeNotFound)

	if err := s.SetPendingTwoFactor(ctx, u.ID, []byte("first-secret"), now); err != nil {
		t.Fatal(err)
	}
	// A second enrolment replaces the pending secret.
	if err := s.SetPendingTwoFactor(ctx, u.ID, []byte("second-secret"), now); err != nil {
		t.Fatal(err)
	}
	tf, err := s.TwoFactor(ctx, u.ID)
	if err != nil || tf.Enabled || !bytes.Equal(tf.Secret, []byte("second-secret")) || !tf.CreatedAt.Equal(now) {
		t.Fatalf("pending TwoFactor = %+v, %v", tf, err)
	}
	if got, _ := s.User(ctx, u.ID); got.TwoFactor {
		t.Fatal("User.TwoFactor true while only pending")
	}
	codes := [][]byte{tfHash("a"), tfHash("b"), tfHash("c")}
	if err := s.EnableTwoFactor(ctx, u.ID, 100, codes); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "Enable(again)", s.EnableTwoFactor(ctx, u.ID, 101, codes), parley.CodeConflict)
	acctCode(t, "SetPending(enabled)", s.SetPendingTwoFactor(ctx, u.ID, []byte("x"), now), parley.CodeConflict)
	tf, err = s.TwoFactor(ctx, u.ID)
	if err != nil || !tf.Enabled || tf.LastStep != 100 || tf.RecoveryLeft != 3 {
		t.Fatalf("enabled TwoFactor = %+v, %v", tf, err)
	}
	for name, get := range map[string]func() (parley.User, error){
		"User":           func() (parley.User, error) { return s.User(ctx, u.ID) },
		"UserByUsername": func() (parley.User, error) { return s.UserByUsername(ctx, u.Username) },
		"SessionUserByTokenHash": func() (parley.User, error) {
			ss := acctCreateSession(t, s, acctSession(u.ID, now))
			_, got, err := s.SessionUserByTokenHash(ctx, ss.TokenHash)
			return got, err
		},
	} {
		if got, err := get(); err != nil || !got.TwoFactor {
			t.Fatalf("%s after enable: TwoFactor = %v, %v", name, got.TwoFactor, err)
		}
	}

	// Steps: only later ones, each once.
	acctCode(t, "UseStep(same as enable)", s.UseTwoFactorStep(ctx, u.ID, 100), parley.CodeConflict)
	acctCode(t, "UseStep(earlier)", s.UseTwoFactorStep(ctx, u.ID, 99), parley.CodeConflict)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.UseTwoFactorStep(ctx, u.ID, 101) }()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !parley.IsCode(err, parley.CodeConflict) {
			t.Fatalf("concurrent UseStep: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent uses of one step: %d accepted, want 1", wins)
	}

	// Recovery codes: single use, also concurrently.
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.UseRecoveryCode(ctx, u.ID, tfHash("a")) }()
	}
	wg.Wait()
	wins = 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("concurrent UseRecoveryCode: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent uses of one recovery code: %d accepted, want 1", wins)
	}
	other := acctCreate(t, s, acctUser("twofaother"))
	acctCode(t, "UseRecoveryCode(someone else's)", s.UseRecoveryCode(ctx, other.ID, tfHash("b")), parley.CodeNotFound)
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{tfHash("z")}); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "UseRecoveryCode(replaced)", s.UseRecoveryCode(ctx, u.ID, tfHash("b")), parley.CodeNotFound)
	if tf, _ := s.TwoFactor(ctx, u.ID); tf.RecoveryLeft != 1 {
		t.Fatalf("RecoveryLeft after replace = %d, want 1", tf.RecoveryLeft)
	}

	// Challenges.
	ch := parley.LoginChallenge{TokenHash: tfHash("challenge"), UserID: u.ID, Kind: parley.ChallengeVerify,
		Address: "192.0.2.1", UserAgent: "storetest", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if err := s.CreateLoginChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "CreateLoginChallenge(dup)", s.CreateLoginChallenge(ctx, ch), parley.CodeConflict)
	bad := ch
	bad.TokenHash, bad.UserID = tfHash("other"), parley.NewID()
	acctCode(t, "CreateLoginChallenge(unknown user)", s.CreateLoginChallenge(ctx, bad), parley.CodeNotFound)
	if n, err := s.FailLoginChallenge(ctx, ch.TokenHash); err != nil || n != 1 {
		t.Fatalf("FailLoginChallenge = %d, %v", n, err)
	}
	got, err := s.LoginChallenge(ctx, ch.TokenHash)
	if err != nil || got.UserID != u.ID || got.Kind != parley.ChallengeVerify || got.Failures != 1 ||
		got.Address != ch.Address || got.UserAgent != ch.UserAgent || !got.ExpiresAt.Equal(ch.ExpiresAt) || !got.CreatedAt.Equal(now) {
		t.Fatalf("LoginChallenge = %+v, %v", got, err)
	}
	acctCode(t, "LoginChallenge(unknown)", func() error { _, err := s.LoginChallenge(ctx, tfHash("nope")); return err }(), parley.CodeNotFound)
	acctCode(t, "FailLoginChallenge(unknown)", func() error { _, err := s.FailLoginChallenge(ctx, tfHash("nope")); return err }(), parley.CodeNotFound)
	if err := s.DeleteLoginChallenge(ctx, ch.TokenHash); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "DeleteLoginChallenge(twice)", s.DeleteLoginChallenge(ctx, ch.TokenHash), parley.CodeNotFound)
	old := ch
	old.TokenHash, old.ExpiresAt = tfHash("old"), now.Add(-time.Second)
	if err := s.CreateLoginChallenge(ctx, old); err != nil {
		t.Fatal(err)
	}
	live := ch
	live.TokenHash = tfHash("live")
	if err := s.CreateLoginChallenge(ctx, live); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredLoginChallenges(ctx, now); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredLoginChallenges = %d, %v; want 1", n, err)
	}

	// Disabling removes everything that hangs off the secret.
	if err := s.DeleteTwoFactor(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "TwoFactor(after delete)", func() error { _, err := s.TwoFactor(ctx, u.ID); return err }(), parley.CodeNotFound)
	acctCode(t, "LoginChallenge(after delete)", func() error { _, err := s.LoginChallenge(ctx, live.TokenHash); return err }(), parley.CodeNotFound)
	acctCode(t, "UseRecoveryCode(after delete)", s.UseRecoveryCode(ctx, u.ID, tfHash("z")), parley.CodeNotFound)
	if got, _ := s.User(ctx, u.ID); got.TwoFactor {
		t.Fatal("User.TwoFactor still true after DeleteTwoFactor")
	}

	// Deleting the account removes its second factor too.
	if err := s.SetPendingTwoFactor(ctx, other.ID, []byte("k"), now); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTwoFactor(ctx, other.ID, 1, [][]byte{tfHash("q")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, other.ID, now); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "TwoFactor(deleted account)", func() error { _, err := s.TwoFactor(ctx, other.ID); return err }(), parley.CodeNotFound)
	if got, _ := s.User(ctx, other.ID); got.TwoFactor {
		t.Fatal("tombstone keeps User.TwoFactor")
	}
}
