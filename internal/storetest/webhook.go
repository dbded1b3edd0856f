package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testOutgoingWebhooks: webhooks are capped per bot; a delivery is
// enqueued once per (webhook, event) however many try; claims are disjoint
// and leased; a failed delivery counts against its webhook, which is
// disabled at the limit and leaves the active list; a delivered one resets
// the count; the log lists deliveries newest first.
func testOutgoingWebhooks(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	owner := acctCreate(t, s, acctUser("hookowner"))
	b := acctUser("hookbot")
	b.BotOwner, b.Email = owner.ID, ""
	bot := acctCreate(t, s, b)
	now := time.Now().UTC().Truncate(time.Millisecond)
	w := parley.OutgoingWebhook{ID: parley.NewID(), BotID: bot.ID, URL: "https://example.org/hook", Secret: "s3cret", CreatedAt: now}
	if err := s.CreateOutgoingWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < parley.OutgoingWebhooksPerBot; i++ {
		if err := s.CreateOutgoingWebhook(ctx, parley.OutgoingWebhook{ID: parley.NewID(), BotID: bot.ID, URL: "https://example.org/" + fmt.Sprint(i),
			Secret: "x", CreatedAt: now.Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	acctCode(t, "CreateOutgoingWebhook(beyond the cap)", s.CreateOutgoingWebhook(ctx, parley.OutgoingWebhook{ID: parley.NewID(), BotID: bot.ID,
		URL: "https://example.org/x", Secret: "x", CreatedAt: now}), parley.CodeConflict)
	list, err := s.OutgoingWebhooks(ctx, bot.ID)
	if err != nil || len(list) != parley.OutgoingWebhooksPerBot || list[len(list)-1].ID != w.ID || list[len(list)-1].Secret != "s3cret" {
		t.Fatalf("OutgoingWebhooks = %+v, %v", list, err)
	}

	mk := func(key string, at time.Time) parley.WebhookDelivery {
		return parley.WebhookDelivery{ID: parley.NewSequentialID(), WebhookID: w.ID, EventKey: key, Event: "message.created",
			Payload: []byte(`{"k":"` + key + `"}`), Status: parley.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
	}
	// Many nodes enqueue the same event: one row.
	var wg sync.WaitGroup
	wins := make([]bool, 6)
	for i := range wins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.EnqueueDelivery(ctx, mk("m1", now))
			if err != nil {
				t.Errorf("EnqueueDelivery: %v", err)
			}
			wins[i] = ok
		}()
	}
	wg.Wait()
	n := 0
	for _, ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("one event enqueued %d times", n)
	}
	if ok, err := s.EnqueueDelivery(ctx, mk("m2", now)); err != nil || !ok {
		t.Fatalf("EnqueueDelivery(m2) = %v, %v", ok, err)
	}
	if _, err := s.EnqueueDelivery(ctx, mk("later", now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	// Claims: due ones only, leased, disjoint.
	got, err := s.ClaimDeliveries(ctx, now, time.Minute, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ClaimDeliveries = %+v, %v", got, err)
	}
	if got[0].EventKey != "m1" {
		got[0], got[1] = got[1], got[0]
	}
	if got[0].EventKey != "m1" || string(got[0].Payload) != `{"k":"m1"}` || got[1].EventKey != "m2" {
		t.Fatalf("ClaimDeliveries = %+v", got)
	}
	if again, err := s.ClaimDeliveries(ctx, now, time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("second claim within the lease = %+v, %v", again, err)
	}
	if after, err := s.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 10); err != nil || len(after) != 2 {
		t.Fatalf("claim after the lease = %d, %v", len(after), err)
	}
	// Outcomes.
	d := got[0]
	d.Status, d.Attempts, d.LastStatus, d.LastError, d.UpdatedAt = parley.DeliveryFailed, 8, 500, "HTTP 500", now
	if err := s.FinishAttempt(ctx, d, 2); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.OutgoingWebhooks(ctx, bot.ID); l[len(l)-1].Failures != 1 || l[len(l)-1].Disabled {
		t.Fatalf("after one failed delivery: %+v", l[len(l)-1])
	}
	d2 := got[1]
	d2.Status, d2.Attempts, d2.LastStatus, d2.UpdatedAt = parley.DeliveryDelivered, 1, 204, now
	if err := s.FinishAttempt(ctx, d2, 2); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.OutgoingWebhooks(ctx, bot.ID); l[len(l)-1].Failures != 0 {
		t.Fatalf("a delivery does not reset failures: %+v", l[len(l)-1])
	}
	for range 2 {
		if err := s.FinishAttempt(ctx, d, 2); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := s.OutgoingWebhooks(ctx, bot.ID); !l[len(l)-1].Disabled {
		t.Fatalf("not disabled after 2 failed deliveries in a row: %+v", l[len(l)-1])
	}
	// Its queue ended with it: the pending "later" delivery failed.
	if log, _ := s.Deliveries(ctx, w.ID, 10); log[0].EventKey != "later" || log[0].Status != parley.DeliveryFailed || log[0].LastError != "webhook disabled" {
		t.Fatalf("pending delivery of a disabled webhook = %+v", log[0])
	}
	active, err := s.ActiveOutgoingWebhooks(ctx)
	if err != nil || len(active) != parley.OutgoingWebhooksPerBot-1 {
		t.Fatalf("ActiveOutgoingWebhooks = %d, %v", len(active), err)
	}
	for _, a := range active {
		if a.ID == w.ID {
			t.Fatal("a disabled webhook is active")
		}
	}
	log, err := s.Deliveries(ctx, w.ID, 10)
	if err != nil || len(log) != 3 || log[2].Status != parley.DeliveryFailed || log[2].LastError != "HTTP 500" {
		t.Fatalf("Deliveries = %+v, %v", log, err)
	}
	// Re-enabled: active again with no failures; the log stays.
	_, err = s.EnableOutgoingWebhook(ctx, owner.ID, w.ID)
	acctCode(t, "EnableOutgoingWebhook(someone else's)", err, parley.CodeNotFound)
	_, err = s.EnableOutgoingWebhook(ctx, bot.ID, parley.NewID())
	acctCode(t, "EnableOutgoingWebhook(unknown)", err, parley.CodeNotFound)
	if e, err := s.EnableOutgoingWebhook(ctx, bot.ID, w.ID); err != nil || e.ID != w.ID || e.Disabled || e.Failures != 0 || e.URL != w.URL || e.Secret != w.Secret {
		t.Fatalf("EnableOutgoingWebhook = %+v, %v", e, err)
	}
	if active, _ := s.ActiveOutgoingWebhooks(ctx); len(active) != parley.OutgoingWebhooksPerBot {
		t.Fatalf("active after re-enabling = %d", len(active))
	}
	if log, _ := s.Deliveries(ctx, w.ID, 10); len(log) != 3 {
		t.Fatalf("log after re-enabling = %d", len(log))
	}
	acctCode(t, "DeleteOutgoingWebhook(someone else's)", s.DeleteOutgoingWebhook(ctx, owner.ID, w.ID), parley.CodeNotFound)
	if err := s.DeleteOutgoingWebhook(ctx, bot.ID, w.ID); err != nil {
		t.Fatal(err)
	}
	if log, err := s.Deliveries(ctx, w.ID, 10); err != nil || len(log) != 0 {
		t.Fatalf("deliveries of a deleted webhook = %d, %v", len(log), err)
	}
	if _, err := s.DeleteUser(ctx, bot.ID, now); err != nil {
		t.Fatal(err)
	}
	if l, err := s.OutgoingWebhooks(ctx, bot.ID); err != nil || len(l) != 0 {
		t.Fatalf("webhooks of a deleted bot = %d, %v", len(l), err)
	}
}
