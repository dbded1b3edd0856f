package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/bus/nats/natstest"
)

// TestClusterNATSOutageTail: the last messages of a conversation are sent
// on one node while NATS is down, and nothing is sent after NATS comes
// back. A client connected to the other node must still end with every
// message — there is no later message whose seq would reveal the gap, so
// the nodes themselves must make their clients catch up after the outage.
// (Found by `parley check`: a stream stayed two messages short for good.)
func TestClusterNATSOutageTail(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	natsrv := natstest.StartServer(t)
	c := startClusterOn(t, 2, natsrv.URL()+"?subject="+natstest.Subject())
	ctx := clusterCtx(t)

	a, err := client.New(c.nodes[0].URL()).Register(ctx, client.RegisterRequest{Username: "sender", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.New(c.nodes[1].URL()).Register(ctx, client.RegisterRequest{Username: "reader", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	sender := client.New(c.nodes[0].URL(), client.WithToken(a.Token))
	conv, _, err := sender.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{b.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := client.New(c.nodes[1].URL(), client.WithToken(b.Token)).Connect(ctx,
		client.RealtimeOptions{Since: map[string]int64{conv.ID: 0}})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{name: "reader on node 1", rt: rt, seqs: map[string][]int64{}, ids: map[string][]string{}}
	go s.run()
	defer rt.Close()

	n := 0
	send := func() parley.Message {
		t.Helper()
		n++
		m, _, err := sender.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: fmt.Sprint("m", n), Body: fmt.Sprint("message ", n)})
		if err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
		return m
	}
	waitFor := func(what string, seq int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
		for s.count(conv.ID) < int(seq) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: reader has %d messages, want %d", what, s.count(conv.ID), seq)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var last parley.Message
	for i := 0; i < 5; i++ {
		last = send()
	}
	waitFor("before the outage", last.Seq)

	natsrv.Stop()
	for i := 0; i < 3; i++ {
		last = send() // acked and stored; the event cannot cross
	}
	natsrv.Start()
	waitFor("after NATS came back, with no later message", last.Seq)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, seq := range s.seqs[conv.ID] {
		if seq != int64(i+1) {
			t.Fatalf("reader's message %d has seq %d: lost, duplicated or out of order", i, seq)
		}
	}
}
