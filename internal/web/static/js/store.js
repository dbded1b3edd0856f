// store.js — the client's state: the signed-in user, known users, conversations,
// loaded message windows, members with receipts, presence and typing. It merges
// REST pages and real-time frames idempotently: a message is keyed by
// (conversation, seq), so a frame seen twice or a page overlapping a frame
// never duplicates anything. Views subscribe to topics and re-render.
import { list } from './api.js';

const TYPING_TTL = 6000;

export class Store {
  constructor(api) {
    this.api = api;
    this.me = null;
    this.users = new Map(); // id → user
    this.byName = new Map(); // username → user
    this.presence = new Map(); // user id → {online, last_seen_at}
    this.convs = new Map(); // id → conversation
    this.msgs = new Map(); // conversation id → window
    this.typing = new Map(); // conversation id → Map(user id → expiry ms)
    this.conn = { state: 'idle' };
    this.openId = null;
    this.subs = new Map();
    this.pendingTopics = new Set();
    this.mutedLocal = new Set(JSON.parse(localStorage.getItem('parley.muted') || '[]'));
    this.blocked = new Set(); // user ids the signed-in user blocks (their messages collapse)
    this.revealed = new Set(); // "conversation:seq" of collapsed messages shown anyway
    // transform(m) maps every message before it is stored: the E2EE service
    // (js/e2ee/client.js) puts a decrypted body, or a placeholder, in place.
    this.transform = null;
  }

  // loadBlocks reads the block list (GET /blocks) and re-renders messages.
  async loadBlocks() {
    const r = await this.api.req('GET', '/blocks');
    this.blocked = new Set(list(r, 'blocks').map((b) => b.user_id));
    this.emit('blocks', 'contacts');
  }

  // on subscribes fn to topic; returns the unsubscribe function.
  on(topic, fn) {
    if (!this.subs.has(topic)) this.subs.set(topic, new Set());
    this.subs.get(topic).add(fn);
    return () => this.subs.get(topic)?.delete(fn);
  }

  // emit coalesces notifications into one per topic per animation frame.
  emit(...topics) {
    for (const t of topics) this.pendingTopics.add(t);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const ts = [...this.pendingTopics];
      this.pendingTopics.clear();
      for (const t of ts) for (const fn of this.subs.get(t) || []) {
        try { fn(); } catch (e) { console.error(e); }
      }
    });
  }

  // Users ---------------------------------------------------------------

  addUser(u) {
    if (!u?.id) return u;
    const old = this.users.get(u.id);
    const merged = old ? { ...old, ...u } : u;
    this.users.set(u.id, merged);
    if (merged.username) this.byName.set(merged.username.toLowerCase(), merged);
    if (u.presence) this.setPresence(u.id, u.presence);
    return merged;
  }

  user(id) { return this.users.get(id); }

  displayName(id) {
    if (this.me && id === this.me.id) return this.me.display_name || this.me.username;
    const u = this.users.get(id);
    return u ? (u.display_name || u.username) : 'Unknown user';
  }

  setMe(u) {
    this.me = this.addUser(u);
    this.emit('me');
  }

  // ensureUsers fetches users not yet known (best effort).
  async ensureUsers(ids) {
    const missing = [...new Set(ids)].filter((id) => id && !this.users.has(id));
    // One batch lookup per 100 ids (GET /users?ids=…); unknown stay unknown.
    const chunks = [];
    for (let i = 0; i < missing.length && i < 500; i += 100) chunks.push(missing.slice(i, i + 100));
    await Promise.all(chunks.map(async (ids) => {
      try { for (const u of await this.api.users(ids)) this.addUser(u); } catch { /* best effort */ }
    }));
    if (missing.length) this.emit('users');
  }

  // watchPresence asks (once, batched per task) for the presence of user id
  // through onWatchPresence(ids). The server answers only for people who
  // share a conversation; unanswered ids are asked again after a new
  // conversation or member appears (forgetUnansweredPresence).
  watchPresence(id) {
    this.presenceAsked = this.presenceAsked || new Set();
    if (!id || id === this.me?.id || this.presenceAsked.has(id) || this.presenceAsked.size >= 450) return;
    this.presenceAsked.add(id);
    (this.presenceWanted = this.presenceWanted || new Set()).add(id);
    if (this.presenceFlush) return;
    this.presenceFlush = true;
    queueMicrotask(() => {
      this.presenceFlush = false;
      const ids = [...this.presenceWanted];
      this.presenceWanted.clear();
      if (ids.length) this.onWatchPresence?.(ids);
    });
  }

  forgetUnansweredPresence() {
    for (const id of this.presenceAsked || []) if (!this.presence.has(id)) this.presenceAsked.delete(id);
  }

  setPresence(id, p) {
    const online = p.online ?? (p.status === 'online');
    this.presence.set(id, { online, last_seen_at: p.last_seen_at });
    this.emit('presence');
  }

  // Conversations --------------------------------------------------------

  normConv(x) {
    const c = { ...(x.conversation || {}), ...x };
    delete c.conversation;
    const m = x.self || x.member || x.membership;
    if (m) {
      c.read_seq = m.read_seq ?? c.read_seq;
      c.delivered_seq = m.delivered_seq ?? c.delivered_seq;
      c.muted = m.muted ?? c.muted;
      c.role = m.role ?? c.role;
    }
    const unread = x.unread_count ?? x.unread;
    if (unread !== undefined) c.unread = unread; else delete c.unread;
    if (c.last_message) this.#noteUsers([c.last_message.sender_id]);
    for (const mm of list(x.members ?? [], 'members')) this.#addMember(c, mm);
    if (x.other_user) this.addUser(x.other_user);
    if (x.peer) this.addUser(x.peer);
    return c;
  }

  upsertConv(x) {
    const n = this.normConv(x);
    const old = this.convs.get(n.id);
    // A list or GET answer may have been read before messages that already
    // reached us as events: never let it move the conversation back.
    if (old && (old.last_message?.seq || 0) > (n.last_message?.seq ?? n.last_seq ?? 0)) {
      const since = n.last_message?.seq ?? n.last_seq ?? 0;
      const w = this.msgs.get(n.id);
      let extra = 0;
      for (const [seq, m] of w?.bySeq || []) {
        if (seq > since && m.sender_id !== this.me?.id && m.kind !== 'system' && seq > (old.read_seq || 0)) extra++;
      }
      if (n.unread !== undefined) n.unread += extra;
      n.last_message = old.last_message;
      n.last_seq = Math.max(n.last_seq || 0, old.last_seq || 0);
      n.last_activity_at = old.last_activity_at;
    }
    if (old && n.read_seq !== undefined) n.read_seq = Math.max(n.read_seq, old.read_seq || 0);
    if (!old) this.forgetUnansweredPresence();
    const c = old ? { ...old, ...n, members: old.members || n.members } : n;
    if (old && n.members) c.members = n.members;
    c.unread = c.unread ?? 0;
    c.read_seq = c.read_seq ?? 0;
    if (this.mutedLocal.has(c.id)) c.muted = true;
    this.convs.set(c.id, c);
    this.emit('convs', 'conv:' + c.id);
    return c;
  }

  #addMember(c, m) {
    if (!m) return;
    const uid = m.user_id || m.user?.id;
    if (m.user) this.addUser(m.user);
    if (!uid) return;
    c.members = c.members || new Map();
    const old = c.members.get(uid) || {};
    c.members.set(uid, { ...old, ...m, user_id: uid });
    if (this.me && uid === this.me.id) {
      c.role = m.role ?? c.role;
    }
  }

  #noteUsers(ids) { this.needUsers = [...(this.needUsers || []), ...ids]; }

  async loadConversations() {
    const all = [];
    let cursor;
    for (let i = 0; i < 20; i++) {
      const r = await this.api.conversations(cursor);
      all.push(...list(r, 'conversations'));
      cursor = r?.next_cursor || r?.cursor;
      if (!cursor) break;
    }
    const seen = new Set();
    for (const x of all) seen.add(this.upsertConv(x).id);
    for (const id of [...this.convs.keys()]) if (!seen.has(id)) this.convs.delete(id);
    this.emit('convs');
    // Direct chats need the other member to have a name and a presence dot.
    const need = [...this.convs.values()].filter((c) => c.kind === 'direct' && !this.peerOf(c));
    // Their members first, then every unknown user in one batch lookup.
    const peers = await Promise.all(need.slice(0, 40).map((c) => this.loadMembers(c.id, false).catch(() => [])));
    const ids = [...(this.needUsers || []), ...peers.flat().map((m) => m.user_id || m.user?.id)];
    this.needUsers = null;
    await this.ensureUsers(ids);
    return [...this.convs.values()];
  }

  async loadConversation(id) {
    const c = await this.api.conversation(id);
    return this.upsertConv(c);
  }

  // loadMembers reads a conversation's members and (unless withUsers is
  // false) the users not yet known.
  async loadMembers(id, withUsers = true) {
    const ms = await this.api.members(id);
    const c = this.convs.get(id);
    if (!c) return ms;
    c.members = new Map();
    for (const m of ms) this.#addMember(c, m);
    c.member_count = ms.length || c.member_count;
    if (withUsers) await this.ensureUsers(ms.map((m) => m.user_id || m.user?.id));
    this.emit('convs', 'conv:' + id, 'msgs:' + id);
    return ms;
  }

  // peerOf returns the other user of a direct chat, when known.
  peerOf(c) {
    if (!c?.members || !this.me) return null;
    for (const uid of c.members.keys()) if (uid !== this.me.id) return this.users.get(uid) || { id: uid };
    return null;
  }

  title(c) {
    if (!c) return '';
    if (c.kind === 'direct') {
      const p = this.peerOf(c);
      return p ? this.displayName(p.id) : (c.title || 'Direct chat');
    }
    return c.title || 'Untitled';
  }

  sortedConvs() {
    const at = (c) => new Date(c.last_message?.created_at || c.last_activity_at || c.updated_at || c.created_at || 0).getTime();
    return [...this.convs.values()].sort((a, b) => (b.pinned ? 1 : 0) - (a.pinned ? 1 : 0) || at(b) - at(a));
  }

  removeConv(id) {
    this.convs.delete(id);
    this.msgs.delete(id);
    this.emit('convs', 'conv:' + id);
  }

  setMuted(id, muted) {
    const c = this.convs.get(id);
    if (muted) this.mutedLocal.add(id); else this.mutedLocal.delete(id);
    localStorage.setItem('parley.muted', JSON.stringify([...this.mutedLocal]));
    if (c) { c.muted = muted; this.emit('convs', 'conv:' + id); }
  }

  // Messages --------------------------------------------------------------

  win(id) {
    let w = this.msgs.get(id);
    if (!w) {
      w = { bySeq: new Map(), seqs: [], complete: false, loaded: false };
      this.msgs.set(id, w);
    }
    return w;
  }

  // addMessages merges messages into their windows; returns the new ones.
  addMessages(ms) {
    const fresh = [];
    const touched = new Set();
    for (let m of ms) {
      if (!m || !m.conversation_id || !m.seq) continue;
      if (this.transform && m.e2ee) m = this.transform(m);
      const w = this.win(m.conversation_id);
      const old = w.bySeq.get(m.seq);
      if (old && !isNewer(m, old)) continue;
      // A detached window (loadAround) keeps its block gap-free: messages
      // past its end wait for loadNewer or a reattach.
      const past = w.detached && w.seqs.length && m.seq > w.seqs[w.seqs.length - 1];
      if (!past) {
        if (!old) {
          fresh.push(m);
          insertSorted(w.seqs, m.seq);
        }
        w.bySeq.set(m.seq, m);
      }
      touched.add(m.conversation_id);
      const c = this.convs.get(m.conversation_id);
      if (c && (!c.last_message || m.seq >= c.last_message.seq)) {
        c.last_message = m;
        c.last_seq = Math.max(c.last_seq || 0, m.seq);
        c.last_activity_at = m.created_at;
      }
      this.#noteUsers([m.sender_id, ...(m.system ? [m.system.actor_id, ...(m.system.user_ids || [])] : [])]);
    }
    for (const id of touched) this.emit('msgs:' + id, 'convs', 'conv:' + id);
    if (this.needUsers) { const ids = this.needUsers; this.needUsers = null; this.ensureUsers(ids); }
    return fresh;
  }

  // loadLatest fetches the newest page of a conversation.
  async loadLatest(id, limit = 50) {
    const w = this.win(id);
    const ms = await this.api.messages(id, { limit });
    this.addMessages(ms);
    w.loaded = true;
    if (ms.length < limit) w.complete = true;
    this.emit('msgs:' + id);
    return ms;
  }

  // loadOlder fetches the page before the oldest loaded message.
  async loadOlder(id, limit = 50) {
    const w = this.win(id);
    if (w.complete || w.loadingOlder) return [];
    const oldest = w.seqs[0];
    if (oldest === 1) { w.complete = true; return []; }
    w.loadingOlder = true;
    try {
      const ms = await this.api.messages(id, { before: oldest, limit });
      this.addMessages(ms);
      if (ms.length < limit || w.seqs[0] === 1) w.complete = true;
      this.emit('msgs:' + id);
      return ms;
    } finally { w.loadingOlder = false; }
  }

  // loadAround replaces the window with the messages around seq (the
  // context endpoint) — for a message too far back to page to. The window
  // is detached while newer messages exist past its block: live messages
  // then wait, loadNewer pages forward, reattach goes back to the latest.
  async loadAround(id, seq, limit = 100) {
    const ms = await this.api.messagesAround(id, seq, limit);
    const w = { bySeq: new Map(), seqs: [], complete: false, loaded: true };
    this.msgs.set(id, w);
    this.addMessages(ms);
    w.complete = !ms.length || w.seqs[0] === 1;
    const c = this.convs.get(id);
    w.detached = !!(c && w.seqs.length && w.seqs[w.seqs.length - 1] < (c.last_seq || 0));
    this.emit('msgs:' + id);
    return ms;
  }

  // loadNewer fetches the page after the newest message of a detached
  // window; the window is attached again once nothing newer is left.
  async loadNewer(id, limit = 100) {
    const w = this.win(id);
    if (!w.detached || w.loadingNewer) return [];
    w.loadingNewer = true;
    try {
      const after = w.seqs[w.seqs.length - 1] || 0;
      const ms = await this.api.messages(id, { after, limit });
      w.detached = false;
      this.addMessages(ms);
      const c = this.convs.get(id);
      w.detached = ms.length === limit && (w.seqs[w.seqs.length - 1] || 0) < (c?.last_seq || 0);
      this.emit('msgs:' + id);
      return ms;
    } finally { w.loadingNewer = false; }
  }

  // reattach drops a detached window and loads the latest page.
  async reattach(id) {
    this.msgs.delete(id);
    return this.loadLatest(id);
  }

  // positions is the auth frame's since: for every loaded, attached window,
  // the seq up to which it holds every message (at most 2,000 of them, the
  // server's bound; docs/protocol.md).
  positions() {
    const out = {};
    let n = 0;
    for (const [id, w] of this.msgs) {
      if (!w.loaded || w.detached || !w.seqs.length) continue;
      if (++n > 2000) break;
      out[id] = this.contiguousEnd(id);
    }
    return out;
  }

  // contiguousEnd is the newest seq reachable from the oldest loaded one
  // without a hole (seqs are gap-free on the server, tombstones included).
  contiguousEnd(id) {
    const seqs = this.win(id).seqs;
    for (let i = 0; i + 1 < seqs.length; i++) if (seqs[i + 1] !== seqs[i] + 1) return seqs[i];
    return seqs[seqs.length - 1] || 0;
  }

  // catchUp fetches every message missed after the contiguous part of the
  // window (resync after a reconnect, or a seq that skipped ahead), page by
  // page, until the window has no hole and nothing newer exists.
  async catchUp(id) {
    const w = this.win(id);
    if (!w.loaded) return this.loadLatest(id);
    if (w.detached) return []; // it pages forward itself (loadNewer)
    if (w.catching) { w.catchAgain = true; return []; }
    w.catching = true;
    const got = [];
    try {
      for (let i = 0; i < 100; i++) {
        const after = this.contiguousEnd(id);
        const ms = await this.api.messages(id, { after, limit: 100 });
        got.push(...this.addMessages(ms));
        const whole = this.contiguousEnd(id) === (w.seqs[w.seqs.length - 1] || 0);
        if (ms.length < 100 && whole) {
          if (!w.catchAgain) break;
          w.catchAgain = false;
        }
      }
    } finally { w.catching = false; }
    return got;
  }

  message(id, seq) { return this.msgs.get(id)?.bySeq.get(seq); }

  // systemText renders a system message (membership and conversation
  // changes) from its machine-readable form.
  systemText(m) {
    const s = m.system;
    if (!s) return m.body || 'Conversation updated';
    const who = (id) => (id === this.me?.id ? 'You' : this.displayName(id));
    const names = (ids) => (ids || []).map(who).join(', ');
    const actor = s.actor_id ? who(s.actor_id) : 'Someone';
    const reason = (x) => (x.reason ? ` (${x.reason})` : '');
    const c = this.convs.get(m.conversation_id);
    switch (s.action) {
      case 'created':
        return c?.kind === 'direct' ? 'Conversation started' : `${actor} created ${c?.kind === 'channel' ? 'the channel' : 'the group'}`;
      case 'members_added':
        if ((s.user_ids || []).length === 1 && s.user_ids[0] === s.actor_id) return `${actor} joined`;
        return `${actor} added ${names(s.user_ids)}`;
      case 'member_left': return `${names(s.user_ids)} left`;
      case 'member_removed': return `${actor} removed ${names(s.user_ids)}`;
      case 'role_changed': return `${actor} made ${names(s.user_ids)} ${s.role === 'member' ? 'a member' : 'an ' + s.role}`;
      case 'owner_changed': return `${names(s.user_ids)} is now the owner`;
      case 'member_muted': return `${actor} muted ${names(s.user_ids)}${s.until ? ' until ' + new Date(s.until).toLocaleString() : ''}${reason(s)}`;
      case 'member_unmuted': return `${actor} unmuted ${names(s.user_ids)}${reason(s)}`;
      case 'member_kicked': return `${actor} removed ${names(s.user_ids)}${reason(s)}`;
      case 'member_banned': return `${actor} banned ${names(s.user_ids)}${reason(s)}`;
      case 'member_unbanned': return `${actor} lifted the ban of ${names(s.user_ids)}${reason(s)}`;
      case 'rules_changed': return `${actor} changed the conversation rules`;
      case 'conversation_updated':
        if (s.title != null) return `${actor} renamed the conversation to “${s.title}”`;
        if (s.topic != null) return s.topic ? `${actor} set the topic: ${s.topic}` : `${actor} cleared the topic`;
        return `${actor} updated the conversation`;
      case 'call': {
        const k = s.call || {};
        const out = s.actor_id === this.me?.id;
        const kind = k.video ? 'video call' : 'call';
        const d = Math.round((k.duration_ms || 0) / 1000);
        const dur = `${Math.floor(d / 60)}:${String(d % 60).padStart(2, '0')}`;
        switch (k.outcome) {
          case 'completed':
          case 'dropped': return `${out ? 'Outgoing' : 'Incoming'} ${kind} · ${dur}`;
          case 'declined': return out ? `${who(s.user_ids?.[0])} declined your ${kind}` : `You declined a ${kind}`;
          case 'busy': return out ? `${who(s.user_ids?.[0])} was busy` : `Missed ${kind} (busy)`;
          case 'cancelled': return out ? `Cancelled ${kind}` : `Missed ${kind} from ${actor}`;
          default: return out ? `${who(s.user_ids?.[0])} did not answer your ${kind}` : `Missed ${kind} from ${actor}`;
        }
      }
      default: return m.body || 'Conversation updated';
    }
  }

  // Receipts, typing ------------------------------------------------------

  setReceipt(convId, userId, delivered, read) {
    const c = this.convs.get(convId);
    if (!c) return;
    c.members = c.members || new Map();
    const m = c.members.get(userId) || { user_id: userId };
    if (delivered != null) m.delivered_seq = Math.max(m.delivered_seq || 0, delivered);
    if (read != null) {
      m.read_seq = Math.max(m.read_seq || 0, read);
      m.delivered_seq = Math.max(m.delivered_seq || 0, read);
    }
    c.members.set(userId, m);
    if (this.me && userId === this.me.id && read != null) {
      c.read_seq = Math.max(c.read_seq || 0, read);
      c.unread = this.countUnread(c);
      this.emit('convs');
    }
    this.emit('msgs:' + convId);
  }

  countUnread(c) {
    const w = this.msgs.get(c.id);
    if (!w || !w.loaded) return Math.max(0, (c.last_seq || 0) - (c.read_seq || 0) > 0 ? c.unread : 0);
    let n = 0;
    for (const s of w.seqs) if (s > c.read_seq) {
      const m = w.bySeq.get(s);
      if (m.sender_id !== this.me?.id && m.kind !== 'system') n++;
    }
    return Math.max(n, w.complete || (w.seqs[0] ?? Infinity) <= c.read_seq + 1 ? 0 : c.unread);
  }

  // receiptState of my message seq in c: 'read' | 'delivered' | 'sent'.
  receiptState(c, seq) {
    let delivered = false;
    let readers = 0;
    let others = 0;
    for (const [uid, m] of c.members || []) {
      if (uid === this.me?.id) continue;
      others++;
      if ((m.read_seq || 0) >= seq) readers++;
      if ((m.delivered_seq || 0) >= seq || (m.read_seq || 0) >= seq) delivered = true;
    }
    if (others > 0 && readers === others) return 'read';
    if (readers > 0 && c.kind !== 'direct') return 'read-some';
    return delivered ? 'delivered' : 'sent';
  }

  // seenBy lists the other members whose read_seq reaches seq.
  seenBy(c, seq) {
    const out = [];
    for (const [uid, m] of c.members || []) if (uid !== this.me?.id && (m.read_seq || 0) >= seq) out.push(uid);
    return out;
  }

  setTyping(convId, userId, ttl = TYPING_TTL) {
    if (userId === this.me?.id) return;
    if (!this.typing.has(convId)) this.typing.set(convId, new Map());
    this.typing.get(convId).set(userId, Date.now() + ttl);
    this.emit('typing:' + convId, 'convs');
    setTimeout(() => this.emit('typing:' + convId, 'convs'), ttl + 50);
  }

  clearTyping(convId, userId) {
    if (this.typing.get(convId)?.delete(userId)) this.emit('typing:' + convId, 'convs');
  }

  typers(convId) {
    const t = this.typing.get(convId);
    if (!t) return [];
    const now = Date.now();
    return [...t].filter(([, exp]) => exp > now).map(([id]) => id);
  }
}

function insertSorted(arr, v) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < v) lo = mid + 1; else hi = mid;
  }
  if (arr[lo] !== v) arr.splice(lo, 0, v);
}

// isNewer reports whether m is a later state of the same message than old.
function isNewer(m, old) {
  if (m.deleted && !old.deleted) return true;
  if (!m.deleted && old.deleted) return false;
  const e = (x) => (x.edited_at ? new Date(x.edited_at).getTime() : 0);
  if (e(m) !== e(old)) return e(m) > e(old);
  if (m.e2ee_status !== old.e2ee_status) return m.e2ee_status !== 'pending';
  return JSON.stringify(m.reactions || []) !== JSON.stringify(old.reactions || []) || m.body !== old.body;
}
