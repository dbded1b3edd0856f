package parley

import (
	"testing"
	"time"
)

func TestAdmitAppendMembership(t *testing.T) {
	h := AppendHead{LastSeq: 5}
	m := Message{ConversationID: "c", SenderID: "u"}
	if _, err := AdmitAppend(h, CheckMember, "", &m, nil); !IsCode(err, CodeNotFound) {
		t.Fatalf("non-member: %v, want not_found", err)
	}
	if fresh, err := AdmitAppend(h, CheckNone, "", &m, nil); err != nil || !fresh {
		t.Fatalf("CheckNone for a non-member: %v %v, want admitted", fresh, err)
	}
	if fresh, err := AdmitAppend(h, CheckMember, RoleMember, &m, nil); err != nil || !fresh {
		t.Fatalf("member: %v %v, want admitted", fresh, err)
	}
}

func TestAdmitAppendBroadcast(t *testing.T) {
	h := AppendHead{Broadcast: true}
	m := Message{ConversationID: "c", SenderID: "u"}
	if _, err := AdmitAppend(h, CheckMember, RoleMember, &m, nil); !IsCode(err, CodeForbidden) {
		t.Fatalf("member in broadcast: %v, want forbidden", err)
	}
	for _, r := range []MemberRole{RoleAdmin, RoleOwner} {
		if fresh, err := AdmitAppend(h, CheckMember, r, &m, nil); err != nil || !fresh {
			t.Fatalf("%s in broadcast: %v %v, want admitted", r, fresh, err)
		}
	}
	if fresh, err := AdmitAppend(h, CheckNone, "", &m, nil); err != nil || !fresh {
		t.Fatalf("system message in broadcast: %v %v, want admitted", fresh, err)
	}
}

func TestAdmitAppendReplyTo(t *testing.T) {
	h := AppendHead{LastSeq: 3}
	for _, c := range []struct {
		reply int64
		ok    bool
	}{{0, true}, {1, true}, {3, true}, {4, false}, {-1, false}, {1 << 62, false}} {
		m := Message{ConversationID: "c", ReplyTo: c.reply}
		fresh, err := AdmitAppend(h, CheckNone, "", &m, nil)
		if c.ok != (err == nil && fresh) {
			t.Errorf("reply_to %d: %v %v, want ok=%v", c.reply, fresh, err, c.ok)
		}
		if !c.ok && (!IsCode(err, CodeInvalid) || AsError(err).Field != "reply_to") {
			t.Errorf("reply_to %d: %v, want invalid reply_to", c.reply, err)
		}
	}
}

func TestAdmitAppendResend(t *testing.T) {
	h := AppendHead{LastSeq: 9}
	prev := Message{ID: "old", ConversationID: "c", Seq: 4, SenderID: "u", ClientMsgID: "k", Body: "first"}
	m := Message{ID: "new", ConversationID: "c", SenderID: "u", ClientMsgID: "k", Body: "second", ReplyTo: 99}
	fresh, err := AdmitAppend(h, CheckMember, RoleMember, &m, &prev)
	if err != nil || fresh || m.ID != "old" || m.Seq != 4 || m.Body != "first" {
		t.Fatalf("resend: fresh=%v err=%v m=%+v, want the earlier message", fresh, err, m)
	}
	// Membership is checked before the resend is answered: a removed member
	// learns nothing of the conversation.
	m = Message{ConversationID: "c", SenderID: "u", ClientMsgID: "k"}
	if _, err := AdmitAppend(h, CheckMember, "", &m, &prev); !IsCode(err, CodeNotFound) || m.ID != "" {
		t.Fatalf("resend by a non-member: %v %+v, want not_found and m unchanged", err, m)
	}
	other := Message{ConversationID: "d", SenderID: "u", ClientMsgID: "k"}
	if _, err := AdmitAppend(h, CheckNone, "", &other, &prev); !IsCode(err, CodeConflict) ||
		AsError(err).Field != "client_msg_id" || other.ConversationID != "d" {
		t.Fatalf("resend to another conversation: %v %+v, want conflict client_msg_id", err, other)
	}
}

func TestClaimAttachments(t *testing.T) {
	free := map[string]string{"f1": "u", "f2": "u", "f3": "v"}
	m := Message{SenderID: "u", Attachments: []Attachment{{ID: "f1"}, {ID: "f2"}}}
	if err := ClaimAttachments(m, free); err != nil {
		t.Fatal(err)
	}
	if _, ok := free["f1"]; ok || len(free) != 1 {
		t.Fatalf("claimed files still free: %v", free)
	}
	// The same file twice in a batch: the second claim fails.
	if err := ClaimAttachments(Message{SenderID: "u", Attachments: []Attachment{{ID: "f1"}}}, free); !IsCode(err, CodeInvalid) {
		t.Fatalf("claiming a claimed file: %v, want invalid", err)
	}
	// Someone else's file fails, and what was claimed before it is given back.
	free = map[string]string{"f1": "u", "f3": "v"}
	err := ClaimAttachments(Message{SenderID: "u", Attachments: []Attachment{{ID: "f1"}, {ID: "f3"}}}, free)
	if !IsCode(err, CodeInvalid) || AsError(err).Field != "attachment_ids" {
		t.Fatalf("someone else's file: %v, want invalid attachment_ids", err)
	}
	if free["f1"] != "u" || free["f3"] != "v" || len(free) != 2 {
		t.Fatalf("a refused claim changed free: %v", free)
	}
	if err := ClaimAttachments(Message{SenderID: "u", Attachments: []Attachment{{ID: "missing"}}}, free); !IsCode(err, CodeInvalid) {
		t.Fatalf("unknown file: %v, want invalid", err)
	}
	if err := ClaimAttachments(Message{SenderID: "u"}, nil); err != nil {
		t.Fatalf("no files: %v", err)
	}
}

func TestAppended(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789012, time.FixedZone("x", 3600))
	h := AppendHead{LastSeq: 1, LastAt: at.UnixMilli() + 5000}
	edited := at
	m := Message{CreatedAt: at, Reactions: []Reaction{{Emoji: "x"}}, EditedAt: &edited, Deleted: true}
	Appended(&h, &m, 2)
	if m.Seq != 2 || h.LastSeq != 2 || m.Reactions != nil || m.EditedAt != nil || m.Deleted {
		t.Fatalf("Appended: %+v %+v", m, h)
	}
	if !m.CreatedAt.Equal(at.Truncate(time.Millisecond)) || m.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt %v, want %v in UTC", m.CreatedAt, at.Truncate(time.Millisecond))
	}
	if h.LastAt != at.UnixMilli()+5000 {
		t.Fatalf("LastAt went back: %d", h.LastAt)
	}
	m = Message{CreatedAt: at.Add(time.Hour)}
	Appended(&h, &m, 3)
	if h.LastAt != at.Add(time.Hour).UnixMilli() {
		t.Fatalf("LastAt not advanced: %d", h.LastAt)
	}
}

func TestLiveMessage(t *testing.T) {
	if err := LiveMessage(Message{}); err != nil {
		t.Fatal(err)
	}
	if err := LiveMessage(Message{Deleted: true}); !IsCode(err, CodeNotFound) {
		t.Fatalf("tombstone: %v, want not_found", err)
	}
}

func TestAdmitReaction(t *testing.T) {
	if err := AdmitReaction(2, false, 3); err != nil {
		t.Fatal(err)
	}
	if err := AdmitReaction(3, false, 3); !IsCode(err, CodeTooLarge) || AsError(err).Field != "emoji" {
		t.Fatalf("a new emoji over the cap: %v, want too_large emoji", err)
	}
	if err := AdmitReaction(3, true, 3); err != nil {
		t.Fatalf("an emoji already present at the cap: %v", err)
	}
}

func TestAddReaction(t *testing.T) {
	var rs []Reaction
	rs = AddReaction(rs, "b", "u1")
	rs = AddReaction(rs, "a", "u1")
	rs = AddReaction(rs, "b", "u2")
	if len(rs) != 2 || rs[0].Emoji != "b" || rs[0].Count != 2 || rs[0].UserIDs[1] != "u2" || rs[1].Count != 1 {
		t.Fatalf("AddReaction: %+v", rs)
	}
}
