// Package pingbot is the example bot of docs/bots.md: it answers "!ping"
// with "pong" in one conversation, using the Go SDK and an API token with
// the messages:read and messages:write scopes. internal/e2e runs it.
package pingbot

import (
	"context"
	"strings"
	"time"

	"github.com/parley-chat/parley/client"
)

// Run answers "!ping" in conversation convID until ctx ends, looking for
// new messages every interval. c carries the bot's API token.
func Run(ctx context.Context, c *client.Client, convID string, every time.Duration) error {
	me, err := c.Me(ctx)
	if err != nil {
		return err
	}
	latest, err := c.History(ctx, convID, client.HistoryQuery{Latest: true, Limit: 1})
	if err != nil {
		return err
	}
	var after int64 // the last seq seen: start after the newest message
	if len(latest) > 0 {
		after = latest[0].Seq
	}
	for {
		msgs, err := c.History(ctx, convID, client.HistoryQuery{After: after})
		if ctx.Err() != nil {
			return nil // stopped
		} else if err != nil {
			return err
		}
		for _, m := range msgs {
			after = m.Seq
			if m.SenderID != me.ID && strings.TrimSpace(m.Body) == "!ping" {
				// The client_msg_id makes a retry (or a restart) send one reply only.
				reply := client.SendRequest{ClientMsgID: "pong-" + m.ID, Body: "pong", ReplyTo: m.Seq}
				if _, _, err := c.Send(ctx, convID, reply); err != nil && ctx.Err() == nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}
