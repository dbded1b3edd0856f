package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testCalls(t *testing.T, open Opener) {
	t.Run("create, read, update", func(t *testing.T) { callCreateReadUpdate(t, open) })
	t.Run("busy", func(t *testing.T) { callBusy(t, open) })
	t.Run("racing calls for one user", func(t *testing.T) { callRace(t, open) })
	t.Run("ringing sweep", func(t *testing.T) { callRingingSweep(t, open) })
}

func newCall(conv parley.Conversation, caller, callee string, at time.Time) parley.Call {
	return parley.Call{ID: parley.NewID(), ConversationID: conv.ID, CallerID: caller, CalleeID: callee, Video: true,
		State: parley.CallRinging, CreatedAt: at, RingUntil: at.Add(30 * time.Second), CallerSession: "s-" + caller}
}

// callCreateReadUpdate: a call reads back as stored; UpdateCall applies
// only from the state named.
func callCreateReadUpdate(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cl", 2)
	conv := newConversation(t, s, parley.KindDirect, "", u[0], u[1])
	c := newCall(conv, u[0], u[1], baseTime)
	if err := s.CreateCall(ctx, c, baseTime); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("read %+v %v, want %+v", got, err, c)
	}
	_, err = s.Call(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	acc, err := parley.ApplyCall(c, parley.CallAccept, u[1], "s-b", baseTime.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateCall(ctx, acc, parley.CallRinging); err != nil {
		t.Fatal(err)
	}
	// A second accept (another device) loses: the call is active now.
	wantCode(t, s.UpdateCall(ctx, acc, parley.CallRinging), parley.CodeConflict)
	end, _ := parley.ApplyCall(acc, parley.CallHangup, u[0], "s-"+u[0], baseTime.Add(time.Minute))
	if err := s.UpdateCall(ctx, end, parley.CallActive); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Call(ctx, c.ID)
	if !reflect.DeepEqual(got, end) || got.Duration() != time.Minute-time.Second {
		t.Fatalf("ended call %+v, want %+v", got, end)
	}
	wantCode(t, s.UpdateCall(ctx, parley.Call{ID: parley.NewID()}, parley.CallRinging), parley.CodeNotFound)
}

// callBusy: a user with a live call (either side) cannot be called or call;
// an ended call, a ringing call past its ring time and an active call past
// MaxCallDuration do not count.
func callBusy(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cb", 3)
	ab := newConversation(t, s, parley.KindDirect, "", u[0], u[1])
	cb := newConversation(t, s, parley.KindDirect, "", u[2], u[1])
	ac := newConversation(t, s, parley.KindDirect, "", u[0], u[2])
	first := newCall(ab, u[0], u[1], baseTime)
	if err := s.CreateCall(ctx, first, baseTime); err != nil {
		t.Fatal(err)
	}
	err := s.CreateCall(ctx, newCall(cb, u[2], u[1], baseTime), baseTime.Add(time.Second))
	wantCode(t, err, parley.CodeConflict)
	if parley.AsError(err).Field != "callee_id" {
		t.Fatalf("busy callee: field %q", parley.AsError(err).Field)
	}
	err = s.CreateCall(ctx, newCall(ac, u[2], u[0], baseTime), baseTime.Add(time.Second))
	if wantCode(t, err, parley.CodeConflict); parley.AsError(err).Field != "callee_id" {
		t.Fatalf("busy caller as callee: field %q", parley.AsError(err).Field)
	}
	err = s.CreateCall(ctx, newCall(ac, u[0], u[2], baseTime), baseTime.Add(time.Second))
	if wantCode(t, err, parley.CodeConflict); parley.AsError(err).Field != "caller_id" {
		t.Fatalf("caller in a call: field %q", parley.AsError(err).Field)
	}
	// Past its ring time the first call no longer counts, even unswept.
	late := baseTime.Add(31 * time.Second)
	second := newCall(cb, u[2], u[1], late)
	if err := s.CreateCall(ctx, second, late); err != nil {
		t.Fatal(err)
	}
	acc, _ := parley.ApplyCall(second, parley.CallAccept, u[1], "s", late.Add(time.Second))
	if err := s.UpdateCall(ctx, acc, parley.CallRinging); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateCall(ctx, newCall(ab, u[0], u[1], late), late.Add(time.Hour)), parley.CodeConflict)
	// An active call left behind by dead nodes stops counting.
	stale := late.Add(parley.MaxCallDuration + 2*time.Second)
	third := newCall(ab, u[0], u[1], stale)
	if err := s.CreateCall(ctx, third, stale); err != nil {
		t.Fatal(err)
	}
	end, _ := parley.ApplyCall(third, parley.CallCancel, u[0], "", stale)
	if err := s.UpdateCall(ctx, end, parley.CallRinging); err != nil {
		t.Fatal(err)
	}
	// u[1]'s active call is past MaxCallDuration, u[0]'s last call ended.
	if err := s.CreateCall(ctx, newCall(ab, u[1], u[0], stale), stale); err != nil {
		t.Fatalf("call after ended and stale calls: %v", err)
	}
}

// callRace: of calls racing to ring one user, exactly one is stored.
func callRace(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cr", 6)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := 1; i < len(u); i++ {
		conv := newConversation(t, s, parley.KindDirect, "", u[i], u[0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateCall(ctx, newCall(conv, u[i], u[0], baseTime), baseTime)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if !parley.IsCode(err, parley.CodeConflict) {
				t.Errorf("racing call: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d racing calls stored, want 1", won)
	}
}

// callRingingSweep: RingingCalls lists the calls ringing past their ring
// time, oldest first, bounded by limit.
func callRingingSweep(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cs", 6)
	var ids []string
	for i := 0; i < 3; i++ {
		conv := newConversation(t, s, parley.KindDirect, "", u[2*i], u[2*i+1])
		c := newCall(conv, u[2*i], u[2*i+1], baseTime.Add(time.Duration(i)*time.Second))
		if err := s.CreateCall(ctx, c, c.CreatedAt); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if cs, err := s.RingingCalls(ctx, baseTime.Add(29*time.Second), 10); err != nil || len(cs) != 0 {
		t.Fatalf("before ring time: %v %v", cs, err)
	}
	cs, err := s.RingingCalls(ctx, baseTime.Add(31*time.Second), 10)
	if err != nil || len(cs) != 2 || cs[0].ID != ids[0] || cs[1].ID != ids[1] {
		t.Fatalf("swept %v %v", cs, err)
	}
	if cs, _ := s.RingingCalls(ctx, baseTime.Add(time.Hour), 1); len(cs) != 1 || cs[0].ID != ids[0] {
		t.Fatalf("limit 1: %v", cs)
	}
}
