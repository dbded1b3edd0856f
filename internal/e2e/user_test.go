package e2e_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/apitest"
)

func TestRegisterAndMe(t *testing.T) {
	env := apitest.Start(t, nil)
	c, u := env.NewUser(t, "Alice")
	me, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != u.ID || me.Username != "alice" {
		t.Fatalf("me = %+v, registered %+v", me, u)
	}
}
