package e2e_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

var histMessages = flag.Int("hist.messages", 10000, "BenchmarkHistoryPageE2E: messages in the conversation")

// BenchmarkHistoryPageE2E measures one page of `parley bench history`: 50
// messages before a random seq of a two-member group, read by a member.
//
//   - handler: GET /api/v1/conversations/{id}/messages?before=…&limit=50
//     through the server's HTTP handler (authentication, app rules, store
//     reads, JSON encoding), without a socket.
//   - loopback: the same request over a keep-alive loopback connection,
//     one at a time.
//   - socket: what a WebSocket `history` frame costs before its write:
//     Realtime.History and the JSON encoding of the page.
func BenchmarkHistoryPageE2E(b *testing.B) {
	e := apitest.Start(b, nil)
	ctx := context.Background()
	alice, ua := e.NewUser(b, "alice")
	_, ub := e.NewUser(b, "bob")
	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup,
		Title: "history", MemberIDs: []string{ub.ID}})
	if err != nil {
		b.Fatal(err)
	}
	seedHistory(b, e, conv.ID, []string{ua.ID, ub.ID}, *histMessages)
	last := int64(*histMessages) + 1 // the creation's system message is seq 1
	token := alice.Token()
	url := func(r *rand.Rand) string {
		return fmt.Sprintf("%s/api/v1/conversations/%s/messages?before=%d&limit=50", e.URL, conv.ID, 51+r.Int64N(last-50))
	}

	b.Run("handler", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		w := &discardResponse{h: http.Header{}}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			req, err := http.NewRequest(http.MethodGet, url(r), nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.RemoteAddr = "127.0.0.1:1"
			clear(w.h)
			w.status, w.n = 0, 0
			e.Server.HTTP.ServeHTTP(w, req)
			if w.status != http.StatusOK || w.n < 50*100 {
				b.Fatal(w.status, w.n)
			}
		}
	})
	b.Run("loopback", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		hc := &http.Client{Timeout: 10 * time.Second}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			req, err := http.NewRequest(http.MethodGet, url(r), nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || n < 50*100 {
				b.Fatal(res.StatusCode, n)
			}
		}
		hc.CloseIdleConnections()
	})
	b.Run("socket", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		actor := parley.Actor{UserID: ua.ID, Role: ua.Role}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			ms, err := e.Server.Realtime.History(ctx, actor, conv.ID, 0, 51+r.Int64N(last-50), 50)
			if err != nil || len(ms) != 50 {
				b.Fatal(len(ms), err)
			}
			if _, err := json.Marshal(ms); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedHistory appends n user messages to conv (senders alternating, each
// with a client id, as the SDK sends them) through the store, 64 at a time.
func seedHistory(b *testing.B, e *apitest.Env, conv string, senders []string, n int) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: senders[i%int64(len(senders))],
					ClientMsgID: parley.NewID(), Kind: parley.MessageUser,
					Body: "a typical chat message of about sixty bytes, give or take.", CreatedAt: time.Now()}
				if _, _, err := e.Server.Store.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	// The search indexer would otherwise index the seed while the pages are
	// measured.
	if ix, ok := e.Server.Store.(interface{ IndexPending(context.Context) error }); ok {
		if err := ix.IndexPending(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuPerOp starts measuring the process's CPU time (user and system, every
// goroutine, GC included); the function it returns reports it per op as
// cpu-ns/op. On a shared machine that moves less with other processes' load
// than ns/op. Use: defer cpuPerOp(b)() right before the timed loop.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// discardResponse is an http.ResponseWriter that counts the body and
// keeps the status.
type discardResponse struct {
	h      http.Header
	status int
	n      int
}

func (w *discardResponse) Header() http.Header { return w.h }

func (w *discardResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}
