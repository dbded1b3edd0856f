package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestPushText(t *testing.T) {
	for _, c := range []struct {
		m           app.PushMessage
		title, body string
	}{
		{app.PushMessage{Title: "team", SenderName: "alice", Body: "hi", Count: 1}, "team", "alice: hi"},
		{app.PushMessage{Title: "alice", SenderName: "alice", Body: "hi", Count: 1, Reason: parley.ReasonDirect}, "alice", "hi"},
		{app.PushMessage{Title: "team", SenderName: "alice", Count: 1, Reason: parley.ReasonMention}, "team", "alice mentioned you"},
		{app.PushMessage{Title: "alice", SenderName: "alice", Count: 3, Reason: parley.ReasonDirect}, "alice", "3 new messages"},
		{app.PushMessage{Title: "team", SenderName: "bob", Count: 2, Reason: parley.ReasonMessage}, "team", "2 new messages from bob"},
		{app.PushMessage{Count: 1}, "Parley", "New message"},
	} {
		if title, body := app.PushText(c.m); title != c.title || body != c.body {
			t.Errorf("%+v: %q %q, want %q %q", c.m, title, body, c.title, c.body)
		}
	}
}

type stubSender struct {
	n   int
	err error
}

func (s stubSender) Push(context.Context, app.PushMessage) (int, error) { return s.n, s.err }

func TestCombinePushSenders(t *testing.T) {
	if app.CombinePushSenders(nil, nil) != nil {
		t.Fatal("no senders should combine to nil")
	}
	one := stubSender{n: 1}
	if s := app.CombinePushSenders(nil, one); s != one {
		t.Fatal("one sender should be itself")
	}
	boom := errors.New("boom")
	n, err := app.CombinePushSenders(stubSender{n: 2}, stubSender{n: 1, err: boom}).Push(context.Background(), app.PushMessage{})
	if n != 3 || !errors.Is(err, boom) {
		t.Fatalf("%d %v", n, err)
	}
}
