// chat.js — the open conversation: header, message log with infinite scroll
// back, day separators, unread divider, typing line and composer.
import { h, icon, iconButton, replace, reconcile } from '../dom.js';
import { dayKey, dayLabel, ago } from '../format.js';
import { convAvatar, toast, errorText } from './ui.js';
import { messageRow, signature } from './message.js';
import { composer } from './composer.js';
import { keyBanner, openSafetyNumber } from './e2ee.js';

const GROUP_MS = 5 * 60 * 1000;
// FAR: a message more than this many seqs before the loaded ones is reached
// through the context endpoint (store.loadAround), not by paging back.
const FAR = 300;

export function renderChat(ctx, id) {
  const { store } = ctx;
  const subs = [];
  const state = { id, unreadAfter: null, rows: new Map(), atBottom: true, firstRender: true, destroyed: false };
  ctx.chat = state;

  const head = h('header', { class: 'chat-head' });
  const list = h('ol', { class: 'msg-list' });
  const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  const loadingOlder = h('div', { class: 'loading-older', hidden: true }, 'Loading earlier messages…');
  const beginning = h('div', { class: 'beginning', hidden: true });
  const loadingNewer = h('div', { class: 'loading-older', hidden: true }, 'Loading later messages…');
  const bottomSentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  const scroller = h('div', { class: 'msg-scroll', role: 'log', 'aria-label': 'Messages', tabindex: '0', 'aria-live': 'polite', 'aria-relevant': 'additions' },
    sentinel, beginning, loadingOlder, list, loadingNewer, bottomSentinel);
  const jumpUnread = h('button', { type: 'button', class: 'pill jump-unread', hidden: true, onclick: () => jumpToUnread() }, icon('down', 'up'), 'Jump to first unread');
  const jumpBottom = h('button', { type: 'button', class: 'pill jump-bottom', hidden: true, 'aria-label': 'Jump to latest messages', onclick: () => toLatest() }, icon('down'), h('span', {}, 'Latest'));
  const typing = h('div', { class: 'typing-line', 'aria-live': 'polite' });
  const comp = composer(ctx, id, { onSent: () => scrollBottom(true) });
  const banner = h('div', { class: 'e2ee-banner-slot' });
  const root = h('section', { class: 'chat', 'aria-label': 'Conversation' }, head, banner,
    h('div', { class: 'msg-area' }, scroller, jumpUnread, jumpBottom), typing, comp.el);

  const conv = () => store.convs.get(id);

  function renderHead() {
    const c = conv();
    if (!c) { replace(head, h('h1', { class: 'chat-title' }, 'Loading…')); return; }
    let sub = '';
    if (c.kind === 'direct') {
      const p = store.peerOf(c);
      const pr = p && store.presence.get(p.id);
      sub = pr?.online ? 'online' : pr?.last_seen_at ? 'last seen ' + ago(pr.last_seen_at) : (p?.status_text || (p?.username ? '@' + p.username : ''));
    } else {
      const n = c.member_count || c.members?.size || 0;
      sub = [c.kind === 'channel' ? (c.public === false ? 'Private channel' : 'Public channel') : 'Group', n ? `${n} member${n === 1 ? '' : 's'}` : '', c.topic].filter(Boolean).join(' · ');
    }
    const sig = JSON.stringify([store.title(c), sub, c.encrypted, c.muted, c.kind, store.peerOf(c)?.id, store.presence.get(store.peerOf(c)?.id)?.online]);
    if (sig === state.headSig) return;
    state.headSig = sig;
    const refocus = head.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const act = (el, name) => { el.dataset.action = name; return el; };
    replace(head,
      act(iconButton('back', 'Back to conversations', () => ctx.nav('/'), 'back-btn'), 'back'),
      convAvatar(store, c),
      h('div', { class: 'chat-head-text' }, h('h1', { class: 'chat-title' },
        c.encrypted ? h('span', { class: 'e2ee-lock', role: 'img', 'aria-label': 'End-to-end encrypted', title: 'End-to-end encrypted' }, icon('lock', 'title-icon')) : null,
        store.title(c)), h('div', { class: 'chat-sub' }, sub)),
      h('div', { class: 'chat-actions' },
        c.encrypted && c.kind === 'direct' && store.peerOf(c) ? act(iconButton('lock', 'Safety number', () => openSafetyNumber(ctx, conv()), 'safety-btn'), 'safety') : null,
        c.kind === 'direct' && store.peerOf(c) ? act(iconButton('phone', 'Audio call', () => ctx.calls.start(conv(), false), 'call-audio'), 'call-audio') : null,
        c.kind === 'direct' && store.peerOf(c) ? act(iconButton('video', 'Video call', () => ctx.calls.start(conv(), true), 'call-video'), 'call-video') : null,
        act(iconButton(c.muted ? 'bellOff' : 'bell', c.muted ? 'Unmute notifications' : 'Mute notifications', () => ctx.toggleMute(conv()), c.muted ? 'on' : ''), 'mute'),
        c.kind !== 'direct' ? act(iconButton('users', 'Members', () => ctx.openMembers(id)), 'members') : null,
        c.kind !== 'direct' ? act(h('button', { type: 'button', class: 'icon-btn danger labelled', 'aria-label': 'Leave conversation', title: 'Leave conversation', onclick: () => ctx.leave(conv()) },
          icon('exit'), h('span', { class: 'btn-label', 'aria-hidden': 'true' }, 'Leave')), 'leave') : null));
    if (refocus) head.querySelector(`[data-action="${refocus}"]`)?.focus();
  }

  function items() {
    const c = conv();
    const w = store.win(id);
    const out = [];
    let prev = null;
    let lastDay = null;
    const me = store.me.id;
    let lastMine = 0;
    for (const s of w.seqs) { const m = w.bySeq.get(s); if (m.sender_id === me && m.kind !== 'system') lastMine = s; }
    const lastSeq = w.seqs[w.seqs.length - 1];
    // The divider goes before the first unread message from someone else,
    // after system lines such as "Conversation started".
    const sepAt = state.unreadAfter == null ? null : w.seqs.find((s) => {
      const m = s >= state.unreadFirst && w.bySeq.get(s);
      return m && m.sender_id !== me && m.kind !== 'system';
    });
    for (const seq of w.seqs) {
      const m = w.bySeq.get(seq);
      const dk = dayKey(m.created_at);
      if (dk !== lastDay) {
        out.push({ key: 'd' + dk, sig: dayLabel(m.created_at), build: () => h('li', { class: 'day-sep', role: 'separator' }, h('span', {}, dayLabel(m.created_at))) });
        lastDay = dk;
        prev = null;
      }
      if (seq === sepAt) {
        out.push({ key: 'unread', sig: 'u', build: () => h('li', { class: 'unread-sep', id: 'unread-sep', role: 'separator' }, h('span', {}, 'New messages')) });
        prev = null;
      }
      const cont = !!(prev && prev.sender_id === m.sender_id && prev.kind !== 'system' && m.kind !== 'system' && !m.reply_to &&
        new Date(m.created_at) - new Date(prev.created_at) < GROUP_MS);
      const mine = m.sender_id === me;
      const o = { cont, last: seq === lastSeq };
      if (mine && c) o.tick = store.receiptState(c, seq);
      if (mine && c && c.kind !== 'direct' && seq === lastMine) o.seen = store.seenBy(c, seq);
      out.push({ key: 'm' + seq, sig: signature(ctx, c, m, o), build: () => messageRow(ctx, c, m, o) });
      prev = m;
    }
    for (const e of ctx.rt.pending(id)) {
      const body = e.e2ee ? (ctx.e2ee?.plain.get('cmid:' + e.client_msg_id)?.body ?? '') : e.body;
      const m = { client_msg_id: e.client_msg_id, conversation_id: id, sender_id: me, body, reply_to: e.reply_to, created_at: e.queued_at, kind: 'user', attachments: e.attachments };
      if (w.seqs.length && [...w.bySeq.values()].some((x) => x.client_msg_id === e.client_msg_id && x.sender_id === me)) continue;
      const o = { cont: false, status: 'pending' };
      out.push({ key: 'p' + e.client_msg_id, sig: 'p', build: () => messageRow(ctx, c, m, o) });
    }
    for (const [cid, f] of ctx.failed) {
      if (f.entry.conversation_id !== id) continue;
      const m = { client_msg_id: cid, conversation_id: id, sender_id: me, body: f.entry.body, created_at: f.entry.queued_at, kind: 'user' };
      out.push({ key: 'f' + cid, sig: 'f', build: () => messageRow(ctx, c, m, { status: 'failed', error: f.error.message }) });
    }
    return out;
  }

  // renderList reconciles the log with items(): rows whose signature is
  // unchanged are kept (with their focus and hover state).
  function renderList() {
    if (state.destroyed || !conv()) return;
    const w = store.win(id);
    const wasBottom = isAtBottom();
    const beforeH = scroller.scrollHeight;
    const beforeTop = scroller.scrollTop;
    const firstKey = list.firstElementChild?.dataset.key;
    state.rows = reconcile(list, items(), state.rows);
    if (state.toolsSeq) document.getElementById('m-' + state.toolsSeq)?.classList.add('tools-open');
    beginning.hidden = !w.complete;
    replace(beginning, w.complete ? beginningText() : '');
    // Keep the view steady: stick to the bottom, or keep the old first row in
    // place when older messages were prepended.
    if (state.firstRender && w.loaded) {
      state.firstRender = false;
      const sep = document.getElementById('unread-sep');
      if (sep) sep.scrollIntoView({ block: 'center' }); else scrollBottom();
    } else if (wasBottom && !w.detached) scrollBottom();
    else if (firstKey && list.firstElementChild?.dataset.key !== firstKey) scroller.scrollTop = beforeTop + (scroller.scrollHeight - beforeH);
    updateJumps();
    ctx.maybeMarkRead();
  }

  function beginningText() {
    const c = conv();
    return [h('div', { class: 'beginning-title' }, store.title(c)),
      h('div', { class: 'muted' }, c.kind === 'direct' ? 'This is the beginning of your direct conversation.' : 'This is the very beginning of the conversation.')];
  }

  function isAtBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
  // toLatest scrolls to the newest message; a detached window (a jump far
  // back) is dropped for the latest page first.
  async function toLatest() {
    if (store.win(id).detached) {
      try { await store.reattach(id); } catch (e) { toast(errorText(e), 'error'); return; }
      await new Promise((r) => requestAnimationFrame(r));
    }
    scrollBottom(true);
    updateJumps();
  }
  function scrollBottom(smooth) {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth ? 'smooth' : 'instant' });
    state.atBottom = true;
  }
  function updateJumps() {
    const c = conv();
    state.atBottom = isAtBottom();
    jumpBottom.hidden = state.atBottom && !store.win(id).detached;
    const w = store.win(id);
    jumpUnread.hidden = !(state.unreadAfter != null && w.seqs.length && (state.unreadFirst < w.seqs[0] || !isVisible(document.getElementById('unread-sep'))) && c && state.unreadFirst <= (c.last_seq || 0) && !state.unreadSeen);
  }
  function isVisible(el) {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    const s = scroller.getBoundingClientRect();
    if (r.bottom >= s.top && r.top <= s.bottom) { state.unreadSeen = true; return true; }
    return false;
  }

  async function jumpToUnread() {
    const w = store.win(id);
    try {
      while (state.unreadFirst < (w.seqs[0] ?? 0) && !w.complete) await store.loadOlder(id, 100);
    } catch (e) { toast(errorText(e), 'error'); }
    await new Promise((r) => requestAnimationFrame(r));
    document.getElementById('unread-sep')?.scrollIntoView({ block: 'center', behavior: 'smooth' });
    state.unreadSeen = true;
    jumpUnread.hidden = true;
  }

  // jumpTo scrolls to message seq: pages back to it when it is near the
  // loaded messages, else loads the messages around it (a detached window).
  state.jumpTo = async (seq) => {
    const w = store.win(id);
    try {
      if (!w.bySeq.has(seq) && (!w.loaded || (w.seqs[0] ?? 0) - seq > FAR)) await store.loadAround(id, seq);
      const w2 = store.win(id);
      while (seq < (w2.seqs[0] ?? 0) && !w2.complete) await store.loadOlder(id, 100);
    } catch { /* shown below if missing */ }
    await new Promise((r) => requestAnimationFrame(r));
    const el = document.getElementById('m-' + seq);
    if (el) {
      el.scrollIntoView({ block: 'center', behavior: 'smooth' });
      el.classList.add('flash');
      setTimeout(() => el.classList.remove('flash'), 1600);
      el.focus({ preventScroll: true });
    }
  };
  state.isAtBottom = () => isAtBottom();
  state.composer = comp;

  function renderTyping() {
    const ids = store.typers(id);
    if (!ids.length) { replace(typing); typing.classList.remove('on'); return; }
    typing.classList.add('on');
    const names = ids.map((u) => store.displayName(u));
    const text = names.length === 1 ? `${names[0]} is typing` : names.length === 2 ? `${names[0]} and ${names[1]} are typing` : 'Several people are typing';
    replace(typing, h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), text + '…');
  }

  // Infinite scroll back: load the previous page when the top sentinel shows.
  const io = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    const w = store.win(id);
    if (w.complete || w.loadingOlder || !w.loaded) return;
    loadingOlder.hidden = false;
    try { await store.loadOlder(id); } catch (e) { toast(errorText(e), 'error'); }
    loadingOlder.hidden = true;
  }, { root: scroller, rootMargin: '400px 0px 0px 0px' });
  io.observe(sentinel);
  // A detached window pages forward when its end shows.
  const ioNewer = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    const w = store.win(id);
    if (!w.detached || w.loadingNewer) return;
    loadingNewer.hidden = false;
    try { await store.loadNewer(id); } catch (e) { toast(errorText(e), 'error'); }
    loadingNewer.hidden = true;
    updateJumps();
  }, { root: scroller, rootMargin: '0px 0px 400px 0px' });
  ioNewer.observe(bottomSentinel);

  scroller.addEventListener('scroll', () => { updateJumps(); ctx.maybeMarkRead(); }, { passive: true });
  // Arrow keys move between messages inside the log.
  scroller.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    const rows = [...list.querySelectorAll('.msg')];
    const cur = rows.findIndex((r) => r.contains(document.activeElement));
    if (cur === -1 && document.activeElement !== scroller) return;
    e.preventDefault();
    const i = cur === -1 ? (e.key === 'ArrowUp' ? rows.length - 1 : 0) : cur + (e.key === 'ArrowUp' ? -1 : 1);
    rows[Math.max(0, Math.min(rows.length - 1, i))]?.focus();
  });

  // For a finger (the last input), or at phone width, a tap on a
  // message opens its toolbar, one at a time; a tap elsewhere, or on a tool
  // other than the reaction picker, closes it.
  // html[data-input] is the last kind of input: touch, mouse or keyboard.
  const tapTools = () => document.documentElement.dataset.input === 'touch' || matchMedia('(max-width: 760px)').matches;
  const onPointer = (e) => { document.documentElement.dataset.input = e.pointerType === 'touch' ? 'touch' : 'mouse'; };
  const onKey = () => { document.documentElement.dataset.input = 'keyboard'; };
  document.addEventListener('pointerdown', onPointer, { capture: true, passive: true });
  document.addEventListener('keydown', onKey, { capture: true, passive: true });
  function openTools(row) {
    state.toolsSeq = row?.dataset.seq || null;
    for (const r of list.querySelectorAll('.msg.tools-open')) if (r !== row) r.classList.remove('tools-open');
    row?.classList.add('tools-open');
  }
  const onTap = (e) => {
    if (!tapTools() || (!state.toolsSeq && !list.contains(e.target))) return;
    const row = list.contains(e.target) && e.target.closest('.msg');
    if (e.target.closest('.msg-tools')) { if (!e.target.closest('[aria-label="Add reaction"]')) openTools(null); return; }
    if (!row || !row.dataset.seq || e.target.closest('a, button, input, textarea')) { openTools(null); return; }
    openTools(row.classList.contains('tools-open') ? null : row);
  };
  document.addEventListener('click', onTap);

  subs.push(() => document.removeEventListener('click', onTap), () => document.removeEventListener('pointerdown', onPointer, { capture: true }), () => document.removeEventListener('keydown', onKey, { capture: true }), store.on('msgs:' + id, renderList), store.on('outbox', renderList), store.on('users', () => { renderList(); renderHead(); }),
    store.on('conv:' + id, () => { renderHead(); renderList(); }), store.on('presence', renderHead), store.on('typing:' + id, renderTyping),
    store.on('me', renderList), store.on('blocks', renderList), store.on('e2ee', renderBanner), store.on('conv:' + id, renderBanner));
  function renderBanner() { replace(banner, keyBanner(ctx, conv())); }
  renderBanner();
  const ticker = setInterval(renderTyping, 2000);

  // Load: conversation, members (for receipts, mentions, names), messages.
  // state.opened settles (never rejects) when the first load is over.
  state.opened = (async () => {
    try {
      let c = conv();
      // Opened from its URL before the list arrived: GET /conversations/{id}
      // returns the same entry as the list (read position, unread count).
      if (!c) c = await store.loadConversation(id);
      if ((c.last_seq || 0) > (c.read_seq || 0) && (c.unread || 0) > 0) {
        state.unreadAfter = c.read_seq || 0;
        state.unreadFirst = state.unreadAfter + 1;
      }
      renderHead();
      const w = store.win(id);
      await Promise.all([
        w.loaded ? store.catchUp(id) : store.loadLatest(id),
        store.loadMembers(id).catch(() => {}),
      ]);
      const seqs = store.win(id).seqs;
      const firstUnreadMsg = state.unreadFirst && seqs[0] <= state.unreadFirst && seqs.find((s) => {
        const m = s >= state.unreadFirst && store.message(id, s);
        return m && m.sender_id !== store.me.id && m.kind !== 'system';
      });
      if (firstUnreadMsg) state.unreadFirst = firstUnreadMsg;
      ctx.subscribePresence(c);
      renderList();
    } catch (e) {
      if (e.code === 'not_found' || e.code === 'forbidden') {
        replace(list, h('li', { class: 'empty-chat' }, 'This conversation does not exist or you are not a member.'));
      } else toast(errorText(e), 'error');
    }
  })();

  renderHead();
  renderList();
  renderTyping();

  return {
    el: root,
    destroy() {
      state.destroyed = true;
      io.disconnect();
      ioNewer.disconnect();
      clearInterval(ticker);
      for (const u of subs) u();
      comp.destroy();
      if (ctx.chat === state) ctx.chat = null;
    },
  };
}
