package parley

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// CallState is where a call is in its life: ringing → active → ended, or
// ringing → ended. ApplyCall is the one transition function.
type CallState string

const (
	CallRinging CallState = "ringing" // the callee's devices ring
	CallActive  CallState = "active"  // answered on one of the callee's devices
	CallEnded   CallState = "ended"   // over; CallEnd says how
)

// CallEnd says how a call ended. It is also the outcome a call record in
// history shows.
type CallEnd string

const (
	CallMissed    CallEnd = "missed"    // rang out (RingTimeout), or the caller's device went away while ringing
	CallDeclined  CallEnd = "declined"  // the callee declined
	CallBusy      CallEnd = "busy"      // the callee's device answered busy
	CallCancelled CallEnd = "cancelled" // the caller hung up before an answer
	CallCompleted CallEnd = "completed" // answered, then hung up by either side
	CallDropped   CallEnd = "dropped"   // answered, then a participant's device went away
)

// CallAction is one thing that can happen to a call.
type CallAction string

const (
	CallAccept  CallAction = "accept"  // callee answers (on the device of the session given)
	CallDecline CallAction = "decline" // callee refuses
	CallRefuse  CallAction = "busy"    // callee's device says busy
	CallCancel  CallAction = "cancel"  // caller gives up before an answer
	CallHangup  CallAction = "hangup"  // either side ends it (cancel or decline while ringing)
	CallTimeout CallAction = "timeout" // the ring timed out (the server; no user)
	CallDrop    CallAction = "drop"    // a participant's device in the call disconnected
)

// Call limits. The ring timeout is the app's (configurable); these bound input.
const (
	MaxSDPBytes       = 32 << 10 // one session description
	MaxCandidateBytes = 1024     // one ICE candidate line
	MaxCandidates     = 100      // ICE candidates one participant may send in one call
	// MaxCallDuration bounds how long an active call counts as making its
	// participants busy: a call whose nodes all died without ending it
	// stops blocking its users after this (docs/calls.md).
	MaxCallDuration = 12 * time.Hour
)

// Call is one 1:1 audio or video call in a direct conversation. The
// session fields name the devices in the call (the caller's, and the
// callee's once answered); they route signalling and are never sent to
// clients.
type Call struct {
	ID             string     `json:"id"`
	ConversationID string     `json:"conversation_id"`
	CallerID       string     `json:"caller_id"`
	CalleeID       string     `json:"callee_id"`
	Video          bool       `json:"video"`
	State          CallState  `json:"state"`
	End            CallEnd    `json:"end,omitempty"`
	EndedBy        string     `json:"ended_by,omitempty"` // user who ended it; "" for the server
	CreatedAt      time.Time  `json:"created_at"`
	RingUntil      time.Time  `json:"ring_until"`
	AnsweredAt     *time.Time `json:"answered_at,omitempty"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	CallerSession  string     `json:"-"`
	CalleeSession  string     `json:"-"`
}

// Participant reports whether userID is the caller or the callee.
func (c Call) Participant(userID string) bool {
	return userID != "" && (userID == c.CallerID || userID == c.CalleeID)
}

// Peer returns the other participant of userID and the session of the
// peer's device in the call ("" while the callee has not answered).
func (c Call) Peer(userID string) (peer, session string) {
	if userID == c.CallerID {
		return c.CalleeID, c.CalleeSession
	}
	return c.CallerID, c.CallerSession
}

// InCall reports whether (userID, sessionID) is a device in the call.
func (c Call) InCall(userID, sessionID string) bool {
	return sessionID != "" && ((userID == c.CallerID && sessionID == c.CallerSession) ||
		(userID == c.CalleeID && sessionID == c.CalleeSession))
}

// Live reports whether the call still makes its participants busy at now:
// ringing within its ring time, or active for less than MaxCallDuration.
func (c Call) Live(now time.Time) bool {
	switch c.State {
	case CallRinging:
		return now.Before(c.RingUntil)
	case CallActive:
		return c.AnsweredAt != nil && now.Sub(*c.AnsweredAt) < MaxCallDuration
	}
	return false
}

// Duration is how long an answered call lasted (0 if never answered or not ended).
func (c Call) Duration() time.Duration {
	if c.AnsweredAt == nil || c.EndedAt == nil {
		return 0
	}
	return c.EndedAt.Sub(*c.AnsweredAt)
}

// ApplyCall is the call state machine: the call after userID (on the
// device of sessionID) does a to c at now. userID is "" for the server's
// own actions (CallTimeout). It decides, it does not store: the store
// applies the result only if the call is still in c.State.
//
// Errors: CodeNotFound when userID is not a participant (a call's
// existence is private to its participants), CodeForbidden when the action
// is the other side's, CodeConflict when the call's state does not allow
// it (ended, already answered, not yet answered, ring not yet timed out).
func ApplyCall(c Call, a CallAction, userID, sessionID string, now time.Time) (Call, error) {
	server := a == CallTimeout
	if !server && !c.Participant(userID) {
		return c, Errorf(CodeNotFound, "call not found")
	}
	if c.State == CallEnded {
		return c, Errorf(CodeConflict, "the call has ended")
	}
	caller := userID == c.CallerID
	end := func(e CallEnd) (Call, error) {
		t := now
		c.State, c.End, c.EndedAt, c.EndedBy = CallEnded, e, &t, userID
		return c, nil
	}
	if c.State == CallRinging {
		switch a {
		case CallAccept, CallDecline, CallRefuse:
			if caller {
				return c, Errorf(CodeForbidden, "only the callee may %s a call", a)
			}
			if a == CallDecline {
				return end(CallDeclined)
			}
			if a == CallRefuse {
				return end(CallBusy)
			}
			if !now.Before(c.RingUntil) {
				return c, Errorf(CodeConflict, "the call is no longer ringing")
			}
			if sessionID == "" {
				return c, Invalid("session", "accepting needs the answering device's session")
			}
			t := now
			c.State, c.AnsweredAt, c.CalleeSession = CallActive, &t, sessionID
			return c, nil
		case CallCancel:
			if !caller {
				return c, Errorf(CodeForbidden, "only the caller may cancel a call; decline it")
			}
			return end(CallCancelled)
		case CallHangup:
			if caller {
				return end(CallCancelled)
			}
			return end(CallDeclined)
		case CallTimeout:
			if now.Before(c.RingUntil) {
				return c, Errorf(CodeConflict, "the call is still ringing")
			}
			return end(CallMissed)
		case CallDrop:
			// The callee has no device in a ringing call: one of their
			// devices going away changes nothing.
			if !caller || sessionID != c.CallerSession {
				return c, Errorf(CodeConflict, "that device is not in the call")
			}
			return end(CallMissed)
		}
	}
	if c.State == CallActive {
		switch a {
		case CallHangup:
			return end(CallCompleted)
		case CallDrop:
			if !c.InCall(userID, sessionID) {
				return c, Errorf(CodeConflict, "that device is not in the call")
			}
			return end(CallDropped)
		case CallAccept, CallDecline, CallRefuse, CallCancel, CallTimeout:
			return c, Errorf(CodeConflict, "the call was answered already")
		}
	}
	return c, Invalid("type", "unknown call action %q", a)
}

// CallSummary is the call record a system message carries (SystemCall).
type CallSummary struct {
	CallID     string  `json:"call_id"`
	CallerID   string  `json:"caller_id"`
	Video      bool    `json:"video"`
	Outcome    CallEnd `json:"outcome"`
	DurationMS int64   `json:"duration_ms"`
}

// CallRecord is the system message recording an ended call in its
// conversation's history: a missed, declined… call, or an answered one
// with its duration.
func CallRecord(c Call, id string) Message {
	at := c.CreatedAt
	if c.EndedAt != nil {
		at = *c.EndedAt
	}
	return Message{ID: id, ConversationID: c.ConversationID, SenderID: c.CallerID, Kind: MessageSystem, CreatedAt: at,
		System: &SystemInfo{Action: SystemCall, ActorID: c.CallerID, UserIDs: []string{c.CalleeID},
			Call: &CallSummary{CallID: c.ID, CallerID: c.CallerID, Video: c.Video, Outcome: c.End,
				DurationMS: c.Duration().Milliseconds()}}}
}

// SDP types a client may relay.
const (
	SDPOffer  = "offer"
	SDPAnswer = "answer"
)

// ValidateSDP checks one relayed session description: type offer or
// answer, a non-empty UTF-8 body of at most MaxSDPBytes starting "v=".
// The server relays it unchanged and does not parse it further.
func ValidateSDP(typ, sdp string) error {
	if typ != SDPOffer && typ != SDPAnswer {
		return Invalid("sdp_type", "sdp_type must be %q or %q", SDPOffer, SDPAnswer)
	}
	if len(sdp) > MaxSDPBytes {
		return TooLarge("sdp", "sdp must be at most %d bytes", MaxSDPBytes)
	}
	if !strings.HasPrefix(sdp, "v=") || !utf8.ValidString(sdp) {
		return Invalid("sdp", "sdp must be a session description (starting \"v=\")")
	}
	return nil
}

// ICECandidate is one trickled ICE candidate, as the browser's
// RTCIceCandidateInit; an empty Candidate marks the end of candidates.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Validate checks a candidate's sizes and form ("candidate:…" or empty).
func (c ICECandidate) Validate() error {
	if len(c.Candidate) > MaxCandidateBytes {
		return TooLarge("candidate", "a candidate must be at most %d bytes", MaxCandidateBytes)
	}
	if c.Candidate != "" && !strings.HasPrefix(c.Candidate, "candidate:") {
		return Invalid("candidate", "a candidate must start \"candidate:\"")
	}
	for _, s := range []*string{c.SDPMid, c.UsernameFragment} {
		if s != nil && len(*s) > 256 {
			return TooLarge("candidate", "sdpMid and usernameFragment must be at most 256 bytes")
		}
	}
	if !utf8.ValidString(c.Candidate) {
		return Invalid("candidate", "a candidate must be UTF-8")
	}
	return nil
}

// CallStore persists calls. See internal/storetest for the contract.
type CallStore interface {
	// CreateCall stores c (state CallRinging) unless the caller or the
	// callee is party to another call that is Live at now: then nothing is
	// stored and it returns CodeConflict with Field "callee_id" (the callee
	// is busy) or "caller_id" (the caller is). The check and the insert are
	// atomic (two calls racing for one user: one wins).
	CreateCall(ctx context.Context, c Call, now time.Time) error
	// Call returns one call. CodeNotFound.
	Call(ctx context.Context, id string) (Call, error)
	// UpdateCall replaces the state, end, times and callee session of the
	// call c.ID with c's, if its state is still from; otherwise it
	// returns CodeConflict and changes nothing. CodeNotFound.
	UpdateCall(ctx context.Context, c Call, from CallState) error
	// RingingCalls returns the calls still ringing whose RingUntil is not
	// after now, oldest first, at most limit (the ring-timeout sweep).
	RingingCalls(ctx context.Context, now time.Time, limit int) ([]Call, error)
}
