// Tests of the WebSocket protocol client (static/js/realtime.js), run in
// headless Chromium by realtime_js_test.go. Results land in window.__results.
import { Realtime } from '/assets/js/realtime.js';
import { test, assert, eq, run } from '/test/harness.js';

// FakeWS stands in for the browser WebSocket; tests play the server.
class FakeWS {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; this.readyState = 0; FakeWS.all.push(this); }
  send(d) { if (this.readyState !== 1) throw new Error('send on closed socket'); this.sent.push(JSON.parse(d)); }
  close(code = 1000) { if (this.readyState === 3) return; this.readyState = 3; this.onclose?.({ code }); }
  // server side
  open() { this.readyState = 1; this.onopen?.(); }
  push(frame) { this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
  last() { return this.sent[this.sent.length - 1]; }
  ofType(t) { return this.sent.filter((f) => f.type === t); }
}

// Clock is a manual timer queue.
class Clock {
  constructor() { this.now = 0; this.timers = new Map(); this.id = 0; this.delays = []; }
  setTimeout = (fn, ms) => { const id = ++this.id; this.timers.set(id, { fn, at: this.now + ms }); this.delays.push(ms); return id; };
  clearTimeout = (id) => { this.timers.delete(id); };
  tick(ms) {
    const until = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= until && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }
}

class MemStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function client(opts = {}) {
  FakeWS.all = [];
  const clock = opts.clock || new Clock();
  const storage = opts.storage || new MemStorage();
  const rt = new Realtime({
    url: 'ws://test/api/v1/ws', token: 'tok', storage, storageKey: 'outbox', WebSocket: FakeWS,
    random: opts.random || (() => 0.5), setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    pingInterval: 1e9, ackTimeout: 1e9,
  });
  const events = [];
  for (const t of ['state', 'ready', 'ack', 'send_error', 'frame', 'unauthenticated', 'outbox']) {
    rt.addEventListener(t, (e) => events.push({ type: t, ...e.detail }));
  }
  return { rt, clock, storage, events };
}

function connect(rt) {
  const ws = FakeWS.all[FakeWS.all.length - 1];
  ws.open();
  const auth = ws.sent[0];
  ws.push({ type: 'ready', user: { id: 'u1' }, limits: {}, conversations: [] });
  return { ws, auth };
}

// ack answers the last send frame the way the server does.
function ack(ws, frame, seq) {
  ws.push({ type: 'ack', ref: frame.ref, created: true, message: { id: 'm' + seq, conversation_id: frame.conversation_id, seq, sender_id: 'u1', client_msg_id: frame.client_msg_id, body: frame.body } });
}

test('names its positions in the auth frame when asked to', async () => {
  FakeWS.all = [];
  const clock = new Clock();
  let since = { c1: 5, c2: 0 };
  const rt = new Realtime({
    url: 'ws://test/api/v1/ws', token: 'tok', storage: new MemStorage(), storageKey: 'outbox', WebSocket: FakeWS,
    random: () => 0.5, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    pingInterval: 1e9, ackTimeout: 1e9, since: () => since,
  });
  rt.start();
  FakeWS.all[0].open();
  eq(FakeWS.all[0].sent[0], { type: 'auth', token: 'tok', since: { c1: 5, c2: 0 } }, 'auth with since');
  rt.stop();
  since = {};
  rt.start();
  FakeWS.all[FakeWS.all.length - 1].open();
  eq(FakeWS.all[FakeWS.all.length - 1].sent[0], { type: 'auth', token: 'tok' }, 'nothing held: no since');
  rt.stop();
});

test('authenticates first, then goes online', async () => {
  const { rt, events } = client();
  rt.start();
  const ws = FakeWS.all[0];
  eq(ws.url, 'ws://test/api/v1/ws', 'url');
  eq(ws.sent.length, 0, 'nothing sent before open');
  ws.open();
  eq(ws.sent[0], { type: 'auth', token: 'tok' }, 'first frame');
  eq(rt.state, 'authenticating', 'state after open');
  ws.push({ type: 'ready', user: { id: 'u1' }, limits: {}, conversations: [] });
  eq(rt.state, 'online', 'state after ready');
  eq(events.filter((e) => e.type === 'state').map((e) => e.state), ['connecting', 'authenticating', 'online'], 'state sequence');
  assert(events.some((e) => e.type === 'ready'), 'ready event');
});

test('queues while offline, persists, sends on ready and clears on ack', async () => {
  const { rt, storage, events } = client();
  rt.start();
  const e = rt.send('c1', 'hello', 0);
  assert(e.client_msg_id.length >= 16, 'client_msg_id generated');
  eq(JSON.parse(storage.getItem('outbox')).map((x) => x.client_msg_id), [e.client_msg_id], 'persisted before any network');
  const { ws } = connect(rt);
  await flush();
  const sends = ws.ofType('send');
  eq(sends.length, 1, 'one send');
  eq([sends[0].conversation_id, sends[0].client_msg_id, sends[0].body], ['c1', e.client_msg_id, 'hello'], 'send frame');
  assert(sends[0].ref, 'send carries a ref');
  ack(ws, sends[0], 1);
  await flush();
  eq(rt.outbox.length, 0, 'outbox empty after ack');
  eq(JSON.parse(storage.getItem('outbox')), [], 'storage empty after ack');
  const acks = events.filter((x) => x.type === 'ack');
  eq(acks.length, 1, 'one ack event');
  eq(acks[0].message.seq, 1, 'ack carries the stored message');
});

test('a lost ack is resent with the same client_msg_id after reconnect', async () => {
  const { rt, clock, events } = client();
  rt.start();
  let { ws } = connect(rt);
  rt.send('c1', 'once only', 0);
  await flush();
  const first = ws.ofType('send')[0];
  ws.drop(1006); // the ack never arrives
  await flush();
  eq(rt.state, 'offline', 'offline after drop');
  eq(rt.outbox.length, 1, 'still queued');
  clock.tick(60000);
  ({ ws } = connect(rt));
  await flush();
  const again = ws.ofType('send');
  eq(again.length, 1, 'resent once on the new socket');
  eq(again[0].client_msg_id, first.client_msg_id, 'same client_msg_id');
  ack(ws, again[0], 7);
  await flush();
  eq(rt.outbox.length, 0, 'cleared');
  eq(events.filter((x) => x.type === 'ack').length, 1, 'exactly one ack event');
});

test('sends one at a time, in order', async () => {
  const { rt } = client();
  rt.start();
  const { ws } = connect(rt);
  rt.send('c1', 'one', 0);
  rt.send('c1', 'two', 0);
  rt.send('c2', 'three', 5);
  await flush();
  eq(ws.ofType('send').map((f) => f.body), ['one'], 'only the first in flight');
  ack(ws, ws.ofType('send')[0], 1);
  await flush();
  eq(ws.ofType('send').map((f) => f.body), ['one', 'two'], 'second after first ack');
  ack(ws, ws.ofType('send')[1], 2);
  await flush();
  const third = ws.ofType('send')[2];
  eq([third.body, third.reply_to, third.conversation_id], ['three', 5, 'c2'], 'third with reply_to');
});

test('reconnects with exponential backoff and full jitter, reset on ready', async () => {
  const clock = new Clock();
  const { rt } = client({ clock, random: () => 0.999 });
  rt.start();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    FakeWS.all[FakeWS.all.length - 1].drop(1006);
    delays.push(clock.delays[clock.delays.length - 1]);
    clock.tick(clock.delays[clock.delays.length - 1]);
  }
  eq(delays.map((d) => Math.round(d / 100) * 100), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000], 'capped exponential ceiling');
  connect(rt);
  FakeWS.all[FakeWS.all.length - 1].drop(1006);
  eq(Math.round(clock.delays[clock.delays.length - 1] / 100) * 100, 500, 'attempts reset after ready');
  const low = client({ random: () => 0 });
  low.rt.start();
  FakeWS.all[0].drop(1006);
  eq(low.clock.delays[low.clock.delays.length - 1], 250, 'never below the floor');
});

test('close 4401 stops reconnecting and reports unauthenticated', async () => {
  const { rt, clock, events } = client();
  rt.start();
  FakeWS.all[0].open();
  FakeWS.all[0].push({ type: 'error', error: { code: 'unauthenticated', message: 'bad token' } });
  FakeWS.all[0].drop(4401);
  clock.tick(120000);
  eq(FakeWS.all.length, 1, 'no reconnect');
  assert(events.some((e) => e.type === 'unauthenticated'), 'unauthenticated event');
  eq(rt.state, 'idle', 'idle');
});

test('permanent refusals leave the outbox, rate limits retry with the same id', async () => {
  const { rt, clock, events } = client();
  rt.start();
  const { ws } = connect(rt);
  rt.send('c1', 'x'.repeat(10), 0);
  rt.send('c1', 'later', 0);
  await flush();
  const f1 = ws.ofType('send')[0];
  ws.push({ type: 'error', ref: f1.ref, error: { code: 'too_large', message: 'body too long' } });
  await flush();
  const errs = events.filter((e) => e.type === 'send_error');
  eq(errs.length, 1, 'one send_error');
  eq(errs[0].error.code, 'too_large', 'error code');
  const f2 = ws.ofType('send')[1];
  eq(f2.body, 'later', 'next entry proceeds');
  ws.push({ type: 'error', ref: f2.ref, error: { code: 'rate_limited', message: 'slow down', retry_after: 2 } });
  await flush();
  eq(ws.ofType('send').length, 2, 'waits before retrying');
  clock.tick(2000);
  await flush();
  const f3 = ws.ofType('send')[2];
  eq(f3.client_msg_id, f2.client_msg_id, 'retry keeps client_msg_id');
  ack(ws, f3, 3);
  await flush();
  eq(rt.outbox.length, 0, 'outbox drained');
});

test('an outbox survives a reload and is sent by the next client', async () => {
  const storage = new MemStorage();
  const a = client({ storage });
  a.rt.start();
  const e = a.rt.send('c9', 'typed offline', 0);
  a.rt.stop();
  const b = client({ storage });
  eq(b.rt.outbox.map((x) => x.client_msg_id), [e.client_msg_id], 'reloaded outbox');
  b.rt.start();
  const { ws } = connect(b.rt);
  await flush();
  eq(ws.ofType('send')[0].client_msg_id, e.client_msg_id, 'sent with the original id');
  storage.setItem('outbox', '{not json');
  eq(client({ storage }).rt.outbox, [], 'corrupt storage is ignored');
});

test('re-emits events, ignores garbage, answers requests by ref', async () => {
  const { rt, events } = client();
  rt.start();
  const { ws } = connect(rt);
  ws.push('not json');
  ws.push('42');
  ws.push({ type: 'message', message: { conversation_id: 'c1', seq: 3 } });
  ws.push({ type: 'ok' });
  const frames = events.filter((e) => e.type === 'frame').map((e) => e.frame.type);
  eq(frames, ['message', 'ok'], 'frames re-emitted');
  const p = rt.request({ type: 'sync' });
  const req = ws.last();
  eq(req.type, 'sync', 'request sent');
  ws.push({ type: 'sync', ref: 'nope', conversations: [] });
  ws.push({ type: 'ok', ref: req.ref });
  const ans = await p;
  eq(ans.ref, req.ref, 'settled by ref');
  rt.typing('c1');
  rt.markRead('c1', 9);
  rt.markDelivered('c1', 9);
  rt.subscribePresence(['u2', 'u3']);
  eq(ws.sent.slice(-4).map((f) => f.type), ['typing', 'read', 'delivered', 'presence_subscribe'], 'fire-and-forget frames');
  eq(ws.sent[ws.sent.length - 3], { type: 'read', conversation_id: 'c1', seq: 9 }, 'read frame');
});

test('presence subscriptions are renewed after a reconnect', async () => {
  const { rt, clock } = client();
  rt.start();
  let { ws } = connect(rt);
  rt.subscribePresence(['u2']);
  ws.drop(1006);
  clock.tick(60000);
  ({ ws } = connect(rt));
  eq(ws.ofType('presence_subscribe').map((f) => f.user_ids), [['u2']], 'resubscribed');
});

test('messages with attachments go over the socket with attachment_ids, resent with the same client_msg_id after a drop', async () => {
  const { rt, clock } = client();
  const acks = [];
  rt.addEventListener('ack', (e) => acks.push(e.detail.message.seq));
  rt.start();
  let { ws } = connect(rt);
  const e = rt.send('c1', '', 0, [{ id: 'att1', name: 'a.png' }, { id: 'att2', name: 'b.pdf' }]);
  await flush();
  const f = ws.last();
  eq([f.type, f.client_msg_id, f.attachment_ids], ['send', e.client_msg_id, ['att1', 'att2']], 'send frame');
  ws.drop(1006);
  clock.tick(60000);
  ({ ws } = connect(rt));
  await flush();
  const g = ws.last();
  eq([g.type, g.client_msg_id, g.attachment_ids], ['send', e.client_msg_id, ['att1', 'att2']], 'resent with the same id');
  ws.push({ type: 'ack', ref: g.ref, created: true, message: { conversation_id: 'c1', seq: 4, client_msg_id: e.client_msg_id } });
  await flush();
  eq(acks, [4], 'acked once');
  eq(rt.outbox.length, 0, 'outbox empty');
});

test('an encrypted message goes with its envelope and an empty body, the plaintext never in the frame or the outbox', async () => {
  const { rt } = client();
  rt.start();
  const { ws } = connect(rt);
  const env = { v: 1, sender_device: 'd1', recipients: [{ device: 'd2', type: 'msg', header: 'AAAA', ct: 'BBBB' }] };
  const e = rt.send('c1', 'top secret', 0, undefined, { e2ee: env });
  await flush();
  const f = ws.last();
  eq([f.type, f.body, f.e2ee, f.client_msg_id], ['send', '', env, e.client_msg_id], 'send frame');
  assert(!JSON.stringify(rt.outbox).includes('top secret'), 'outbox holds no plaintext');
  assert(!JSON.stringify(ws.sent).includes('top secret'), 'no frame holds the plaintext');
});

run();
