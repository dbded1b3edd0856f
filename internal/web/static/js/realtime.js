// realtime.js — the WebSocket protocol client (docs/protocol.md).
//
// Contract:
//   - connect → send {"type":"auth","token"} first → wait for {"type":"ready"}.
//   - Reconnects after any loss with exponential backoff and full jitter
//     (delay = random() × min(maxDelay, baseDelay × 2^attempt), at least minDelay);
//     the attempt counter resets once a connection reaches "ready".
//   - Close code 4401 (or an auth error frame) means the token is dead: the
//     client stops and emits "unauthenticated" instead of retrying.
//   - Outgoing messages go through an outbox persisted in storage (one key per
//     user). Each entry keeps its client_msg_id for life, so resending after a
//     reconnect, a reload or a lost ack can never create a duplicate: the
//     server returns the original message for a known client_msg_id. Entries
//     are sent one at a time in order and removed only when acked, or when the
//     server refuses them with a permanent error.
//   - Every server frame is re-emitted as a "frame" event; after each "ready"
//     a "ready" event tells the app to resync (fetch what it missed).

export const FRAME = {
  auth: 'auth', ready: 'ready', send: 'send', ack: 'ack', error: 'error',
  typing: 'typing', read: 'read', delivered: 'delivered',
  presence: 'presence_subscribe', ping: 'ping', pong: 'pong', ok: 'ok', focus: 'focus',
};

const PERMANENT = new Set(['invalid', 'forbidden', 'not_found', 'too_large', 'unsupported_type', 'conflict']);

export function newClientMsgID() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Realtime extends EventTarget {
  constructor(opts) {
    super();
    this.url = opts.url;
    this.token = opts.token;
    this.storage = opts.storage ?? globalThis.localStorage;
    this.storageKey = opts.storageKey ?? 'parley.outbox';
    // since, if given, returns the auth frame's since: conversation id →
    // the seq up to which every message is held; ready then carries what
    // was missed after it (docs/protocol.md).
    this.since = opts.since ?? null;
    this.WS = opts.WebSocket ?? globalThis.WebSocket;
    this.random = opts.random ?? Math.random;
    this.minDelay = opts.minDelay ?? 250;
    this.baseDelay = opts.baseDelay ?? 500;
    this.maxDelay = opts.maxDelay ?? 30000;
    this.pingInterval = opts.pingInterval ?? 25000;
    this.ackTimeout = opts.ackTimeout ?? 15000;
    this.setTimeout = opts.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = opts.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.state = 'idle';
    this.attempt = 0;
    this.ws = null;
    this.refSeq = 0;
    this.waiting = new Map(); // ref → {resolve, reject, timer}
    this.inflight = null; // client_msg_id of the outbox entry being sent
    this.stopped = true;
    this.ready = null;
    this.outbox = this.#load();
  }

  // start opens the connection and keeps it open until stop().
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimeout(this.retryTimer);
    this.clearTimeout(this.pingTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this.#failWaiting('stopped');
    this.#setState('idle');
  }

  // reconnectNow skips the remaining backoff (e.g. when the browser goes online).
  reconnectNow() {
    if (this.stopped || this.state === 'online' || this.state === 'connecting') return;
    this.clearTimeout(this.retryTimer);
    this.#connect();
  }

  // send queues a message and returns its outbox entry at once. The entry
  // survives reloads until the server acknowledges it. extra.e2ee is an
  // encrypted conversation's envelope (docs/e2ee.md §6): the frame then
  // carries it with an empty body.
  send(conversationId, body, replyTo, attachments, extra = {}) {
    const entry = {
      client_msg_id: newClientMsgID(), conversation_id: conversationId, body: extra.e2ee ? '' : body,
      reply_to: replyTo || undefined, queued_at: new Date().toISOString(), attempts: 0,
    };
    if (extra.e2ee) entry.e2ee = extra.e2ee;
    if (attachments?.length) {
      entry.attachments = attachments;
      entry.attachment_ids = attachments.map((a) => a.id);
    }
    this.outbox.push(entry);
    this.#save();
    this.#emit('outbox', { outbox: this.outbox });
    this.#pump();
    return entry;
  }

  // discard drops a queued entry (the user gave up on a failed message).
  discard(clientMsgId) {
    this.outbox = this.outbox.filter((e) => e.client_msg_id !== clientMsgId);
    this.#save();
    this.#emit('outbox', { outbox: this.outbox });
  }

  pending(conversationId) {
    return this.outbox.filter((e) => !conversationId || e.conversation_id === conversationId);
  }

  typing(conversationId) { this.#fire({ type: FRAME.typing, conversation_id: conversationId }); }
  markRead(conversationId, seq) { this.#fire({ type: FRAME.read, conversation_id: conversationId, seq }); }
  markDelivered(conversationId, seq) { this.#fire({ type: FRAME.delivered, conversation_id: conversationId, seq }); }
  // focus tells the server whether this device is in front of its user
  // (visible and focused): a user with such a device is not pushed
  // (docs/notifications.md). The state is sent again after every reconnect.
  focus(focused) {
    this.focused = !!focused;
    this.#fire({ type: FRAME.focus, focused: this.focused });
  }
  subscribePresence(userIds) {
    this.presenceIds = [...new Set([...(this.presenceIds || []), ...userIds])];
    if (userIds.length) this.#fire({ type: FRAME.presence, user_ids: userIds });
  }

  // request sends a frame with a fresh ref and resolves with the server's answer.
  request(frame, timeout = this.ackTimeout) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.state !== 'online') { reject(new Error('offline')); return; }
      const ref = String(++this.refSeq);
      const timer = this.setTimeout(() => {
        this.waiting.delete(ref);
        reject(new Error('timeout'));
      }, timeout);
      this.waiting.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  #fire(frame) {
    if (this.ws && this.state === 'online') {
      try { this.ws.send(JSON.stringify(frame)); } catch { /* reconnect will resync */ }
    }
  }

  #connect() {
    this.#setState('connecting');
    let ws;
    try {
      ws = new this.WS(this.url);
    } catch (err) {
      this.#scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.#setState('authenticating');
      const auth = { type: FRAME.auth, token: this.token };
      const since = this.since?.();
      if (since && Object.keys(since).length) auth.since = since;
      ws.send(JSON.stringify(auth));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame && typeof frame === 'object') this.#onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearTimeout(this.pingTimer);
      this.#failWaiting('disconnected');
      this.inflight = null;
      if (ev.code === 4401 || this.authFailed) {
        this.stopped = true;
        this.#setState('idle');
        this.#emit('unauthenticated', { code: ev.code });
        return;
      }
      this.#scheduleRetry(ev.code);
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  #scheduleRetry(code) {
    if (this.stopped) return;
    const cap = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempt);
    const delay = Math.max(this.minDelay, Math.floor(this.random() * cap));
    this.attempt++;
    this.nextRetryAt = Date.now() + delay;
    this.#setState('offline', { delay, attempt: this.attempt, code });
    this.retryTimer = this.setTimeout(() => this.#connect(), delay);
  }

  #onFrame(f) {
    switch (f.type) {
      case FRAME.ready:
        this.attempt = 0;
        this.ready = f;
        if (f.limits?.ping_interval_ms > 0) this.pingInterval = f.limits.ping_interval_ms;
        this.#setState('online');
        this.#schedulePing();
        if (this.presenceIds?.length) this.#fire({ type: FRAME.presence, user_ids: this.presenceIds });
        if (this.focused) this.#fire({ type: FRAME.focus, focused: true });
        this.#emit('ready', { frame: f });
        this.#pump();
        return;
      case FRAME.ack: {
        this.#settle(f, true);
        return;
      }
      case FRAME.error: {
        const err = f.error || {};
        if (f.ref && this.waiting.has(f.ref)) { this.#settle(f, false); return; }
        if (this.state === 'authenticating' || err.code === 'unauthenticated') {
          this.authFailed = err.code === 'unauthenticated';
        }
        this.#emit('server_error', { error: err });
        return;
      }
      case FRAME.pong:
      case FRAME.ok:
      case 'call': // the answer to a call frame, or (no ref of ours) a call event
        if (f.ref && this.waiting.has(f.ref)) { this.#settle(f, true); return; }
        if (f.type === FRAME.pong) return;
        break;
    }
    this.#emit('frame', { frame: f });
  }

  #settle(f, ok) {
    const w = this.waiting.get(f.ref);
    if (!w) return;
    this.waiting.delete(f.ref);
    this.clearTimeout(w.timer);
    if (ok) w.resolve(f);
    else w.reject(Object.assign(new Error(f.error?.message || 'error'), { code: f.error?.code, frame: f }));
  }

  #failWaiting(reason) {
    for (const [, w] of this.waiting) {
      this.clearTimeout(w.timer);
      w.reject(new Error(reason));
    }
    this.waiting.clear();
  }

  #schedulePing() {
    this.clearTimeout(this.pingTimer);
    this.pingTimer = this.setTimeout(async () => {
      if (this.state !== 'online') return;
      const ws = this.ws;
      try {
        await this.request({ type: FRAME.ping }, 10000);
        this.#schedulePing();
      } catch {
        // No pong: the link is dead even if TCP has not noticed. Drop it.
        if (ws === this.ws && ws) { try { ws.close(4000, 'ping timeout'); } catch { /* ignore */ } ws.onclose?.({ code: 4000 }); }
      }
    }, this.pingInterval);
  }

  // #pump sends the oldest outbox entry not yet in flight and, on its ack,
  // the next one: one at a time keeps the user's order.
  async #pump() {
    if (this.inflight || this.state !== 'online') return;
    const entry = this.outbox[0];
    if (!entry) return;
    this.inflight = entry.client_msg_id;
    entry.attempts = (entry.attempts || 0) + 1;
    this.#save();
    const frame = {
      type: FRAME.send, conversation_id: entry.conversation_id,
      client_msg_id: entry.client_msg_id, body: entry.e2ee ? '' : entry.body,
    };
    if (entry.e2ee) frame.e2ee = entry.e2ee;
    if (entry.reply_to) frame.reply_to = entry.reply_to;
    // Files were uploaded when picked; the send names them like REST does.
    if (entry.attachment_ids?.length) frame.attachment_ids = entry.attachment_ids;
    let retryIn = 0;
    try {
      const message = (await this.request(frame)).message;
      this.#remove(entry.client_msg_id);
      this.#emit('ack', { entry, message });
    } catch (err) {
      if (err.code && PERMANENT.has(err.code)) {
        this.#remove(entry.client_msg_id);
        this.#emit('send_error', { entry, error: { code: err.code, message: err.message } });
      } else if (err.code === 'rate_limited') {
        retryIn = 1000 * (err.frame?.error?.retry_after || err.retryAfter || 1);
      } else if (err.code === 'network' || err.code === 'internal' || err.code === 'unavailable') {
        retryIn = 2000;
      } else if (err.message === 'timeout' && this.ws) {
        retryIn = 1000; // same client_msg_id: the server dedupes
      }
      // disconnected: the next "ready" pumps again.
    }
    this.inflight = null;
    if (retryIn) this.setTimeout(() => this.#pump(), retryIn);
    else this.#pump();
  }

  #remove(id) {
    const n = this.outbox.length;
    this.outbox = this.outbox.filter((e) => e.client_msg_id !== id);
    if (this.outbox.length !== n) {
      this.#save();
      this.#emit('outbox', { outbox: this.outbox });
    }
  }

  #load() {
    try {
      const v = JSON.parse(this.storage?.getItem(this.storageKey) || '[]');
      return Array.isArray(v) ? v.filter((e) => e && typeof e.client_msg_id === 'string') : [];
    } catch { return []; }
  }

  #save() {
    try { this.storage?.setItem(this.storageKey, JSON.stringify(this.outbox)); } catch { /* quota: keep in memory */ }
  }

  #setState(state, extra = {}) {
    this.state = state;
    this.#emit('state', { state, ...extra });
  }

  #emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
