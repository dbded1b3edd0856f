package memory_test

import (
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/bus/bustest"
	"github.com/parley-chat/parley/internal/bus/memory"
)

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() parley.Bus {
		b := memory.New()
		t.Cleanup(func() { _ = b.Close() })
		return func() parley.Bus { return b }
	})
}
