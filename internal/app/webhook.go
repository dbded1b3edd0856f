package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/parley-chat/parley"
)

// Outgoing webhooks (docs/bots.md): every node's bus subscriber turns a new
// message into one queued delivery per webhook of a bot that is a member of
// the conversation (the store enqueues each (webhook, message) once, however
// many nodes try); a worker on every node claims due deliveries with a
// lease, POSTs them signed with HMAC-SHA256, and retries with exponential
// backoff. A delivery that fails every attempt counts against its webhook,
// which is disabled after DisableAfter such deliveries in a row.

// WebhookOptions configure outgoing webhooks.
type WebhookOptions struct {
	// AllowPrivate lets webhooks reach loopback, private, link-local and
	// other non-public addresses (tests, or a deliberate on-premises
	// setup). Off by default: a webhook URL must not become a way to probe
	// the server's own network.
	AllowPrivate bool
	RetryBase    time.Duration // first retry delay, doubled each time (default 10 s, at most 1 h)
	MaxAttempts  int           // attempts per delivery (default 8)
	DisableAfter int           // failed deliveries in a row that disable a webhook (default 5)
	Timeout      time.Duration // per attempt (default 10 s)
	Poll         time.Duration // how often the worker looks for due deliveries (default 1 s)
}

type webhooks struct {
	o      WebhookOptions
	client *http.Client

	mu     sync.Mutex
	active []parley.OutgoingWebhook
	loaded time.Time
	queue  chan parley.Event
	wake   chan struct{}
}

const webhookCacheTTL = 10 * time.Second

func newWebhooks(o WebhookOptions) *webhooks {
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	dialer := &net.Dialer{Timeout: o.Timeout}
	if !o.AllowPrivate {
		// Checked on the address actually dialled, after DNS: a public name
		// that resolves to a private address is refused too.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			if !publicAddr(ip) {
				return fmt.Errorf("refusing to connect to non-public address %s", ip)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2,
		TLSHandshakeTimeout: o.Timeout, ResponseHeaderTimeout: o.Timeout}
	return &webhooks{o: o, queue: make(chan parley.Event, 1024), wake: make(chan struct{}, 1),
		client: &http.Client{Transport: tr, Timeout: o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// publicAddr reports whether ip is a public unicast address.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(ip) && !netip.MustParsePrefix("fc00::/7").Contains(ip)
}

// checkWebhookURL validates a webhook target: http(s), a host, no user
// info, at most WebhookURLMaxLen bytes; a literal non-public address is
// refused unless AllowPrivate. Errors name field "url".
func (w *webhooks) checkURL(raw string) (string, error) {
	if raw == "" {
		return "", parley.Invalid("url", "url is required")
	}
	if len(raw) > parley.WebhookURLMaxLen {
		return "", parley.TooLarge("url", "url must be at most %d bytes", parley.WebhookURLMaxLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return "", parley.Invalid("url", "url must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return "", parley.Invalid("url", "url must not carry a user name or password")
	}
	if u.Fragment != "" {
		return "", parley.Invalid("url", "url must not have a #fragment")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !w.o.AllowPrivate && !publicAddr(ip) {
		return "", parley.Invalid("url", "url points to a loopback, private or otherwise non-public address")
	}
	if h := u.Hostname(); !w.o.AllowPrivate && (h == "localhost" || len(h) > 10 && h[len(h)-10:] == ".localhost") {
		return "", parley.Invalid("url", "url points to localhost")
	}
	return u.String(), nil
}

// CreateOutgoingWebhook adds a webhook to one of the caller's bots. It
// returns the record and the signing secret, shown this once.
func (a *App) CreateOutgoingWebhook(ctx context.Context, actor parley.Actor, botID, rawURL string) (parley.OutgoingWebhook, string, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return parley.OutgoingWebhook{}, "", err
	}
	u, err := a.hooks.checkURL(rawURL)
	if err != nil {
		return parley.OutgoingWebhook{}, "", err
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(k[:])
	w := parley.OutgoingWebhook{ID: parley.NewID(), BotID: b.ID, URL: u, Secret: secret,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := a.store.CreateOutgoingWebhook(ctx, w); err != nil {
		return parley.OutgoingWebhook{}, "", err
	}
	a.hooks.invalidate()
	a.log.Info("outgoing webhook created", "user_id", b.ID, "webhook_id", w.ID)
	return w, secret, nil
}

// OutgoingWebhooks lists the webhooks of one of the caller's bots.
func (a *App) OutgoingWebhooks(ctx context.Context, actor parley.Actor, botID string) ([]parley.OutgoingWebhook, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return nil, err
	}
	return a.store.OutgoingWebhooks(ctx, b.ID)
}

// DeleteOutgoingWebhook deletes one, with its queue and log.
func (a *App) DeleteOutgoingWebhook(ctx context.Context, actor parley.Actor, botID, id string) error {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return err
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "webhook not found")
	}
	if err := a.store.DeleteOutgoingWebhook(ctx, b.ID, id); err != nil {
		return err
	}
	a.hooks.invalidate()
	return nil
}

// EnableOutgoingWebhook re-enables a webhook of one of the caller's bots
// that failing deliveries disabled: its failure count starts again at 0,
// new events are queued for it again (failed deliveries stay failed; the
// log keeps them). Enabling an enabled webhook is a no-op. CodeNotFound for
// an unknown webhook or someone else's bot.
func (a *App) EnableOutgoingWebhook(ctx context.Context, actor parley.Actor, botID, id string) (parley.OutgoingWebhook, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return parley.OutgoingWebhook{}, err
	}
	if !parley.ValidID(id) {
		return parley.OutgoingWebhook{}, parley.Errorf(parley.CodeNotFound, "webhook not found")
	}
	w, err := a.store.EnableOutgoingWebhook(ctx, b.ID, id)
	if err != nil {
		return parley.OutgoingWebhook{}, err
	}
	a.hooks.invalidate()
	a.log.Info("outgoing webhook enabled", "user_id", b.ID, "webhook_id", w.ID)
	return w, nil
}

// WebhookDeliveries is the delivery log of one webhook of the caller's
// bot: up to 100 deliveries, newest first.
func (a *App) WebhookDeliveries(ctx context.Context, actor parley.Actor, botID, id string) ([]parley.WebhookDelivery, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return nil, err
	}
	hooks, err := a.store.OutgoingWebhooks(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		if h.ID == id {
			return a.store.Deliveries(ctx, id, 100)
		}
	}
	return nil, parley.Errorf(parley.CodeNotFound, "webhook not found")
}

func (w *webhooks) invalidate() {
	w.mu.Lock()
	w.loaded = time.Time{}
	w.mu.Unlock()
}

// activeHooks returns the enabled webhooks, reloaded at most every
// webhookCacheTTL (another node's new webhook is seen within that).
func (a *App) activeHooks(ctx context.Context) []parley.OutgoingWebhook {
	w := a.hooks
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.loaded) < webhookCacheTTL {
		return w.active
	}
	hooks, err := a.store.ActiveOutgoingWebhooks(ctx)
	if err != nil {
		a.log.Warn("load outgoing webhooks", "err", err)
		return w.active
	}
	w.active, w.loaded = hooks, time.Now()
	return hooks
}

// HandleWebhookEvent queues a bus event for the webhook dispatcher; it
// never blocks (a full queue drops the event, logged: the bus is best-effort
// too).
func (a *App) HandleWebhookEvent(e parley.Event) {
	if e.Kind != parley.EventMessage {
		return
	}
	select {
	case a.hooks.queue <- e:
	default:
		a.log.Warn("webhook queue full; event dropped", "conversation_id", e.ConversationID)
	}
}

// webhookPayload is the body of a delivery.
type webhookPayload struct {
	Event          string          `json:"event"`
	WebhookID      string          `json:"webhook_id"`
	BotID          string          `json:"bot_id"`
	ConversationID string          `json:"conversation_id"`
	Message        json.RawMessage `json:"message"`
}

// enqueue turns one message event into deliveries.
func (a *App) enqueue(ctx context.Context, e parley.Event) {
	hooks := a.activeHooks(ctx)
	if len(hooks) == 0 {
		return
	}
	var f struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(e.Frame, &f); err != nil {
		return
	}
	var m parley.Message
	if err := json.Unmarshal(f.Message, &m); err != nil || m.Kind == parley.MessageSystem {
		return
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	member := map[string]bool{}
	for _, h := range hooks {
		if h.BotID == m.SenderID {
			continue
		}
		in, seen := member[h.BotID]
		if !seen {
			_, err := a.store.Member(ctx, m.ConversationID, h.BotID)
			in = err == nil
			if in { // a disabled bot gets no events
				bot, err := a.store.User(ctx, h.BotID)
				in = err == nil && !bot.Disabled
			}
			member[h.BotID] = in
		}
		if !in {
			continue
		}
		body, _ := json.Marshal(webhookPayload{Event: "message.created", WebhookID: h.ID, BotID: h.BotID,
			ConversationID: m.ConversationID, Message: f.Message})
		d := parley.WebhookDelivery{ID: parley.NewSequentialID(), WebhookID: h.ID, EventKey: m.ID, Event: "message.created",
			Payload: body, Status: parley.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if ok, err := a.store.EnqueueDelivery(ctx, d); err != nil {
			a.log.Warn("enqueue webhook delivery", "webhook_id", h.ID, "err", err)
		} else if ok {
			select {
			case a.hooks.wake <- struct{}{}:
			default:
			}
		}
	}
}

// RunWebhooks runs the dispatcher and the delivery worker until ctx ends.
func (a *App) RunWebhooks(ctx context.Context) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-a.hooks.queue:
				a.enqueue(ctx, e)
			}
		}
	}()
	t := time.NewTicker(a.hooks.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.hooks.wake:
		}
		a.deliverDue(ctx)
	}
}

// deliverDue claims and attempts every due delivery, in batches.
func (a *App) deliverDue(ctx context.Context) {
	if len(a.activeHooks(ctx)) == 0 {
		return // nothing can be due: no write transaction every poll on an idle server
	}
	lease := a.hooks.o.Timeout*2 + 5*time.Second
	for ctx.Err() == nil {
		ds, err := a.store.ClaimDeliveries(ctx, a.now().UTC().Truncate(time.Millisecond), lease, 20)
		if err != nil {
			a.log.Warn("claim webhook deliveries", "err", err)
			return
		}
		if len(ds) == 0 {
			return
		}
		hooks := map[string]parley.OutgoingWebhook{}
		for _, h := range a.activeHooks(ctx) {
			hooks[h.ID] = h
		}
		for _, d := range ds {
			h, ok := hooks[d.WebhookID]
			if !ok {
				// Disabled (or just made on another node): reload once.
				a.hooks.invalidate()
				for _, x := range a.activeHooks(ctx) {
					hooks[x.ID] = x
				}
				if h, ok = hooks[d.WebhookID]; !ok {
					d.Status, d.LastError, d.UpdatedAt = parley.DeliveryFailed, "webhook disabled", a.now().UTC().Truncate(time.Millisecond)
					_ = a.store.FinishAttempt(ctx, d, a.hooks.o.DisableAfter)
					continue
				}
			}
			a.attempt(ctx, h, d)
		}
	}
}

// Sign returns the X-Parley-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// attempt POSTs one delivery and records the outcome.
func (a *App) attempt(ctx context.Context, h parley.OutgoingWebhook, d parley.WebhookDelivery) {
	d.Attempts++
	status, err := a.post(ctx, h, d)
	now := a.now().UTC().Truncate(time.Millisecond)
	d.LastStatus, d.UpdatedAt, d.LastError = status, now, ""
	switch {
	case err == nil:
		d.Status = parley.DeliveryDelivered
	case d.Attempts >= a.hooks.o.MaxAttempts:
		d.Status, d.LastError = parley.DeliveryFailed, err.Error()
	default:
		d.LastError = err.Error()
		delay := a.hooks.o.RetryBase << min(d.Attempts-1, 20)
		d.NextAttemptAt = now.Add(min(delay, time.Hour))
	}
	if len(d.LastError) > 500 {
		d.LastError = d.LastError[:500]
	}
	if err := a.store.FinishAttempt(context.WithoutCancel(ctx), d, a.hooks.o.DisableAfter); err != nil {
		a.log.Warn("record webhook attempt", "delivery_id", d.ID, "err", err)
		return
	}
	if d.Status == parley.DeliveryFailed {
		a.hooks.invalidate() // it may have disabled the webhook
		a.log.Warn("webhook delivery failed", "webhook_id", h.ID, "delivery_id", d.ID, "attempts", d.Attempts, "err", d.LastError)
	}
}

func (a *App) post(ctx context.Context, h parley.OutgoingWebhook, d parley.WebhookDelivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhook/1")
	req.Header.Set("X-Parley-Event", d.Event)
	req.Header.Set("X-Parley-Delivery", d.ID)
	req.Header.Set("X-Parley-Signature", Sign(h.Secret, a.now(), d.Payload))
	resp, err := a.hooks.client.Do(req) // #nosec G704 -- the target is the bot owner's webhook URL; non-public addresses are refused at dial time
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
