package parley_test

import (
	"errors"
	"testing"

	"github.com/parley-chat/parley"
)

func TestAdmitContactRequest(t *testing.T) {
	for _, c := range []struct {
		contacts, asked, crossing bool
		accept                    bool
		code                      parley.Code
	}{
		{accept: false},
		{crossing: true, accept: true},
		{contacts: true, code: parley.CodeConflict},
		{contacts: true, crossing: true, code: parley.CodeConflict},
		{asked: true, code: parley.CodeConflict},
		{asked: true, crossing: true, code: parley.CodeConflict},
	} {
		accept, err := parley.AdmitContactRequest(c.contacts, c.asked, c.crossing)
		if parley.ErrorCode(err) != c.code || accept != c.accept {
			t.Errorf("%+v: accept %v, err %v", c, accept, err)
		}
		if err != nil && parley.AsError(err).Field != "user_id" {
			t.Errorf("%+v: field %q", c, parley.AsError(err).Field)
		}
	}
	if parley.ErrorCode(parley.ErrNoContactRequest()) != parley.CodeNotFound {
		t.Fatal("ErrNoContactRequest is not not_found")
	}
}

func TestForEachConversation(t *testing.T) {
	ms := []parley.Message{{ConversationID: "a", Seq: 1}, {ConversationID: "b", Seq: 1}, {ConversationID: "a", Seq: 2}}
	var calls []string
	err := parley.ForEachConversation(ms, func(sub []parley.Message) error {
		calls = append(calls, sub[0].ConversationID)
		for i := range sub {
			if sub[i].ConversationID != sub[0].ConversationID {
				t.Fatalf("mixed group %v", sub)
			}
			sub[i].Body = sub[i].ConversationID + "!"
		}
		return nil
	})
	if err != nil || len(calls) != 2 || calls[0] != "a" || calls[1] != "b" {
		t.Fatalf("calls %v, err %v", calls, err)
	}
	for _, m := range ms {
		if m.Body != m.ConversationID+"!" {
			t.Fatalf("change not written back: %+v", m)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := parley.ForEachConversation(ms, func([]parley.Message) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("err %v after %d calls", err, n)
	}
}
