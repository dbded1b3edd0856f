package e2e_test

import (
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// TestCluster runs three `parley serve` processes on one PostgreSQL schema
// and one NATS subject behind nginx, and checks that they behave as one
// server: accounts and sessions made on one node work on the others and
// through the load balancer, and the load balancer routes around a node
// killed with SIGKILL.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startCluster(t, 3)
	ctx := clusterCtx(t)

	t.Run("accounts span nodes", func(t *testing.T) {
		// Register on node 0, sign in on node 1, use the token on node 2 and
		// through the load balancer.
		reg := client.New(c.nodes[0].URL())
		res, err := reg.Register(ctx, client.RegisterRequest{Username: "span", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		login, err := client.New(c.nodes[1].URL()).Login(ctx, "span", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []string{c.nodes[2].URL(), c.LB()} {
			me, err := client.New(base, client.WithToken(login.Token)).Me(ctx)
			if err != nil || me.ID != res.User.ID {
				t.Fatalf("%s: me = %+v, %v", base, me, err)
			}
		}
		// Sign-out on node 2 revokes the token everywhere.
		if err := client.New(c.nodes[2].URL(), client.WithToken(login.Token)).Logout(ctx); err != nil {
			t.Fatal(err)
		}
		for _, nd := range c.nodes {
			if _, err := client.New(nd.URL(), client.WithToken(login.Token)).Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
				t.Fatalf("%s after logout: %v", nd.name, err)
			}
		}
	})

	t.Run("load balancer routes around a killed node", func(t *testing.T) {
		res, err := client.New(c.LB()).Register(ctx, client.RegisterRequest{Username: "survivor", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		c.kill(2)
		lb := client.New(c.LB(), client.WithToken(res.Token))
		for i := 0; i < 30; i++ {
			if _, err := lb.Me(ctx); err != nil {
				t.Fatalf("request %d through the load balancer with a node down: %v", i, err)
			}
		}
		c.restart(2)
		if _, err := client.New(c.nodes[2].URL(), client.WithToken(res.Token)).Me(ctx); err != nil {
			t.Fatalf("restarted node: %v", err)
		}
	})
}
