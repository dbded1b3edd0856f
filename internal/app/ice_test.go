package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestICEServers(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	actor := parley.Actor{UserID: "01kaw9yqabcdefghjkmnpqrstv", SessionID: "s"}
	a := app.New(app.Options{Now: func() time.Time { return now }, ICE: app.ICEOptions{
		URLs:   []string{"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
		Secret: "s3cret", TTL: time.Hour}})
	cfg, err := a.ICEServers(context.Background(), actor)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ICEServers) != 2 || cfg.ICEServers[0].URLs[0] != "stun:turn.example.org:3478" || cfg.ICEServers[0].Username != "" {
		t.Fatalf("servers %+v", cfg.ICEServers)
	}
	turn := cfg.ICEServers[1]
	exp := now.Add(time.Hour).Truncate(time.Second)
	if len(turn.URLs) != 2 || cfg.ExpiresAt == nil || !cfg.ExpiresAt.Equal(exp) {
		t.Fatalf("turn %+v expires %v", turn, cfg.ExpiresAt)
	}
	if pass, user, ok := parley.CheckTURNUsername("s3cret", turn.Username, now); !ok || pass != turn.Credential || user != actor.UserID {
		t.Fatalf("credentials %q %q do not check", turn.Username, turn.Credential)
	}
	if _, err := a.ICEServers(context.Background(), parley.Actor{}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	// Without a secret, TURN URLs cannot be used and are left out; nothing configured: an empty list.
	a = app.New(app.Options{ICE: app.ICEOptions{URLs: []string{"turn:x:3478", "stun:x:3478"}}})
	if cfg, _ := a.ICEServers(context.Background(), actor); len(cfg.ICEServers) != 1 || cfg.ExpiresAt != nil {
		t.Fatalf("no secret: %+v", cfg)
	}
	a = app.New(app.Options{})
	if cfg, _ := a.ICEServers(context.Background(), actor); cfg.ICEServers == nil || len(cfg.ICEServers) != 0 {
		t.Fatalf("nothing configured: %+v", cfg)
	}
}
