package parley

import (
	"testing"
	"time"
)

func TestApplyCall(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ringing := Call{ID: "c", CallerID: "a", CalleeID: "b", State: CallRinging, CreatedAt: t0,
		RingUntil: t0.Add(30 * time.Second), CallerSession: "sa"}
	ans := t0.Add(5 * time.Second)
	active := ringing
	active.State, active.AnsweredAt, active.CalleeSession = CallActive, &ans, "sb"
	ended := active
	ended.State, ended.End = CallEnded, CallCompleted
	during, late := t0.Add(10*time.Second), t0.Add(31*time.Second)

	tests := []struct {
		name    string
		c       Call
		a       CallAction
		user    string
		session string
		at      time.Time
		state   CallState
		end     CallEnd
		code    Code
	}{
		{"callee accepts", ringing, CallAccept, "b", "sb", during, CallActive, "", ""},
		{"callee accepts too late", ringing, CallAccept, "b", "sb", late, "", "", CodeConflict},
		{"accept without session", ringing, CallAccept, "b", "", during, "", "", CodeInvalid},
		{"caller cannot accept", ringing, CallAccept, "a", "sa", during, "", "", CodeForbidden},
		{"stranger accepts", ringing, CallAccept, "x", "sx", during, "", "", CodeNotFound},
		{"no user", ringing, CallAccept, "", "", during, "", "", CodeNotFound},
		{"callee declines", ringing, CallDecline, "b", "sb", during, CallEnded, CallDeclined, ""},
		{"callee busy", ringing, CallRefuse, "b", "sb", during, CallEnded, CallBusy, ""},
		{"caller cannot decline", ringing, CallDecline, "a", "sa", during, "", "", CodeForbidden},
		{"caller cannot answer busy", ringing, CallRefuse, "a", "sa", during, "", "", CodeForbidden},
		{"caller cancels", ringing, CallCancel, "a", "sa", during, CallEnded, CallCancelled, ""},
		{"callee cannot cancel", ringing, CallCancel, "b", "sb", during, "", "", CodeForbidden},
		{"caller hangs up ringing", ringing, CallHangup, "a", "sa", during, CallEnded, CallCancelled, ""},
		{"callee hangs up ringing", ringing, CallHangup, "b", "sb", during, CallEnded, CallDeclined, ""},
		{"ring times out", ringing, CallTimeout, "", "", late, CallEnded, CallMissed, ""},
		{"timeout too early", ringing, CallTimeout, "", "", during, "", "", CodeConflict},
		{"caller device drops while ringing", ringing, CallDrop, "a", "sa", during, CallEnded, CallMissed, ""},
		{"caller's other device drops", ringing, CallDrop, "a", "other", during, "", "", CodeConflict},
		{"callee device drops while ringing", ringing, CallDrop, "b", "sb", during, "", "", CodeConflict},
		{"hang up active (caller)", active, CallHangup, "a", "sa", late, CallEnded, CallCompleted, ""},
		{"hang up active (callee)", active, CallHangup, "b", "sb", late, CallEnded, CallCompleted, ""},
		{"drop active", active, CallDrop, "b", "sb", late, CallEnded, CallDropped, ""},
		{"drop active, other device", active, CallDrop, "b", "sc", late, "", "", CodeConflict},
		{"accept twice", active, CallAccept, "b", "sc", during, "", "", CodeConflict},
		{"decline active", active, CallDecline, "b", "sb", during, "", "", CodeConflict},
		{"cancel active", active, CallCancel, "a", "sa", during, "", "", CodeConflict},
		{"timeout active", active, CallTimeout, "", "", late, "", "", CodeConflict},
		{"stranger hangs up", active, CallHangup, "x", "sx", late, "", "", CodeNotFound},
		{"ended", ended, CallHangup, "a", "sa", late, "", "", CodeConflict},
		{"ended, timeout", ended, CallTimeout, "", "", late, "", "", CodeConflict},
		{"unknown action", ringing, "dance", "a", "sa", during, "", "", CodeInvalid},
		{"unknown action active", active, "dance", "a", "sa", during, "", "", CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyCall(tc.c, tc.a, tc.user, tc.session, tc.at)
			if tc.code != "" {
				if !IsCode(err, tc.code) {
					t.Fatalf("err = %v, want code %s", err, tc.code)
				}
				if got.State != tc.c.State {
					t.Fatalf("state changed to %s on error", got.State)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.State != tc.state || got.End != tc.end {
				t.Fatalf("got %s/%s, want %s/%s", got.State, got.End, tc.state, tc.end)
			}
			if got.State == CallEnded && (got.EndedAt == nil || !got.EndedAt.Equal(tc.at) || got.EndedBy != tc.user) {
				t.Fatalf("ended at %v by %q", got.EndedAt, got.EndedBy)
			}
			if tc.a == CallAccept && (got.CalleeSession != tc.session || got.AnsweredAt == nil) {
				t.Fatalf("accept: session %q answered %v", got.CalleeSession, got.AnsweredAt)
			}
		})
	}
}

func TestCallLiveAndRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := Call{ID: "c", ConversationID: "k", CallerID: "a", CalleeID: "b", State: CallRinging, CreatedAt: t0,
		RingUntil: t0.Add(30 * time.Second), CallerSession: "sa", Video: true}
	if !c.Live(t0) || c.Live(t0.Add(30*time.Second)) {
		t.Fatal("ringing call live only before RingUntil")
	}
	c, _ = ApplyCall(c, CallAccept, "b", "sb", t0.Add(2*time.Second))
	if !c.Live(t0.Add(time.Hour)) || c.Live(t0.Add(MaxCallDuration+3*time.Second)) {
		t.Fatal("active call live for MaxCallDuration")
	}
	if peer, s := c.Peer("a"); peer != "b" || s != "sb" {
		t.Fatalf("peer of a = %s %s", peer, s)
	}
	if peer, s := c.Peer("b"); peer != "a" || s != "sa" {
		t.Fatalf("peer of b = %s %s", peer, s)
	}
	c, _ = ApplyCall(c, CallHangup, "a", "sa", t0.Add(62*time.Second))
	if c.Live(t0.Add(63 * time.Second)) {
		t.Fatal("ended call live")
	}
	m := CallRecord(c, "m")
	if m.Kind != MessageSystem || m.System.Action != SystemCall || m.System.Call.Outcome != CallCompleted ||
		m.System.Call.DurationMS != 60000 || !m.System.Call.Video || m.ConversationID != "k" || !m.CreatedAt.Equal(*c.EndedAt) {
		t.Fatalf("record = %+v %+v", m, m.System.Call)
	}
}

func TestValidateSDPAndCandidate(t *testing.T) {
	big := "v=" + string(make([]byte, MaxSDPBytes))
	for _, tc := range []struct {
		typ, sdp string
		code     Code
	}{
		{"offer", "v=0\r\n", ""},
		{"answer", "v=0\r\n", ""},
		{"pranswer", "v=0\r\n", CodeInvalid},
		{"offer", "", CodeInvalid},
		{"offer", "hello", CodeInvalid},
		{"offer", "v=\xff", CodeInvalid},
		{"offer", big, CodeTooLarge},
	} {
		err := ValidateSDP(tc.typ, tc.sdp)
		if (tc.code == "" && err != nil) || (tc.code != "" && !IsCode(err, tc.code)) {
			t.Errorf("ValidateSDP(%q, %.10q) = %v, want %q", tc.typ, tc.sdp, err, tc.code)
		}
	}
	long := string(make([]byte, 300))
	for _, tc := range []struct {
		c    ICECandidate
		code Code
	}{
		{ICECandidate{Candidate: "candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host"}, ""},
		{ICECandidate{}, ""},
		{ICECandidate{Candidate: "hello"}, CodeInvalid},
		{ICECandidate{Candidate: "candidate:" + string(make([]byte, MaxCandidateBytes))}, CodeTooLarge},
		{ICECandidate{Candidate: "candidate:1", SDPMid: &long}, CodeTooLarge},
		{ICECandidate{Candidate: "candidate:\xff"}, CodeInvalid},
	} {
		err := tc.c.Validate()
		if (tc.code == "" && err != nil) || (tc.code != "" && !IsCode(err, tc.code)) {
			t.Errorf("Validate(%.20q) = %v, want %q", tc.c.Candidate, err, tc.code)
		}
	}
}

func TestTURNCredentials(t *testing.T) {
	now := time.Unix(1700000000, 0)
	user, pass := TURNCredentials("s3cret", "u1", now.Add(time.Hour))
	if user != "1700003600:u1" {
		t.Fatalf("username %q", user)
	}
	// base64(HMAC-SHA1(secret, username)), as computed by
	// `printf 1700003600:u1 | openssl dgst -sha1 -hmac s3cret -binary | base64`.
	if pass != "6/k8dYjix+9wwBQ/ygIdjI/WTrU=" {
		t.Fatalf("password %q", pass)
	}
	if got, u, ok := CheckTURNUsername("s3cret", user, now); !ok || got != pass || u != "u1" {
		t.Fatalf("check: %q %q %v", got, u, ok)
	}
	if got, _, ok := CheckTURNUsername("other", user, now); !ok || got == pass {
		t.Fatal("another secret gives the same password")
	}
	for _, bad := range []string{"", "u1", "abc:u1", "1699999999:u1", ":u1"} {
		if _, _, ok := CheckTURNUsername("s3cret", bad, now); ok {
			t.Errorf("username %q accepted", bad)
		}
	}
	if _, _, ok := CheckTURNUsername("s3cret", "1700003600", now); !ok {
		t.Error("a bare expiry is a valid username")
	}
}

// FuzzCallInput: the TURN username check (fed by anyone who can reach the
// TURN port) and the signalling validators never panic, and whatever they
// accept is within the documented bounds.
func FuzzCallInput(f *testing.F) {
	f.Add("1700003600:u1", "offer", "v=0\r\n", "candidate:1 1 udp 1 10.0.0.1 9 typ host")
	f.Add(":", "answer", "v=", "")
	f.Add("99999999999999999999:x", "", "\xff", "candidate:\x00")
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, username, sdpType, sdp, cand string) {
		if pass, _, ok := CheckTURNUsername("s", username, now); ok && (pass == "" || len(username) > 256) {
			t.Fatalf("accepted %q", username)
		}
		if ValidateSDP(sdpType, sdp) == nil && (len(sdp) > MaxSDPBytes || (sdpType != SDPOffer && sdpType != SDPAnswer)) {
			t.Fatalf("accepted sdp %q %q", sdpType, sdp)
		}
		if (ICECandidate{Candidate: cand}).Validate() == nil && len(cand) > MaxCandidateBytes {
			t.Fatalf("accepted candidate %q", cand)
		}
	})
}
