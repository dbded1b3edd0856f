// Package app holds Parley's use cases: every business rule, once. Each
// method authorizes the Actor, validates input, persists through the Store,
// and only after a successful commit publishes events on the Bus.
//
// Every error returned is a *parley.Error (see parley.ErrorCode).
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/parley-chat/parley"
)

// Limits are the configurable bounds on user input.
type Limits struct {
	MaxMessageChars       int           // characters (runes) in a message body; default 4000
	MaxReactionsPerMsg    int           // distinct emoji on one message; default 50
	MaxMembers            int           // members of one group or channel; default 10000
	SessionTTL            time.Duration // idle time after which a session expires; default 30 days
	LoginFailuresPerUser  int           // failed sign-ins per account per LoginWindow before 429
	LoginFailuresPerAddr  int           // failed sign-ins per client address per LoginWindow before 429
	LoginWindow           time.Duration // default 15 minutes
	MessagesPerUserSecond float64       // sustained send rate per user; default 50
	SignupsPerAddr        int           // accounts registered per client address per SignupWindow; default 20, negative: no limit
	SignupWindow          time.Duration // default 1 hour
}

// DefaultLimits returns the defaults documented in README.md.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageChars:       4000,
		MaxReactionsPerMsg:    50,
		MaxMembers:            10000,
		SessionTTL:            30 * 24 * time.Hour,
		LoginFailuresPerUser:  10,
		LoginFailuresPerAddr:  50,
		LoginWindow:           15 * time.Minute,
		MessagesPerUserSecond: 50,
		SignupsPerAddr:        20,
		SignupWindow:          time.Hour,
	}
}

// Options configure an App. Store and Bus are required.
type Options struct {
	Store  parley.Store
	Bus    parley.Bus
	Logger *slog.Logger
	Limits Limits
	Now    func() time.Time // defaults to time.Now
	// Passwords sets the argon2id cost and the bound on concurrent hashing
	// (password.go); zero fields take their defaults.
	Passwords PasswordOptions
	// Media configures file storage and its limits (attachment.go).
	Media MediaOptions
	// ScramKeys derives each account's SCRAM-SHA-256 verifier whenever the
	// password is seen (scram.go); the XMPP gateway needs it.
	ScramKeys bool
	// Registration is who may create an account (default open).
	Registration parley.RegistrationPolicy
	// ICE are the STUN/TURN servers for calls (ice.go).
	ICE ICEOptions
	// Push configures Web Push subscriptions (push.go).
	Push PushOptions
	// Email configures verification, password reset and digests (email.go).
	Email EmailOptions
	// SMS sends phone verification codes (phone.go); nil: none.
	SMS SMSSender
	// TwoFactor configures two-factor sign-in (twofactor.go).
	TwoFactor TwoFactorOptions
	// Webhooks configures outgoing webhooks (webhook.go).
	Webhooks WebhookOptions
	// Runtime fills in the parts of the admin overview only the server
	// knows (version, uptime, sockets, disk); may be nil.
	Runtime func(*Overview)
}

// App is the set of use cases. It is safe for concurrent use.
type App struct {
	store    parley.Store
	bus      parley.Bus
	log      *slog.Logger
	limits   Limits
	now      func() time.Time
	acct     *accounts // sign-in state: password hasher, login limiters (user.go)
	sends    *Limiter  // per-user message send rate (message.go)
	e2eeOps  *Limiter  // per-user e2ee key writes and bundle claims (e2ee.go)
	media    *files    // files and avatars (attachment.go)
	scram    bool      // derive SCRAM verifiers (scram.go)
	reg      *registration
	rt       func(*Overview)
	social   *social      // search and contact rate limits (search.go)
	filters  filters      // compiled deny lists (moderation.go)
	posting  postingCache // posting states read on the send path (posting.go)
	stats    statsBuffer  // analytics counters not yet written (analytics.go)
	ice      ICEOptions
	node     string // this App's random id: names its devices in focus reports (notify.go)
	push     PushOptions
	mail     *mailer
	sms      SMSSender
	smsLimit *Limiter
	tf       *twoFactor
	hooks    *webhooks
	exports  *exports
	orgs     orgCache       // organisations read recently (organisation.go)
	touches  sessionTouches // last-seen writes not yet stored (sessiontouch.go)
	auth     authCache      // sessions and users read recently by token (authcache.go)
}

// New returns an App. Zero Limits fields take their defaults.
func New(o Options) *App {
	a := &App{bus: o.Bus, log: o.Logger, limits: o.Limits, now: o.Now, scram: o.ScramKeys}
	a.store = authStore{Store: o.Store, a: a}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	d := DefaultLimits()
	orDefault(&a.limits.MaxMessageChars, d.MaxMessageChars)
	orDefault(&a.limits.MaxReactionsPerMsg, d.MaxReactionsPerMsg)
	orDefault(&a.limits.MaxMembers, d.MaxMembers)
	orDefault(&a.limits.LoginFailuresPerUser, d.LoginFailuresPerUser)
	orDefault(&a.limits.LoginFailuresPerAddr, d.LoginFailuresPerAddr)
	orDefault(&a.limits.SessionTTL, d.SessionTTL)
	orDefault(&a.limits.LoginWindow, d.LoginWindow)
	orDefault(&a.limits.MessagesPerUserSecond, d.MessagesPerUserSecond)
	if a.limits.SignupsPerAddr >= 0 {
		orDefault(&a.limits.SignupsPerAddr, d.SignupsPerAddr)
	}
	orDefault(&a.limits.SignupWindow, d.SignupWindow)
	a.acct = newAccounts(o.Passwords, a.limits, a.now)
	a.sends = newSendLimiter(a.limits, a.now)
	a.e2eeOps = NewLimiter(e2eeOpsPerSecond, e2eeOpsBurst, a.now)
	a.media = newMedia(o.Media)
	a.reg = newRegistration(o.Registration, a.limits, a.now)
	a.rt = o.Runtime
	a.ice = o.ICE
	a.social = newSocial(a.now)
	a.node = parley.NewID()
	a.push = o.Push
	a.mail = newMailer(o.Email, a.now)
	a.sms, a.smsLimit = o.SMS, NewLimiter(phoneCodesPerHour/3600.0, phoneCodesPerHour, a.now)
	orDefault(&a.push.MaxSubscriptions, parley.DefaultPushSubscriptions)
	a.tf = newTwoFactor(o.TwoFactor)
	a.hooks = newWebhooks(o.Webhooks)
	a.exports = newExports(a.now)
	return a
}

// Limits returns the limits in force (for the WebSocket ready frame and docs).
func (a *App) Limits() Limits { return a.limits }

// Ready reports whether the store is reachable.
func (a *App) Ready(ctx context.Context) error { return a.store.Ping(ctx) }

// publish sends e on the bus after a commit. A bus failure never fails the
// use case: the write is already durable and clients recover by resync.
func (a *App) publish(ctx context.Context, e parley.Event) {
	if e.Kind != parley.EventMessage {
		a.posting.forgetFor(e)
		a.auth.forgetFor(e)
	}
	if err := a.bus.Publish(ctx, e); err != nil {
		a.log.Warn("publish failed; clients will resync", "kind", e.Kind,
			"conversation_id", e.ConversationID, "err", err)
	}
}

// orDefault sets *v to def when *v is zero or negative: how every limit
// and option here takes its default.
func orDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
