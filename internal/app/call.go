package app

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// Calls: 1:1 audio/video calls in direct conversations (docs/calls.md).
// The call's state is in the Store (so every node agrees on it and on who
// is busy); each change goes through parley.ApplyCall and is stored only
// if the call is still in the state it was read in. Events go to the two
// participants (EventCall) and relayed signalling to the peer's device in
// the call only (EventCallSDP, EventCallICE, routed by session).

// RingTimeout is how long a call rings before it is missed, by default.
const RingTimeout = 45 * time.Second

// DropGrace is how long a device in a call may be without any connection
// to this node before the call is ended as dropped: enough to survive a
// reconnect.
const DropGrace = 15 * time.Second

// callFrame is {"type":"call","call":{…}}.
type callFrame struct {
	Type parley.EventKind `json:"type"`
	Call parley.Call      `json:"call"`
}

// sdpFrame is {"type":"call_sdp","call_id","from","sdp_type","sdp"}.
type sdpFrame struct {
	Type    parley.EventKind `json:"type"`
	CallID  string           `json:"call_id"`
	From    string           `json:"from"`
	SDPType string           `json:"sdp_type"`
	SDP     string           `json:"sdp"`
}

// iceFrame is {"type":"call_ice","call_id","from","candidate":{…}}.
type iceFrame struct {
	Type      parley.EventKind    `json:"type"`
	CallID    string              `json:"call_id"`
	From      string              `json:"from"`
	Candidate parley.ICECandidate `json:"candidate"`
}

// calls is a node's call bookkeeping: connections per session on this node,
// the calls each session has a device in, ring timers, drop timers and
// the ICE candidates each participant sent. Guarded by mu.
type calls struct {
	mu      sync.Mutex
	ring    time.Duration
	grace   time.Duration
	conns   map[string]int                 // session → live connections on this node
	devices map[string]map[string]struct{} // session → calls it has a device in
	timers  map[string]*time.Timer         // call → ring timer
	drops   map[string]*time.Timer         // session → pending drop
	ice     map[string]int                 // call + "/" + user → candidates relayed
	rings   *Limiter                       // rings per user
	closed  bool
}

func newCalls(ring, grace time.Duration, now func() time.Time) *calls {
	return &calls{ring: ring, grace: grace, conns: map[string]int{}, devices: map[string]map[string]struct{}{},
		timers: map[string]*time.Timer{}, drops: map[string]*time.Timer{}, ice: map[string]int{},
		// A ring every 2 seconds per user, bursts of 5.
		rings: NewLimiter(0.5, 5, now)}
}

// SetCallTimes sets the ring timeout and the drop grace (tests; zero keeps).
func (r *Realtime) SetCallTimes(ring, grace time.Duration) {
	r.calls.mu.Lock()
	defer r.calls.mu.Unlock()
	if ring > 0 {
		r.calls.ring = ring
	}
	if grace > 0 {
		r.calls.grace = grace
	}
}

// Close stops the call timers of this node. Calls still ringing then ring
// out at the next sweep of another node or of this one after a restart.
func (r *Realtime) Close() {
	k := r.calls
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	for id, t := range k.timers {
		t.Stop()
		delete(k.timers, id)
	}
	for id, t := range k.drops {
		t.Stop()
		delete(k.drops, id)
	}
}

// RingCall starts a call from actor's device to the other member of the
// direct conversation conversationID: the callee's devices get a call
// event in state ringing. Errors: CodeNotFound for a conversation actor
// is not a member of, CodeInvalid for a group or channel, CodeConflict
// (field callee_id or caller_id) when either side is in another call,
// CodeRateLimited for too many rings.
func (r *Realtime) RingCall(ctx context.Context, actor parley.Actor, conversationID string, video bool) (parley.Call, error) {
	if actor.Anonymous() || actor.SessionID == "" {
		return parley.Call{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(conversationID) {
		return parley.Call{}, parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	if err := r.App.memberOf(ctx, actor, conversationID); err != nil {
		return parley.Call{}, err
	}
	conv, err := r.App.store.Conversation(ctx, conversationID)
	if err != nil {
		return parley.Call{}, err
	}
	if conv.Kind != parley.KindDirect {
		return parley.Call{}, parley.Invalid("conversation_id", "calls are 1:1: only a direct conversation can be called")
	}
	callee := parley.DirectPeer(conv.DirectKey, actor.UserID)
	if callee == actor.UserID || !parley.ValidID(callee) {
		return parley.Call{}, parley.Invalid("conversation_id", "there is nobody else in this conversation to call")
	}
	if ok, wait := r.calls.rings.Allow(actor.UserID); !ok {
		return parley.Call{}, &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "you are starting calls too fast"}
	}
	r.sweepRinging(ctx)
	now := r.App.now().UTC()
	r.calls.mu.Lock()
	ring := r.calls.ring
	r.calls.mu.Unlock()
	c := parley.Call{ID: parley.NewID(), ConversationID: conversationID, CallerID: actor.UserID, CalleeID: callee,
		Video: video, State: parley.CallRinging, CreatedAt: now, RingUntil: now.Add(ring), CallerSession: actor.SessionID}
	if err := r.App.store.CreateCall(ctx, c, now); err != nil {
		return parley.Call{}, err
	}
	r.calls.mu.Lock()
	r.addDevice(actor.SessionID, c.ID)
	if !r.calls.closed {
		id := c.ID
		r.calls.timers[id] = time.AfterFunc(ring, func() { r.expire(id) })
	}
	r.calls.mu.Unlock()
	r.publishCall(context.WithoutCancel(ctx), c)
	return c, nil
}

// CallAction applies one of accept, decline, busy, cancel or hangup by
// actor's device to the call callID and returns the call after it.
// Errors: CodeNotFound (unknown call, or actor is not in it), CodeForbidden
// (the other side's action), CodeConflict (the call's state does not allow
// it, e.g. a second device accepting), CodeInvalid (bad id or action).
func (r *Realtime) CallAction(ctx context.Context, actor parley.Actor, callID string, a parley.CallAction) (parley.Call, error) {
	if actor.Anonymous() {
		return parley.Call{}, unauthenticated("sign in first")
	}
	switch a {
	case parley.CallAccept, parley.CallDecline, parley.CallRefuse, parley.CallCancel, parley.CallHangup:
	default:
		return parley.Call{}, parley.Invalid("type", "unknown call action %q", a)
	}
	c, err := r.participantCall(ctx, actor, callID)
	if err != nil {
		return parley.Call{}, err
	}
	now := r.App.now().UTC()
	if a == parley.CallAccept && c.State == parley.CallRinging && !now.Before(c.RingUntil) {
		r.expire(c.ID)
		return parley.Call{}, parley.Errorf(parley.CodeConflict, "the call is no longer ringing")
	}
	return r.transition(ctx, c, a, actor.UserID, actor.SessionID, now)
}

// participantCall reads the call callID for one of its participants.
func (r *Realtime) participantCall(ctx context.Context, actor parley.Actor, callID string) (parley.Call, error) {
	if !parley.ValidID(callID) {
		return parley.Call{}, parley.Invalid("call_id", "call_id must be a call id")
	}
	c, err := r.App.store.Call(ctx, callID)
	if err == nil && !c.Participant(actor.UserID) {
		err = parley.Errorf(parley.CodeNotFound, "call not found")
	}
	return c, err
}

// transition applies a to c, stores the result if c is still in its state
// and then publishes it, tracks devices and records an ended call.
func (r *Realtime) transition(ctx context.Context, c parley.Call, a parley.CallAction, userID, sessionID string,
	now time.Time) (parley.Call, error) {
	next, err := parley.ApplyCall(c, a, userID, sessionID, now)
	if err != nil {
		return parley.Call{}, err
	}
	if err := r.App.store.UpdateCall(ctx, next, c.State); err != nil {
		if parley.IsCode(err, parley.CodeConflict) {
			return parley.Call{}, parley.Errorf(parley.CodeConflict, "the call changed meanwhile (answered on another device, or ended)")
		}
		return parley.Call{}, err
	}
	r.calls.mu.Lock()
	switch next.State {
	case parley.CallActive:
		r.addDevice(next.CalleeSession, next.ID)
		if t := r.calls.timers[next.ID]; t != nil {
			t.Stop()
			delete(r.calls.timers, next.ID)
		}
	case parley.CallEnded:
		r.forget(next)
	}
	r.calls.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	r.publishCall(ctx, next)
	if next.State == parley.CallEnded {
		// Exactly one transition ends a call (UpdateCall compares the
		// state), so the record is appended once.
		_, _, err := r.App.store.AppendMessage(ctx, parley.CallRecord(next, parley.NewID()), parley.CheckNone,
			func(m parley.Message) { r.App.publishMessage(parley.EventMessage, m) })
		if err != nil {
			r.App.log.Warn("call record not written", "call_id", next.ID, "conversation_id", next.ConversationID, "err", err)
		}
	}
	return next, nil
}

// addDevice records that session has a device in call id. Under calls.mu.
func (r *Realtime) addDevice(session, id string) {
	set := r.calls.devices[session]
	if set == nil {
		set = map[string]struct{}{}
		r.calls.devices[session] = set
	}
	set[id] = struct{}{}
}

// forget drops this node's bookkeeping of an ended call. Under calls.mu.
func (r *Realtime) forget(c parley.Call) {
	for _, s := range []string{c.CallerSession, c.CalleeSession} {
		if set := r.calls.devices[s]; set != nil {
			delete(set, c.ID)
			if len(set) == 0 {
				delete(r.calls.devices, s)
			}
		}
	}
	if t := r.calls.timers[c.ID]; t != nil {
		t.Stop()
		delete(r.calls.timers, c.ID)
	}
	delete(r.calls.ice, c.ID+"/"+c.CallerID)
	delete(r.calls.ice, c.ID+"/"+c.CalleeID)
}

// expire ends the call id as missed if it is still ringing past its time.
func (r *Realtime) expire(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := r.App.store.Call(ctx, id)
	if err != nil || c.State != parley.CallRinging {
		return
	}
	now := r.App.now().UTC()
	if now.Before(c.RingUntil) { // a clock step: look again then
		r.calls.mu.Lock()
		if !r.calls.closed {
			r.calls.timers[id] = time.AfterFunc(c.RingUntil.Sub(now), func() { r.expire(id) })
		}
		r.calls.mu.Unlock()
		return
	}
	if _, err := r.transition(ctx, c, parley.CallTimeout, "", "", now); err != nil && !parley.IsCode(err, parley.CodeConflict) {
		r.App.log.Warn("call ring timeout", "call_id", id, "err", err)
	}
}

// sweepRinging ends, as missed, calls left ringing past their time by a
// node that stopped before its timer fired. Every ring runs it.
func (r *Realtime) sweepRinging(ctx context.Context) {
	cs, err := r.App.store.RingingCalls(ctx, r.App.now().UTC(), 16)
	if err != nil {
		return
	}
	for _, c := range cs {
		r.expire(c.ID)
	}
}

func (r *Realtime) publishCall(ctx context.Context, c parley.Call) {
	r.App.publish(ctx, parley.Event{Kind: parley.EventCall, UserIDs: []string{c.CallerID, c.CalleeID},
		Frame: frame(callFrame{Type: parley.EventCall, Call: c})})
}

// CallSignal relays a session description (sdpType and sdp) or, with
// candidate set, an ICE candidate from actor's device in the answered call
// callID to the peer's device in it. Errors: CodeInvalid and CodeTooLarge
// for a malformed or oversized description or candidate, CodeNotFound
// (unknown call or not a participant), CodeConflict (not answered yet,
// ended, or actor's device is not the one in the call), CodeRateLimited
// beyond parley.MaxCandidates candidates per participant and call.
func (r *Realtime) CallSignal(ctx context.Context, actor parley.Actor, callID, sdpType, sdp string,
	candidate *parley.ICECandidate) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if candidate != nil {
		if err := candidate.Validate(); err != nil {
			return err
		}
	} else if err := parley.ValidateSDP(sdpType, sdp); err != nil {
		return err
	}
	c, err := r.participantCall(ctx, actor, callID)
	if err != nil {
		return err
	}
	switch {
	case c.State == parley.CallRinging:
		return parley.Errorf(parley.CodeConflict, "the call has not been answered yet")
	case c.State == parley.CallEnded:
		return parley.Errorf(parley.CodeConflict, "the call has ended")
	case !c.InCall(actor.UserID, actor.SessionID):
		return parley.Errorf(parley.CodeConflict, "the call is on another of your devices")
	}
	peer, session := c.Peer(actor.UserID)
	var f []byte
	kind := parley.EventCallSDP
	if candidate != nil {
		kind = parley.EventCallICE
		key := c.ID + "/" + actor.UserID
		r.calls.mu.Lock()
		n := r.calls.ice[key]
		if n < parley.MaxCandidates {
			r.calls.ice[key] = n + 1
		}
		r.calls.mu.Unlock()
		if n >= parley.MaxCandidates {
			return &parley.Error{Code: parley.CodeRateLimited, Field: "candidate", RetryAfter: time.Minute,
				Message: "too many ICE candidates for one call"}
		}
		f = frame(iceFrame{Type: kind, CallID: c.ID, From: actor.UserID, Candidate: *candidate})
	} else {
		f = frame(sdpFrame{Type: kind, CallID: c.ID, From: actor.UserID, SDPType: sdpType, SDP: sdp})
	}
	r.App.publish(context.WithoutCancel(ctx), parley.Event{Kind: kind, UserIDs: []string{peer}, SessionIDs: []string{session}, Frame: f})
	return nil
}

// callConnected and callDisconnected count the connections of a session
// on this node; when a session with a device in a call has had none for
// DropGrace, its calls end as dropped (missed, if still ringing).
func (r *Realtime) callConnected(actor parley.Actor) {
	if actor.SessionID == "" {
		return
	}
	k := r.calls
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conns[actor.SessionID]++
	if t := k.drops[actor.SessionID]; t != nil {
		t.Stop()
		delete(k.drops, actor.SessionID)
	}
}

func (r *Realtime) callDisconnected(actor parley.Actor) {
	if actor.SessionID == "" {
		return
	}
	k := r.calls
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conns[actor.SessionID]--; k.conns[actor.SessionID] > 0 {
		return
	}
	delete(k.conns, actor.SessionID)
	if len(k.devices[actor.SessionID]) == 0 || k.closed || k.drops[actor.SessionID] != nil {
		return
	}
	k.drops[actor.SessionID] = time.AfterFunc(k.grace, func() { r.dropSession(actor) })
}

// dropSession ends the calls actor's session has a device in.
func (r *Realtime) dropSession(actor parley.Actor) {
	k := r.calls
	k.mu.Lock()
	delete(k.drops, actor.SessionID)
	if k.conns[actor.SessionID] > 0 {
		k.mu.Unlock()
		return
	}
	var ids []string
	for id := range k.devices[actor.SessionID] {
		ids = append(ids, id)
	}
	k.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range ids {
		c, err := r.App.store.Call(ctx, id)
		if err != nil {
			continue
		}
		if _, err := r.transition(ctx, c, parley.CallDrop, actor.UserID, actor.SessionID, r.App.now().UTC()); err != nil &&
			!parley.IsCode(err, parley.CodeConflict) {
			r.App.log.Warn("call drop", "call_id", id, "err", err)
		}
		if c.State == parley.CallEnded || parley.IsCode(err, parley.CodeConflict) {
			k.mu.Lock()
			if set := k.devices[actor.SessionID]; set != nil {
				delete(set, id)
				if len(set) == 0 {
					delete(k.devices, actor.SessionID)
				}
			}
			k.mu.Unlock()
		}
	}
}
