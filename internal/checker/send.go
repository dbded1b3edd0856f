package checker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// bodyPrefix marks the checker's messages; the rest of the body is the
// client_msg_id, so history alone tells which attempt a message came from.
const bodyPrefix = "nothing-lost "

// send is one user's sender: on a steady schedule (Rate/Users per second)
// it sends the next message into a random conversation of the user and
// waits for its ack, retrying the same client_msg_id (alternating REST and
// WebSocket, and across nodes) until acked or giveUp ends. One sender's
// messages are therefore acked in a known order, which history must keep.
func (r *run) send(sendCtx, giveUp context.Context, u *chkUser) {
	every := time.Duration(float64(time.Second) * float64(len(r.users)) / r.cfg.Rate)
	next := time.Now().Add(time.Duration(r.intn(int(every) + 1)))
	for i := 0; ; i++ {
		select {
		case <-sendCtx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(every)
		if now := time.Now(); next.Before(now) {
			next = now // behind schedule (a fault held us up): do not burst
		}
		conv := u.convs[r.intn(len(u.convs))]
		cmid := fmt.Sprintf("u%d-%d", u.idx, i)
		r.mu.Lock()
		r.attempted[cmid] = u.user.ID
		r.sentConv[cmid] = conv
		r.mu.Unlock()
		m, err := r.sendOne(giveUp, u, conv, cmid)
		if err != nil {
			if giveUp.Err() == nil {
				r.fail("send %s: %v (not retryable)", cmid, err)
			}
			continue
		}
		if m.ConversationID != conv || m.SenderID != u.user.ID || m.Body != bodyPrefix+cmid {
			r.fail("send %s: ack carries another message: %+v", cmid, m)
		}
		r.mu.Lock()
		r.acked[cmid] = ack{cmid: cmid, id: m.ID, seq: m.Seq}
		k := [2]string{u.user.ID, conv}
		r.order[k] = append(r.order[k], cmid)
		r.mu.Unlock()
	}
}

func (r *run) sendOne(ctx context.Context, u *chkUser, conv, cmid string) (parley.Message, error) {
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.retries.Add(1)
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var m parley.Message
		var err error
		if (u.idx+attempt)%2 == 0 {
			m, err = u.rt.SendMessage(actx, conv, cmid, bodyPrefix+cmid)
		} else {
			m, _, err = u.rest[(u.idx+attempt)%len(u.rest)].Send(actx, conv, client.SendRequest{ClientMsgID: cmid, Body: bodyPrefix + cmid})
		}
		cancel()
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return parley.Message{}, ctx.Err()
		}
		if !retryable(err) && actx.Err() == nil {
			return parley.Message{}, err
		}
		select {
		case <-ctx.Done():
			return parley.Message{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// injectFaults picks a fault at random about every FaultEvery until ctx
// ends.
func (r *run) injectFaults(ctx context.Context) {
	var all []Fault
	all = append(all, r.cfg.Faults...)
	for _, name := range r.cfg.ClientFaults {
		switch name {
		case FaultCut:
			all = append(all, Fault{Name: FaultCut, Do: r.cut})
		case FaultStorm:
			all = append(all, Fault{Name: FaultStorm, Do: r.storm})
		case FaultSlow:
			all = append(all, Fault{Name: FaultSlow, Do: r.slow})
		}
	}
	if len(all) == 0 {
		return
	}
	for {
		// Uniform in [FaultEvery/2, 3·FaultEvery/2).
		d := r.cfg.FaultEvery/2 + time.Duration(r.intn(int(r.cfg.FaultEvery)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		f := all[r.intn(len(all))]
		r.rngMu.Lock()
		rng := rand.New(rand.NewPCG(r.rng.Uint64(), r.rng.Uint64())) // #nosec G404 -- fault scheduling, reproducible from the seed
		r.rngMu.Unlock()
		r.log("fault: %s", f.Name)
		if err := f.Do(ctx, rng); err != nil && ctx.Err() == nil {
			r.fail("fault %s: %v", f.Name, err)
		}
		r.mu.Lock()
		r.faults[f.Name]++
		r.mu.Unlock()
	}
}

func (r *run) cut(ctx context.Context, rng *rand.Rand) error {
	n := 1 + rng.IntN(min(3, len(r.users)))
	for _, i := range rng.Perm(len(r.users))[:n] {
		r.users[i].rt.Drop()
	}
	return nil
}

func (r *run) storm(ctx context.Context, rng *rand.Rand) error {
	for _, u := range r.users {
		u.rt.Drop()
	}
	return nil
}

// slow makes one SDK consumer stop reading its events for a while (the SDK
// must keep reading the socket and buffer) and opens a raw authenticated
// socket as a member of every conversation of that user that never reads:
// the server must cut it off without slowing anyone else.
func (r *run) slow(ctx context.Context, rng *rand.Rand) error {
	u := r.users[rng.IntN(len(r.users))]
	u.pause.Store(time.Now().Add(time.Duration(1+rng.IntN(3)) * time.Second).UnixNano())
	base := r.cfg.URLs[rng.IntN(len(r.cfg.URLs))]
	go r.deafSocket(ctx, base, u.token, 5*time.Second)
	return nil
}

// deafSocket authenticates a raw WebSocket and then stops reading for hold.
func (r *run) deafSocket(ctx context.Context, base, token string, hold time.Duration) {
	bu, err := url.Parse(base)
	if err != nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(dctx, "ws://"+bu.Host+"/api/v1/ws")
	if err != nil {
		return // the node may be down right now: no fault then
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(conn, []byte(`{"type":"auth","token":"`+token+`"}`)); err != nil {
		return
	}
	// Shrink the receive buffer so the server's writes back up soon.
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	select {
	case <-ctx.Done():
	case <-time.After(hold):
	}
}
