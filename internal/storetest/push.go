package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testPush(t *testing.T, open Opener) {
	t.Run("subscriptions", func(t *testing.T) { pushSubscriptions(t, open) })
	t.Run("subscriptions are capped per user", func(t *testing.T) { pushSubscriptionCap(t, open) })
	t.Run("server secret is stored once", func(t *testing.T) { pushServerSecret(t, open) })
	t.Run("mobile devices", func(t *testing.T) { pushDevices(t, open) })
}

func pushSub(user, endpoint string, at time.Time) parley.PushSubscription {
	return parley.PushSubscription{ID: parley.NewID(), UserID: user, Endpoint: endpoint, P256DH: "key-" + endpoint,
		Auth: "auth", CreatedAt: at}
}

// pushSubscriptions: add, list, replace by endpoint (also across users),
// delete one's own only, prune by endpoint.
func pushSubscriptions(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ps", 2)
	a := pushSub(u[0], "https://push.example/a", baseTime)
	if _, err := s.AddPushSubscription(ctx, a, 10); err != nil {
		t.Fatal(err)
	}
	_, err := s.AddPushSubscription(ctx, pushSub(parley.NewID(), "https://push.example/x", baseTime), 10)
	wantCode(t, err, parley.CodeNotFound)
	b := pushSub(u[0], "https://push.example/b", baseTime.Add(time.Second))
	if _, err := s.AddPushSubscription(ctx, b, 10); err != nil {
		t.Fatal(err)
	}
	got, err := s.PushSubscriptions(ctx, u[0])
	if err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].Endpoint != b.Endpoint || got[0].P256DH != a.P256DH ||
		!got[0].CreatedAt.Equal(baseTime) || got[0].UserID != u[0] {
		t.Fatalf("subscriptions %+v %v", got, err)
	}
	// The browser behind endpoint a signs in as u[1]: a moves to u[1].
	moved := pushSub(u[1], a.Endpoint, baseTime.Add(2*time.Second))
	if _, err := s.AddPushSubscription(ctx, moved, 10); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PushSubscriptions(ctx, u[0]); len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("u0 after the move %+v", got)
	}
	if got, _ := s.PushSubscriptions(ctx, u[1]); len(got) != 1 || got[0].ID != moved.ID {
		t.Fatalf("u1 after the move %+v", got)
	}
	wantCode(t, s.DeletePushSubscription(ctx, u[1], b.ID), parley.CodeNotFound) // someone else's
	if err := s.DeletePushSubscription(ctx, u[0], b.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeletePushSubscription(ctx, u[0], b.ID), parley.CodeNotFound)
	if err := s.DeletePushEndpoint(ctx, moved.Endpoint); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePushEndpoint(ctx, "https://push.example/none"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PushSubscriptions(ctx, u[1]); len(got) != 0 {
		t.Fatalf("after pruning %+v", got)
	}
}

// pushSubscriptionCap: a flood keeps only the newest max, also when the
// additions race.
func pushSubscriptionCap(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "pc", 1)
	for i := range 8 {
		if _, err := s.AddPushSubscription(ctx, pushSub(u[0], fmt.Sprintf("https://push.example/%d", i),
			baseTime.Add(time.Duration(i)*time.Second)), 3); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.PushSubscriptions(ctx, u[0])
	if len(got) != 3 || got[0].Endpoint != "https://push.example/5" || got[2].Endpoint != "https://push.example/7" {
		t.Fatalf("after a flood %+v", got)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AddPushSubscription(ctx, pushSub(u[0], fmt.Sprintf("https://push.example/r%d", i),
				baseTime.Add(time.Minute)), 3); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := s.PushSubscriptions(ctx, u[0]); len(got) != 3 {
		t.Fatalf("after a concurrent flood: %d subscriptions", len(got))
	}
}

// pushServerSecret: the first value stored wins, also among racers.
func pushServerSecret(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.ServerSecret(ctx, "vapid", fmt.Sprintf("v%d", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("secrets %v", got)
		}
	}
	if v, _ := s.ServerSecret(ctx, "vapid", "later"); v != got[0] {
		t.Fatalf("a later call replaced the secret: %q", v)
	}
	if v, _ := s.ServerSecret(ctx, "other", "x"); v != "x" {
		t.Fatalf("other secret %q", v)
	}
}

// pushDevices: add, list, move between users, cap, delete, prune by token.
func pushDevices(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "pd", 2)
	dev := func(user string, p parley.PushPlatform, token string, i int) parley.PushDevice {
		return parley.PushDevice{ID: parley.NewID(), UserID: user, Platform: p, Token: token,
			CreatedAt: baseTime.Add(time.Duration(i) * time.Second)}
	}
	_, err := s.AddPushDevice(ctx, dev(parley.NewID(), parley.PlatformFCM, "t", 0), 3)
	wantCode(t, err, parley.CodeNotFound)
	a := dev(u[0], parley.PlatformFCM, "tok-a", 0)
	if _, err := s.AddPushDevice(ctx, a, 3); err != nil {
		t.Fatal(err)
	}
	// The same token on the other platform is another device.
	if _, err := s.AddPushDevice(ctx, dev(u[0], parley.PlatformAPNs, "tok-a", 1), 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PushDevices(ctx, u[0]); len(got) != 2 || got[0].ID != a.ID || got[0].Platform != parley.PlatformFCM {
		t.Fatalf("devices %+v", got)
	}
	moved := dev(u[1], parley.PlatformFCM, "tok-a", 2)
	if _, err := s.AddPushDevice(ctx, moved, 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PushDevices(ctx, u[0]); len(got) != 1 || got[0].Platform != parley.PlatformAPNs {
		t.Fatalf("after the move %+v", got)
	}
	for i := range 6 {
		if _, err := s.AddPushDevice(ctx, dev(u[1], parley.PlatformAPNs, fmt.Sprintf("flood-%d", i), 10+i), 3); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.PushDevices(ctx, u[1])
	if len(got) != 3 || got[2].Token != "flood-5" {
		t.Fatalf("after a flood %+v", got)
	}
	wantCode(t, s.DeletePushDevice(ctx, u[0], got[0].ID), parley.CodeNotFound)
	if err := s.DeletePushDevice(ctx, u[1], got[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePushToken(ctx, parley.PlatformAPNs, "flood-5"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePushToken(ctx, parley.PlatformFCM, "flood-5"); err != nil { // none: no error
		t.Fatal(err)
	}
	if got, _ := s.PushDevices(ctx, u[1]); len(got) != 1 || got[0].Token != "flood-4" {
		t.Fatalf("after deletes %+v", got)
	}
}
