package nats_test

import (
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/bus/bustest"
	"github.com/parley-chat/parley/internal/bus/nats"
	"github.com/parley-chat/parley/internal/bus/nats/natstest"
)

// TestConformance runs the shared Bus suite with every node a separate NATS
// connection on the machine's server, on a subject private to the test.
func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() parley.Bus {
		url := natstest.ClusterURL(t)
		return func() parley.Bus {
			b, err := nats.Open(nats.Options{URL: url, Name: t.Name()})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { _ = b.Close() })
			return b
		}
	})
}
