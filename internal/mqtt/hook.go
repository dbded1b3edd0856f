package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// hook is the broker's single hook: authentication, ACLs, sends and the
// delivery bookkeeping all go through it.
//
// Locking: mu serializes every publish into the broker (live and replay)
// with the tail of each SUBSCRIBE, and guards every session's conversation
// state; it is also held while a delivery is parked (packetid.go). cur is
// the publish in progress (set with mu held), so the ACL check
// mochi makes per delivery knows which message it is deciding on.
// With mu held, mochi takes a subscriber's client lock (to number a QoS 1
// delivery) and, in a park, writes to the client: both wait at most for
// one socket write, which gatedConn bounds (writeTimeout), never for a hook;
// a delivery does not wait on a write in progress for stallAfter (stall.go).
type hook struct {
	mochi.HookBase
	rt     *app.Realtime
	app    *app.App
	broker *mochi.Server
	log    *slog.Logger
	cfg    Config

	ctx    context.Context // cancelled by stop; bounds replays
	cancel context.CancelFunc
	wg     sync.WaitGroup

	packets *app.Limiter // packets per connection

	mu       sync.Mutex
	cur      atomic.Pointer[delivery]
	sessions sync.Map // client id → *session
	conns    sync.Map // *mochi.Client → parley.Actor, for established connections
	parked   sync.Map // *mochi.Client → packets.Packet: a delivery parked while the client's packet reusing its id is handled (packetid.go)
	live     sync.Map // client id → *mochi.Client: the id's newest established connection (registry.go)
	regMu    sync.Mutex

	lose       atomic.Int32                 // tests: message events to ignore, as a lossy bus would
	allowWills atomic.Bool                  // tests: OnConnect lets wills through, so OnWill is reached
	gate       atomic.Pointer[teardownGate] // tests: hold a connection's teardown (HoldTeardown)
}

// teardownGate (tests) holds the teardown of the next closed connection
// whose client id ends in suffix, in OnUnsubscribed, until release closes.
type teardownGate struct {
	suffix           string
	entered, release chan struct{}
}

// session is one MQTT session (a user and a client id). It outlives its
// connections while the broker keeps the session.
type session struct {
	id       string
	expiry   time.Duration    // how long the session outlives a connection; 0: not persistent
	stored   map[string]int64 // positions read from the store when the session was restored; consumed by OnSubscribe; guarded by hook.mu
	dirty    bool             // acked positions moved since the last save; guarded by hook.mu
	afterAck []string         // conversations to replay once the SUBACK is out; guarded by hook.mu
	actor    atomic.Pointer[parley.Actor]
	seen     atomic.Int64        // unix seconds of the last connect, for the sweep
	convs    map[string]*convSub // conversation id → delivery state; guarded by hook.mu
	presence sync.Map            // user id → struct{}: presence topics this session may read
	missed   sync.Map            // user id → struct{}: a presence frame was skipped while the connection was stalled (stall.go)
	pending  map[string]*convSub // set in OnSubscribe, applied under mu; only the client's goroutine touches it
}

// convSub is the delivery state of one subscribed conversation: last is the
// highest seq handed to the broker for this session (delivered, or in
// flight); while replaying, live messages are left to the replay (skipped
// is the highest one left).
type convSub struct {
	last, skipped int64
	acked         int64 // highest seq the client acknowledged (QoS 1/2) or was handed at QoS 0: the saved position
	replaying     bool
	stallSkipped  bool // a message was skipped while the connection was stalled: replayed when it resumes (stall.go)
}

func newHook(rt *app.Realtime, broker *mochi.Server, log *slog.Logger, cfg Config) *hook {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hook{rt: rt, app: rt.App, broker: broker, log: log, cfg: cfg, ctx: ctx, cancel: cancel,
		packets: app.NewLimiter(cfg.PacketsPerSec, int(2*cfg.PacketsPerSec), time.Now)}
	h.wg.Add(2)
	go h.sweep()
	go h.saver()
	return h
}

func (h *hook) stop() {
	h.cancel()
	h.wg.Wait()
}

func (h *hook) ID() string { return "parley" }

// provides is the set of mochi hook events the hook handles (mochi asks per
// call, so per delivery for OnACLCheck).
var provides = func() (t [256]bool) {
	for _, b := range []byte{
		mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnSessionEstablished, mochi.OnDisconnect,
		mochi.OnPacketRead, mochi.OnSubscribe, mochi.OnSubscribed, mochi.OnUnsubscribed, mochi.OnPublish,
		mochi.OnPublishDropped, mochi.OnClientExpired, mochi.OnPacketSent, mochi.OnUnsubscribe, mochi.OnPacketProcessed,
		mochi.OnSessionEstablish, mochi.OnConnect, mochi.OnWill,
	} {
		t[b] = true
	}
	return t
}()

func (h *hook) Provides(b byte) bool { return provides[b] }

func (h *hook) session(id string) *session {
	if v, ok := h.sessions.Load(id); ok {
		return v.(*session)
	}
	return nil
}

func (h *hook) actor(cl *mochi.Client) (parley.Actor, bool) {
	v, ok := h.conns.Load(cl)
	if !ok {
		return parley.Actor{}, false
	}
	return v.(parley.Actor), true
}

// OnConnect refuses a CONNECT carrying a Will (last will and testament)
// with CONNACK 0x87 not authorized (MQTT 5, with a reason string) or 0x05
// (3.1.1), before authentication. The broker would publish a will itself
// when the connection drops, to its topic's subscribers and retained if
// asked: a message or presence frame nobody sent, stored or authorized
// (docs/mqtt.md). Every frame on a Parley topic is the server's.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if !pk.Connect.WillFlag || h.allowWills.Load() {
		return nil
	}
	code := packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "will messages are not supported"}
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.Err3NotAuthorized
	}
	_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: code.Code,
		Properties: packets.Properties{ReasonString: code.Reason}})
	h.log.Debug("mqtt connect with a will refused", "remote", cl.Net.Remote, "will_topic", pk.Connect.WillTopic)
	return packets.ErrNotAuthorized // mochi closes the connection
}

// OnWill is a second guard: OnConnect admits no client with a will, so mochi
// has none to publish. Were it to publish one anyway, it goes to a topic no
// client may subscribe to (a $ topic, outside the tree), not retained.
// (mochi ignores an OnWill error and publishes the original will.)
func (h *hook) OnWill(cl *mochi.Client, _ mochi.Will) (mochi.Will, error) {
	h.log.Warn("mqtt will dropped", "client", cl.ID)
	return mochi.Will{TopicName: noWillTopic}, nil
}

// noWillTopic is where a will that got past OnConnect is published: a $
// topic matches no wildcard filter (MQTT-4.7.2-1) and parses as nothing,
// so OnACLCheck refuses to subscribe to it.
const noWillTopic = "$parley/no-will"

// OnConnectAuthenticate signs the client in: the password is a session
// token of the user named by the username (id or username), or that user's
// password (which opens a new session, like POST /auth/login). The client id
// is then scoped to the user, so nobody can take over another's session.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	name, secret := string(pk.Connect.Username), string(pk.Connect.Password)
	if name == "" || secret == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(h.ctx, opTimeout)
	defer cancel()
	actor, u, err := h.rt.AuthenticateUser(ctx, secret)
	if err == nil && u.ID != name && !strings.EqualFold(u.Username, name) {
		return false
	}
	if parley.IsCode(err, parley.CodeUnauthenticated) {
		var tok string
		host, _, _ := net.SplitHostPort(cl.Net.Remote)
		if _, tok, err = h.app.Login(ctx, app.LoginInput{Username: name, Password: secret, UserAgent: "mqtt", Address: host}); err == nil {
			actor, u, err = h.rt.AuthenticateUser(ctx, tok)
		}
	}
	if err != nil {
		h.log.Debug("mqtt auth refused", "remote", cl.Net.Remote, "err", err)
		return false
	}
	cl.ID = u.ID + "/" + cl.ID
	expiry := h.expiry(pk)
	s := h.session(cl.ID)
	if s == nil || pk.Connect.Clean {
		fresh := &session{id: cl.ID, convs: map[string]*convSub{}}
		fresh.actor.Store(&actor) // before the session is visible: events read it
		if err := h.restore(ctx, actor, fresh, pk.Connect.Clean, expiry); err != nil {
			h.log.Warn("mqtt session positions", "client", cl.ID, "err", err)
			return false
		}
		s = fresh
		h.mu.Lock()
		h.sessions.Store(cl.ID, s)
		h.mu.Unlock()
	}
	h.mu.Lock()
	s.expiry = expiry
	h.mu.Unlock()
	s.actor.Store(&actor)
	s.seen.Store(time.Now().Unix())
	return true
}

// OnSessionEstablish comes right before mochi hands a session over from a
// connection still open: waiting for mu lets a delivery parked by that
// connection go back first, so the new one inherits it (packetid.go).
func (h *hook) OnSessionEstablish(*mochi.Client, packets.Packet) {
	h.mu.Lock()
	//lint:ignore SA2001 a barrier: waits for a parked delivery to go back
	h.mu.Unlock()
}

// OnSessionEstablished records the connection for presence and replays what
// the session missed in every conversation it is subscribed to.
func (h *hook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) {
	s := h.session(cl.ID)
	if s == nil {
		return
	}
	actor := *s.actor.Load()
	h.conns.Store(cl, actor)
	h.established(cl)
	h.rt.Connected(h.ctx, actor)
	h.mu.Lock()
	for conv, cs := range s.convs {
		h.startReplayLocked(s, conv, cs, 0)
	}
	h.mu.Unlock()
}

// OnDisconnect ends the connection's presence and saves a persistent
// session's positions. The session's state stays until the broker drops
// the session (sweep).
func (h *hook) OnDisconnect(cl *mochi.Client, err error, _ bool) {
	h.unpark(cl)
	if v, ok := h.conns.LoadAndDelete(cl); ok {
		h.rt.Disconnected(context.WithoutCancel(h.ctx), v.(parley.Actor))
	}
	if s := h.session(cl.ID); s != nil {
		h.save(context.WithoutCancel(h.ctx), s)
	}
	if err != nil && !errors.Is(err, packets.CodeDisconnect) {
		h.log.Debug("mqtt connection closed", "client", cl.ID, "err", err)
	}
}

// OnClientExpired forgets an expired session.
func (h *hook) OnClientExpired(cl *mochi.Client) { h.sessions.Delete(cl.ID) }

// sweep forgets the sessions the broker no longer has (clean sessions end
// with their connection) once a minute.
func (h *hook) sweep() {
	defer h.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := h.app.SweepPositions(h.ctx); err != nil && h.ctx.Err() == nil {
			h.log.Warn("mqtt sweep positions", "err", err)
		}
		old := time.Now().Add(-time.Minute).Unix()
		h.sessions.Range(func(k, v any) bool {
			if _, ok := h.broker.Clients.Get(k.(string)); !ok && v.(*session).seen.Load() < old {
				h.sessions.Delete(k)
			}
			return true
		})
	}
}

// OnPacketRead limits each connection's packet rate: a flood is cut off
// with DISCONNECT 0x96 (message rate too high). Acknowledgements of the
// server's own publishes (PUBACK, PUBREC, PUBCOMP) are not counted: they
// are bounded by what the server sends, and a busy conversation's QoS 1
// subscriber must not be cut off for keeping up. Nor is CONNECT: it is
// read before the client has an id (every connection's would count against
// one shared bucket, capping sign-ins server-wide), it comes once per
// connection (mochi refuses a second), and sign-in attempts have the app's
// own per-account and per-address limits.
func (h *hook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Connect:
		return pk, nil
	case packets.Puback, packets.Pubrec:
		h.acknowledged(cl, pk.PacketID)
		return pk, nil
	case packets.Pubcomp:
		return pk, nil
	}
	if ok, _ := h.packets.Allow(cl.ID); !ok {
		if cl.Properties.ProtocolVersion == 5 {
			_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
				ReasonCode: packets.ErrMessageRateTooHigh.Code})
		}
		return pk, packets.ErrRejectPacket // mochi ends the connection on it
	}
	h.parkFor(cl, pk)
	return pk, nil
}

// OnPacketProcessed ends a park that mochi's handling of the packet did not
// reach the end of (packetid.go).
func (h *hook) OnPacketProcessed(cl *mochi.Client, _ packets.Packet, _ error) { h.unpark(cl) }

// OnACLCheck: clients publish only to parley/c/<id>/send (the app decides
// the rest) and read only what OnSubscribe admitted. Called by mochi for
// each filter of a SUBSCRIBE (with mu held by OnSubscribe) and for each
// delivery (with mu held by the publisher, except retained presence).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	kind, id := parseTopic(topic)
	if write {
		return kind == topicSend
	}
	s := h.session(cl.ID)
	if s == nil {
		return false
	}
	switch kind {
	case topicPresence:
		_, ok := s.presence.Load(id)
		if d := h.cur.Load(); ok && d != nil && d.topic == topic { // a publish of this topic is in progress
			return h.presenceDeliverable(cl, s, d, id)
		}
		return ok
	case topicMessages:
		if d := h.cur.Load(); d != nil && d.topic == topic {
			return h.deliverableLocked(cl, s, d)
		}
		return s.convs[id] != nil // SUBSCRIBE: mu is held (OnSubscribe … OnSubscribed)
	}
	return false
}

// OnSubscribe authorizes each filter through the app: messages of a
// conversation the user is a member of, presence of a user they share a
// conversation with (or their own). Refused filters get 0x87 from the ACL
// check. An MQTT 5 user property after=<seq> replays the messages after seq.
// It returns with mu held; OnSubscribed releases it. A delivery in flight
// under the SUBSCRIBE's packet id is parked meanwhile (packetid.go).
func (h *hook) OnSubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if cl.Net.Inline {
		return pk
	}
	s := h.session(cl.ID)
	actor, ok := h.actor(cl)
	if s == nil || !ok {
		h.mu.Lock()
		h.parkLocked(cl, pk.PacketID)
		return pk
	}
	after := int64(-1)
	for _, p := range pk.Properties.User {
		if p.Key == "after" {
			if n, err := strconv.ParseInt(p.Val, 10, 64); err == nil && n >= 0 {
				after = n
			}
		}
	}
	ctx, cancel := context.WithTimeout(h.ctx, opTimeout)
	defer cancel()
	s.pending = map[string]*convSub{}
	for _, f := range pk.Filters {
		kind, id := parseTopic(f.Filter)
		switch kind {
		case topicMessages:
			msgs, err := h.app.History(ctx, actor, id, app.HistoryInput{Latest: true, Limit: 1})
			if err != nil {
				s.pending[id] = nil
				continue
			}
			cs := &convSub{}
			if len(msgs) > 0 {
				cs.last = msgs[0].Seq
			}
			from := after
			h.mu.Lock()
			if p, ok := s.stored[id]; ok && from < 0 {
				from = p // a restored session picks up where it was
				delete(s.stored, id)
			}
			h.mu.Unlock()
			if from >= 0 && from < cs.last {
				cs.last, cs.skipped = from, cs.last
			}
			cs.acked = min(cs.last, max(from, 0))
			if from < 0 {
				cs.acked = cs.last
			}
			s.pending[id] = cs
		case topicPresence:
			if h.mayWatch(ctx, actor, id) {
				s.presence.Store(id, struct{}{})
			} else {
				s.presence.Delete(id)
			}
		}
	}
	h.mu.Lock()
	for id, cs := range s.pending {
		switch old := s.convs[id]; {
		case cs == nil:
			delete(s.convs, id)
		case old != nil && after < 0: // a re-subscribe keeps the session's place
			s.pending[id] = old
		default:
			s.convs[id] = cs
			s.dirty = true
		}
	}
	h.parkLocked(cl, pk.PacketID)
	return pk
}

// mayWatch reports whether actor may read userID's presence, and makes
// sure a retained presence message exists for the topic.
func (h *hook) mayWatch(ctx context.Context, actor parley.Actor, userID string) bool {
	st, err := h.rt.WatchPresence(ctx, actor, []string{userID})
	if err != nil || len(st) == 0 {
		return false
	}
	topic := presenceTopic(userID)
	if _, ok := h.broker.Topics.Retained.Get(topic); !ok {
		h.broker.Topics.RetainMessage(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
			TopicName:   topic, Payload: presenceFrame(st[0]), Created: time.Now().Unix(),
		})
	}
	return true
}

// OnSubscribed releases mu; the replays asked for (with after, or from a
// restored position) start once the SUBACK is written (OnPacketSent), so
// the client never sees a replayed message before its SUBACK.
func (h *hook) OnSubscribed(cl *mochi.Client, _ packets.Packet, _ []byte) {
	if cl.Net.Inline {
		return
	}
	s := h.session(cl.ID)
	if s != nil {
		for id, cs := range s.pending {
			if cs != nil && cs.skipped > cs.last && s.convs[id] == cs {
				s.afterAck = append(s.afterAck, id)
			}
		}
		s.pending = nil
	}
	h.unparkLocked(cl)
	h.mu.Unlock()
}

// OnPacketSent starts the replays a SUBSCRIBE asked for, after its SUBACK.
func (h *hook) OnPacketSent(cl *mochi.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type != packets.Suback {
		return
	}
	s := h.session(cl.ID)
	if s == nil {
		return
	}
	h.mu.Lock()
	for _, id := range s.afterAck {
		if cs := s.convs[id]; cs != nil && cs.skipped > cs.last {
			h.startReplayLocked(s, id, cs, cs.skipped)
		}
	}
	s.afterAck = nil
	h.mu.Unlock()
}

// OnUnsubscribe: mochi has looked the packet id up; a delivery parked for
// it goes back (packetid.go).
func (h *hook) OnUnsubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.unpark(cl)
	return pk
}

// OnUnsubscribed forgets the filters' delivery state. The unsubscribe of a
// closed connection is mochi ending its session (a clean session's end, an
// expiry, a takeover): the session's state goes with it (sweep,
// OnClientExpired), and the id may already belong to a new session, whose
// state is not this connection's to change.
func (h *hook) OnUnsubscribed(cl *mochi.Client, pk packets.Packet) {
	if g := h.gate.Load(); g != nil && cl.Closed() && len(pk.Filters) > 0 && strings.HasSuffix(cl.ID, g.suffix) && h.gate.CompareAndSwap(g, nil) {
		close(g.entered)
		<-g.release
	}
	s := h.session(cl.ID)
	if s == nil || cl.Closed() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range pk.Filters {
		switch kind, id := parseTopic(f.Filter); kind {
		case topicMessages:
			delete(s.convs, id)
		case topicPresence:
			s.presence.Delete(id)
		}
	}
}

// OnPublish performs a send: the message is committed (or found, for a
// resent client_msg_id) before mochi acknowledges, so a PUBACK (PUBREC for
// QoS 2) means durably stored. The publish itself is never routed nor
// retained: the message reaches subscribers as the app's event. A refusal
// is a PUBACK with a reason code (MQTT 5) or, for MQTT 3.1.1 which has
// none, closing the connection; a refused QoS 0 publish is dropped.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	h.unpark(cl) // mochi has looked the packet id up (packetid.go)
	if cl.Net.Inline {
		return pk, nil
	}
	kind, conv := parseTopic(pk.TopicName)
	actor, ok := h.actor(cl)
	if kind != topicSend || !ok {
		return pk, packets.ErrRejectPacket
	}
	in, err := parseSend(pk.Payload, pk.Properties.CorrelationData)
	var m parley.Message
	if err == nil {
		ctx, cancel := context.WithTimeout(h.ctx, opTimeout)
		m, _, _, err = h.rt.Send(ctx, actor, conv, in.ClientMsgID, in.Body, in.ReplyTo, nil, nil)
		cancel()
	}
	if err != nil {
		return h.refuse(cl, pk, err)
	}
	props := packets.Properties{User: []packets.UserProperty{
		{Key: "seq", Val: strconv.FormatInt(m.Seq, 10)},
		{Key: "message_id", Val: m.ID},
		{Key: "client_msg_id", Val: m.ClientMsgID}}}
	if pk.FixedHeader.Qos == 1 {
		// Acknowledged here rather than by mochi, which would write the
		// granted QoS (0x01) as the PUBACK's reason code instead of 0x00.
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID,
			Properties: props})
		return pk, packets.ErrRejectPacket
	}
	pk.Ignore = true // QoS 0: nothing to send; QoS 2: mochi runs PUBREC/PUBREL/PUBCOMP
	pk.FixedHeader.Retain = false
	pk.Properties.User = append(pk.Properties.User, props.User...)
	return pk, nil
}

func (h *hook) refuse(cl *mochi.Client, pk packets.Packet, err error) (packets.Packet, error) {
	code := reasonCode(err)
	if perr := parley.AsError(err); perr.Code == parley.CodeInternal || perr.Code == parley.CodeUnavailable {
		h.log.Warn("mqtt send failed", "client", cl.ID, "err", err)
	}
	switch {
	case pk.FixedHeader.Qos == 0:
	case cl.Properties.ProtocolVersion < 5:
		cl.Stop(code)
	default:
		ack := packets.Puback
		if pk.FixedHeader.Qos == 2 {
			ack = packets.Pubrec
		}
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: ack}, PacketID: pk.PacketID,
			ReasonCode: code.Code, Properties: packets.Properties{ReasonString: code.Reason}})
	}
	return pk, packets.ErrRejectPacket
}

// reasonCode maps a Parley error to the PUBACK reason code (MQTT 5 §3.4.2.1)
// whose reason string is "<code>: <message>".
func reasonCode(err error) packets.Code {
	e := parley.AsError(err)
	c := packets.ErrUnspecifiedError
	switch e.Code {
	case parley.CodeInvalid, parley.CodeTooLarge, parley.CodeUnsupportedType:
		c = packets.ErrPayloadFormatInvalid
	case parley.CodeUnauthenticated, parley.CodeForbidden, parley.CodeNotFound:
		c = packets.ErrNotAuthorized
	case parley.CodeRateLimited:
		c = packets.ErrQuotaExceeded
	case parley.CodeConflict:
		c = packets.ErrImplementationSpecificError
	}
	msg := e.Message
	if e.Code == parley.CodeInternal {
		msg = "internal error"
	}
	return packets.Code{Code: c.Code, Reason: string(e.Code) + ": " + msg}
}
