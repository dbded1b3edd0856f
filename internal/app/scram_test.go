package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// scramProof computes a SCRAM-SHA-256 client proof the way a client does.
func scramProof(t *testing.T, password string, salt []byte, iter int, authMessage string) (proof, serverSig []byte) {
	t.Helper()
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	sig := mac(stored[:], authMessage)
	proof = make([]byte, 32)
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return proof, mac(mac(salted, "Server Key"), authMessage)
}

func TestScram(t *testing.T) {
	ctx := context.Background()
	e := newAcctEnv(t, func(o *app.Options) { o.ScramKeys = true })
	u, _, actor := e.register(t, "scarlet")
	const am = "n=scarlet,r=abc,r=abcdef,s=xx,i=4096,c=biws,r=abcdef"

	l, err := e.app.BeginScram(ctx, "Scarlet", "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	proof, wantSig := scramProof(t, acctPassword, l.Salt, l.Iterations, am)
	got, tok, sig, err := e.app.FinishScram(ctx, l, am, proof, "xmpp")
	if err != nil {
		t.Fatalf("FinishScram with the right proof: %v", err)
	}
	if got.ID != u.ID || !hmac.Equal(sig, wantSig) || e.auth(t, tok).UserID != u.ID {
		t.Fatalf("FinishScram = %v, %x; want %v, %x", got.ID, sig, u.ID, wantSig)
	}
	// A used exchange cannot be replayed.
	_, _, _, err = e.app.FinishScram(ctx, l, am, proof, "xmpp")
	wantErr(t, "replay", err, parley.CodeInvalid, "scram")

	// Wrong password, short proof, unknown user: unauthenticated alike.
	l, _ = e.app.BeginScram(ctx, "scarlet", "192.0.2.9")
	bad, _ := scramProof(t, "wrong-password", l.Salt, l.Iterations, am)
	_, _, _, err = e.app.FinishScram(ctx, l, am, bad, "xmpp")
	wantErr(t, "wrong password", err, parley.CodeUnauthenticated, "")
	l, _ = e.app.BeginScram(ctx, "scarlet", "192.0.2.9")
	_, _, _, err = e.app.FinishScram(ctx, l, am, proof[:5], "xmpp")
	wantErr(t, "short proof", err, parley.CodeUnauthenticated, "")
	l1, err := e.app.BeginScram(ctx, "nobody", "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := e.app.BeginScram(ctx, "nobody", "192.0.2.9")
	if !hmac.Equal(l1.Salt, l2.Salt) || l1.Iterations != app.ScramIterations {
		t.Fatal("an unknown account's salt is not stable: it would reveal that the account does not exist")
	}
	_, err = e.app.BeginScram(ctx, "x", "192.0.2.9")
	wantErr(t, "bad username", err, parley.CodeInvalid, "username")

	// A password change replaces the verifier: the old password stops working.
	if err := e.app.ChangePassword(ctx, actor, acctPassword, "another-passw0rd"); err != nil {
		t.Fatal(err)
	}
	l, _ = e.app.BeginScram(ctx, "scarlet", "192.0.2.10")
	old, _ := scramProof(t, acctPassword, l.Salt, l.Iterations, am)
	_, _, _, err = e.app.FinishScram(ctx, l, am, old, "xmpp")
	wantErr(t, "old password", err, parley.CodeUnauthenticated, "")
	l, _ = e.app.BeginScram(ctx, "scarlet", "192.0.2.10")
	proof, _ = scramProof(t, "another-passw0rd", l.Salt, l.Iterations, am)
	if _, _, _, err = e.app.FinishScram(ctx, l, am, proof, "xmpp"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

// TestScramDerivedAtLogin: an account made without verifiers gets one at
// its next password sign-in.
func TestScramDerivedAtLogin(t *testing.T) {
	ctx := context.Background()
	e := newAcctEnv(t, nil)
	e.register(t, "legacy")
	if k, _ := e.store.ScramKeys(ctx, mustUser(t, e, "legacy")); k != "" {
		t.Fatal("verifier derived with ScramKeys off")
	}
	e2 := app.New(app.Options{Store: e.store, Bus: nopBus{}, ScramKeys: true,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})
	if _, _, err := e2.Login(ctx, app.LoginInput{Username: "legacy", Password: acctPassword}); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.store.ScramKeys(ctx, mustUser(t, e, "legacy")); k == "" {
		t.Fatal("no verifier after a password sign-in")
	}
}

func mustUser(t *testing.T, e *acctEnv, name string) string {
	u, err := e.store.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

type nopBus struct{}

func (nopBus) Publish(context.Context, parley.Event) error  { return nil }
func (nopBus) Subscribe(func(parley.Event)) (func(), error) { return func() {}, nil }
func (nopBus) Close() error                                 { return nil }
