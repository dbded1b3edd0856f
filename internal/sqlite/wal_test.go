package sqlite_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/sqlite"
)

// TestWALStaysBoundedUnderLoad: under continuous appends (no idle moment
// in which a background checkpoint could catch up) the WAL file stays near
// the restart threshold instead of growing with everything written.
func TestWALStaysBoundedUnderLoad(t *testing.T) {
	defer sqlite.SetRestartFrames(256)() // 1 MiB
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type target struct{ conv, sender string }
	ts := make([]target, 200)
	for i := range ts {
		c, u := seedConversationPrefix(t, s, 2, 2*i)
		ts[i] = target{c, u[0]}
	}
	var maxWAL atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if fi, err := os.Stat(dir + "/parley.db-wal"); err == nil && fi.Size() > maxWAL.Load() {
				maxWAL.Store(fi.Size())
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	const total = 12000 // about 12,000 frames (46 MiB) without restarts
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				tg := ts[i%int64(len(ts))]
				m := parley.Message{ID: parley.NewID(), ConversationID: tg.conv, SenderID: tg.sender,
					ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: "wal", CreatedAt: time.Now()}
				if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	// The threshold plus what the background checkpointer and one batch
	// can add before the committer acts; far below what was written.
	if max := maxWAL.Load(); max > 12<<20 {
		t.Fatalf("WAL grew to %.1f MiB under load; want it restarted near 1 MiB", float64(max)/(1<<20))
	} else {
		t.Logf("largest WAL: %.1f MiB", float64(max)/(1<<20))
	}
}
