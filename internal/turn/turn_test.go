package turn

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"

	"github.com/parley-chat/parley"
)

func start(t *testing.T, max int) *Server {
	t.Helper()
	s, err := Start(Config{Listen: "127.0.0.1:0", PublicIP: net.IPv4(127, 0, 0, 1), Secret: "s3cret", MaxAllocations: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client returns a TURN client of s signed in as username/password.
func client(t *testing.T, s *Server, username, password string) *pturn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(s.Port())
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: "parley", RTO: 100 * time.Millisecond, LoggerFactory: quietLogs{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	return c
}

func allocate(c *pturn.Client) (net.PacketConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.AllocateWithContext(ctx)
}

func TestRelayWithAppCredentials(t *testing.T) {
	s := start(t, 2)
	if got := s.URLs(); len(got) != 3 || got[0] != "turn:127.0.0.1:"+strconv.Itoa(s.Port())+"?transport=udp" {
		t.Fatalf("urls %v", got)
	}
	user, pass := parley.TURNCredentials("s3cret", "u1", time.Now().Add(time.Hour))
	a := client(t, s, user, pass)
	// STUN: the binding request answers the client's address.
	if m, err := a.SendBindingRequest(); err != nil || m.(*net.UDPAddr).IP.String() != "127.0.0.1" {
		t.Fatalf("binding: %v %v", m, err)
	}
	relayA, err := allocate(a)
	if err != nil {
		t.Fatal(err)
	}
	defer relayA.Close()
	user2, pass2 := parley.TURNCredentials("s3cret", "u2", time.Now().Add(time.Hour))
	relayB, err := allocate(client(t, s, user2, pass2))
	if err != nil {
		t.Fatal(err)
	}
	defer relayB.Close()
	// Two relays of the server talk through it (the relay address is allowed
	// as a peer). Each side needs a permission for the other: B's write
	// creates B's.
	if _, err := relayB.WriteTo([]byte("open"), relayA.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 50; i++ {
			_, _ = relayA.WriteTo([]byte("hello"), relayB.LocalAddr())
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_ = relayB.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, from, err := relayB.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello" || from.String() != relayA.LocalAddr().String() {
		t.Fatalf("relayed %q from %v: %v", buf[:n], from, err)
	}
	if s.Allocations() != 2 {
		t.Fatalf("allocations %d", s.Allocations())
	}
	// The quota: u1 holds 1 of 2; a second is allowed, a third is not.
	if _, err := allocate(client(t, s, user, pass)); err != nil {
		t.Fatalf("second allocation: %v", err)
	}
	if _, err := allocate(client(t, s, user, pass)); err == nil {
		t.Fatal("allocation over the quota")
	}
}

func TestRefusedCredentials(t *testing.T) {
	s := start(t, 10)
	expired, pass := parley.TURNCredentials("s3cret", "u1", time.Now().Add(-time.Minute))
	user, _ := parley.TURNCredentials("s3cret", "u1", time.Now().Add(time.Hour))
	_, other := parley.TURNCredentials("another secret", "u1", time.Now().Add(time.Hour))
	for name, c := range map[string][2]string{
		"expired":      {expired, pass},
		"wrong secret": {user, other},
		"not a time":   {"u1", pass},
		"no password":  {user, ""},
	} {
		if _, err := allocate(client(t, s, c[0], c[1])); err == nil {
			t.Errorf("%s: allocated", name)
		}
	}
	if s.Allocations() != 0 {
		t.Fatalf("allocations %d", s.Allocations())
	}
}

func TestPeerAllowed(t *testing.T) {
	relay := net.ParseIP("203.0.113.7")
	for ip, want := range map[string]bool{
		"203.0.113.7": true, "198.51.100.1": true, "192.168.1.20": true, "10.0.0.1": true,
		"127.0.0.1": false, "::1": false, "169.254.1.1": false, "0.0.0.0": false, "224.0.0.1": false, "fe80::1": false,
	} {
		if got := PeerAllowed(net.ParseIP(ip), relay); got != want {
			t.Errorf("PeerAllowed(%s) = %v", ip, got)
		}
	}
	if !PeerAllowed(net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.1")) {
		t.Error("the relay address itself (a loopback test server) must be allowed")
	}
}
