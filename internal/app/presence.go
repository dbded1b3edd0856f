package app

import (
	"context"
	"encoding/json"

	"github.com/parley-chat/parley"
)

// presenceFrame is {"type":"presence","user_id","online","last_seen_at"}.
type presenceFrame struct {
	Type parley.EventKind `json:"type"`
	parley.PresenceStatus
}

// Connected records one more live connection of actor; the first one
// publishes an online presence event to the watchers of actor.
func (r *Realtime) Connected(ctx context.Context, actor parley.Actor) {
	came, err := r.presence.Connect(ctx, actor.UserID)
	if err != nil {
		r.App.log.Warn("presence connect", "user_id", actor.UserID, "err", err)
		return
	}
	if came {
		r.publishPresence(ctx, parley.PresenceStatus{UserID: actor.UserID, Online: true})
	}
}

// Disconnected records the end of one connection of actor; the last one
// publishes an offline presence event carrying last_seen_at.
func (r *Realtime) Disconnected(ctx context.Context, actor parley.Actor) {
	now := r.App.now().UTC()
	went, err := r.presence.Disconnect(ctx, actor.UserID, now)
	if err != nil {
		r.App.log.Warn("presence disconnect", "user_id", actor.UserID, "err", err)
		return
	}
	if went {
		r.publishPresence(ctx, parley.PresenceStatus{UserID: actor.UserID, Online: false, LastSeenAt: &now})
	}
}

// PresenceChanged publishes a presence change that the Presence noticed by
// itself rather than through Connected/Disconnected: a multi-node Presence
// reporting the users of a dead node offline, or a node's users online again
// after it re-registered.
func (r *Realtime) PresenceChanged(st parley.PresenceStatus) {
	r.publishPresence(context.Background(), st)
}

func (r *Realtime) publishPresence(ctx context.Context, st parley.PresenceStatus) {
	frame, _ := json.Marshal(presenceFrame{Type: parley.EventPresence, PresenceStatus: st})
	r.App.publish(context.WithoutCancel(ctx), parley.Event{
		Kind: parley.EventPresence, ConversationID: parley.PresenceTopic(st.UserID), Frame: frame,
	})
}

// WatchPresence returns the presence of those of userIDs that share at
// least one conversation with actor, in the order given; others (strangers,
// unknown ids) are left out, so presence never reveals who exists. The
// gateway subscribes the connection to the users returned.
func (r *Realtime) WatchPresence(ctx context.Context, actor parley.Actor, userIDs []string) ([]parley.PresenceStatus, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	shared, err := r.App.store.SharedUsers(ctx, actor.UserID, userIDs)
	if err != nil {
		return nil, err
	}
	ok := make(map[string]bool, len(shared))
	for _, id := range shared {
		ok[id] = true
	}
	peers, err := r.App.store.BlockPeers(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	for _, id := range peers {
		delete(ok, id) // blocked either way: no presence
	}
	var visible []string
	for _, id := range userIDs {
		if ok[id] {
			visible = append(visible, id)
			ok[id] = false // once
		}
	}
	if len(visible) == 0 {
		return []parley.PresenceStatus{}, nil
	}
	return r.presence.Status(ctx, visible)
}
