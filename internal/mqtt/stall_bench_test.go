package mqtt

import (
	"net"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BenchmarkNumberable is the check a QoS 1 delivery now makes before mochi
// numbers it (stall.go), on a client with no write in progress: the cost
// added to every delivery to a QoS 1 subscriber.
func BenchmarkNumberable(b *testing.B) {
	a, c := net.Pipe()
	defer func() { _ = a.Close(); _ = c.Close() }()
	broker := mochi.New(nil)
	l := &listener{}
	cl := broker.NewClient(&gatedConn{Conn: a, l: l}, "t", "bench", false)
	topic := "parley/c/x/m"
	cl.State.Subscriptions.Add(topic, packets.Subscription{Filter: topic, Qos: 1})
	h := &hook{}
	d := &delivery{topic: topic, conv: "x", seq: 1}
	b.ReportAllocs()
	for b.Loop() {
		if !h.numberable(cl, d) {
			b.Fatal("not numberable")
		}
	}
}
