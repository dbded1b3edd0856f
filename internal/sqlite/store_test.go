package sqlite_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/sqlite"
	"github.com/parley-chat/parley/internal/storetest"
)

func open(t *testing.T) parley.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestSecondOpenOfSameDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = sqlite.Open(context.Background(), dir)
	if !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("second open: got %v, want unavailable", err)
	}
}
