package xmpp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/server"
)

// TestPipelinedSendsKeepOrder: a burst of messages written in one go is
// stored in the order it was sent (consecutive seqs), each once, and an
// iq after the burst is answered only once every message before it is
// stored.
func TestPipelinedSendsKeepOrder(t *testing.T) {
	env, addr := startXMPP(t, func(c *server.Config) { c.SendRate = 1e6; c.WSFrameRate = 1e6 })
	env.NewUser(t, "alice")
	bobc, bob := env.NewUser(t, "bob")
	a := dialRaw(t, addr)
	a.login("alice")
	const n = 300
	var sb strings.Builder
	for k := 0; k < n; k++ {
		fmt.Fprintf(&sb, `<message to='bob@%s' type='chat' id='p-%d'><body>pipelined %d</body></message>`, domain, k, k)
	}
	sb.WriteString(`<iq type='get' id='after-burst'><ping xmlns='urn:xmpp:ping'/></iq>`)
	a.send(sb.String())
	a.expect(`id="after-burst"`)

	convs, err := bobc.Conversations(ctx, "", 10)
	if err != nil || len(convs.Conversations) != 1 {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	conv := convs.Conversations[0].ID
	var all []parley.Message
	for after := int64(0); ; {
		page, err := bobc.History(ctx, conv, client.HistoryQuery{After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].Seq
	}
	var got []parley.Message
	for _, m := range all {
		if m.Kind == parley.MessageUser {
			got = append(got, m)
		}
	}
	if len(got) != n {
		t.Fatalf("stored %d messages before the iq's answer, want %d", len(got), n)
	}
	for k, m := range got {
		if m.ClientMsgID != fmt.Sprintf("p-%d", k) || (k > 0 && m.Seq != got[k-1].Seq+1) {
			t.Fatalf("message %d: %s seq %d (previous seq %d)", k, m.ClientMsgID, m.Seq, got[max(k-1, 0)].Seq)
		}
	}
	_ = bob
}
