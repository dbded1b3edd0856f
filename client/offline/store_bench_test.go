package offline_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client/offline"
)

// benchStore fills a store with convs conversations of n messages each,
// half of them unread.
func benchStore(b *testing.B, convs, n int) *offline.Store {
	b.Helper()
	st, err := offline.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Bind("http://bench", "me"); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for c := range convs {
		id := parley.NewID()
		ms := make([]parley.Message, n)
		for i := range ms {
			ms[i] = parley.Message{ID: parley.NewID(), ConversationID: id, Seq: int64(i + 1), SenderID: fmt.Sprint("u", i%3),
				Kind: parley.MessageUser, Body: "a message of ordinary length, about sixty characters long", CreatedAt: t0.Add(time.Duration(c*n+i) * time.Second)}
		}
		if err := st.PutMessages(ms...); err != nil {
			b.Fatal(err)
		}
		if err := st.MarkRead(id, int64(n/2)); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// BenchmarkConversations is the list the terminal client reloads on every
// store change: 50 conversations of 1,000 messages, 500 unread each.
func BenchmarkConversations(b *testing.B) {
	st := benchStore(b, 50, 1000)
	b.ResetTimer()
	for b.Loop() {
		cs, err := st.Conversations()
		if err != nil || len(cs) != 50 || cs[0].Unread == 0 {
			b.Fatalf("%d conversations, %v", len(cs), err)
		}
	}
}

// BenchmarkPutMessage stores one live message (one transaction, fsync).
func BenchmarkPutMessage(b *testing.B) {
	st := benchStore(b, 1, 1)
	cs, _ := st.Conversations()
	id := cs[0].ID
	seq := int64(1)
	b.ResetTimer()
	for b.Loop() {
		seq++
		if err := st.PutMessages(parley.Message{ID: parley.NewID(), ConversationID: id, Seq: seq, SenderID: "u1",
			Kind: parley.MessageUser, Body: "live", CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}
