// app.js — boot, routing and wiring: the REST client, the real-time client,
// the store and the views. Frames from the socket go through onFrame; every
// (re)connection triggers resync().
import { Api } from './api.js';
import { Realtime } from './realtime.js';
import { Store } from './store.js';
import { h, replace, icon, iconButton } from './dom.js';
import { picker } from './emoji.js';
import { mentionsUser } from './format.js';
import { renderAuth } from './views/auth.js';
import { renderEmailPage } from './views/email.js';
import { renderSidebar } from './views/sidebar.js';
import { renderChat } from './views/chat.js';
import { renderAdmin } from './views/admin.js';
import { renderStats } from './views/analytics.js';
import { renderBots } from './views/bots.js';
import { openNewDirect, openNewGroup, openBrowse, openMembers, openSettings } from './views/dialogs.js';
import { toast, errorText, confirmDialog, announce } from './views/ui.js';
import { ensureEmojiFont } from './emojifont.js';
import { openSearch } from './views/search.js';
import { openContacts } from './views/contacts.js';
import { createCalls } from './views/call.js';
import { reportMessage, OUTCOME } from './views/reports.js';
import { E2EE } from './e2ee/client.js';
import { restorePrompt } from './views/e2ee.js';

const root = document.getElementById('app');
const api = new Api('');
const TOKEN = 'parley.token';

function applyTheme(t) {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
  localStorage.setItem('parley.theme', t || 'system');
}
applyTheme(localStorage.getItem('parley.theme'));

function savedToken() { return localStorage.getItem(TOKEN) || sessionStorage.getItem(TOKEN) || ''; }
function saveToken(t, remember) {
  localStorage.removeItem(TOKEN);
  sessionStorage.removeItem(TOKEN);
  if (t) (remember ? localStorage : sessionStorage).setItem(TOKEN, t);
}

let ctx = null;

function nav(path, replaceState = false) {
  if (location.pathname !== path) history[replaceState ? 'replaceState' : 'pushState']({}, '', path);
  route();
}
window.addEventListener('popstate', () => route());

function route() {
  const p = location.pathname;
  if (!ctx && (p === '/verify-email' || p === '/reset-password')) { renderEmailPage(root, { api, nav }); return; }
  if (!ctx) {
    // Invite and first-admin setup links (/?invite=CODE, /?setup=TOKEN) open the registration form.
    if (p !== '/register' && /[?&](invite|setup)=/.test(location.search)) history.replaceState({}, '', '/register' + location.search);
    if (location.pathname !== '/register') { if (p !== '/login') history.replaceState({}, '', '/login'); renderAuth(root, { mode: 'login', api, onAuthed, nav }); }
    else renderAuth(root, { mode: 'register', api, onAuthed, nav });
    return;
  }
  if (p === '/login' || p === '/register') { history.replaceState({}, '', '/'); }
  if (p === '/admin') { openAdmin(); return; }
  if (p === '/bots') { openPage(renderBots(ctx)); return; }
  const st = /^\/c\/([^/]+)\/stats$/.exec(p);
  if (st) { openPage(renderStats(ctx, decodeURIComponent(st[1]))); return; }
  const m = /^\/c\/([^/]+)$/.exec(location.pathname);
  openChat(m ? decodeURIComponent(m[1]) : null);
  if (p === '/settings') openSettings(ctx);
  if (p === '/browse') openBrowse(ctx);
}

async function onAuthed(token, user, remember) {
  saveToken(token, remember);
  api.token = token;
  const me = user?.id ? user : await api.me();
  start(me, token);
  history.replaceState({}, '', '/');
  route();
}

async function boot() {
  const token = savedToken();
  if (!token) { route(); return; }
  api.token = token;
  try {
    const me = await api.me();
    start(me, token);
  } catch (e) {
    if (e.status === 401) { saveToken(''); api.token = ''; } else {
      replace(root, h('div', { class: 'boot' }, errorText(e), ' ', h('button', { type: 'button', class: 'btn', onclick: () => location.reload() }, 'Retry')));
      return;
    }
  }
  route();
}

function wsURL() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/ws`;
}

function start(me, token) {
  const store = new Store(api);
  store.setMe(me);
  store.onWatchPresence = (ids) => ctx?.rt.subscribePresence(ids);
  if (me.settings?.theme) applyTheme(me.settings.theme);
  const rt = new Realtime({
    url: wsURL(), token, storageKey: 'parley.outbox.' + me.id, since: () => store.positions(),
  });
  ctx = {
    api, store, rt, nav, applyTheme, limits: {},
    drafts: new Map(), failed: new Map(), left: new Set(), timers: [], chat: null, view: null, openConv: null,
    openId: () => ctx.openConv,
    openSettings: () => openSettings(ctx),
    openNewDirect: (encrypted) => openNewDirect(ctx, encrypted),
    openNewGroup: (k) => openNewGroup(ctx, k),
    openBrowse: () => openBrowse(ctx),
    openMembers: (id) => openMembers(ctx, id),
    openSearch: (q) => openSearch(ctx, q),
    openContacts: () => openContacts(ctx),
    signOut, toggleMute, leave, join, toggleReaction, openReactionPicker, deleteMessage, block,
    report: (convId, m) => reportMessage(ctx, convId, m),
    startReply: (m) => ctx.chat?.composer.startReply(m),
    startEdit: (m) => ctx.chat?.composer.startEdit(m),
    jumpTo: (seq) => ctx.chat?.jumpTo(seq),
    fetchMessage, dropFailed, maybeMarkRead, subscribePresence, attachmentURL, download,
    blobs: new Map(),
  };
  ctx.calls = createCalls(ctx);
  // End-to-end encryption (docs/e2ee.md): this browser's device keys are
  // loaded or made (or restored from the key backup) in the background;
  // every stored message passes through its transform (decryption).
  const e2ee = new E2EE(api, store);
  ctx.e2ee = e2ee;
  store.transform = (m) => e2ee.transform(m);
  e2ee.addEventListener('state', (e) => { if (e.detail.status === 'restore' && ctx?.e2ee === e2ee) restorePrompt(ctx); });
  e2ee.start();
  window.parley = ctx; // for debugging and the end-to-end tests
  api.onUnauthenticated = () => signOut(true);

  rt.addEventListener('state', (e) => {
    store.conn = { state: e.detail.state, retryAt: Date.now() + (e.detail.delay || 0) };
    document.documentElement.dataset.conn = e.detail.state;
    store.emit('conn');
  });
  rt.addEventListener('ready', (e) => { ctx.limits = e.detail.frame.limits || {}; resync(e.detail.frame); });
  rt.addEventListener('frame', (e) => onFrame(e.detail.frame));
  rt.addEventListener('outbox', () => store.emit('outbox', 'conn'));
  rt.addEventListener('ack', (e) => { if (e.detail.message) onMessage(e.detail.message); });
  rt.addEventListener('send_error', (e) => {
    ctx.failed.set(e.detail.entry.client_msg_id, e.detail);
    toast('Message not sent: ' + (e.detail.error.message || e.detail.error.code), 'error');
    store.emit('outbox');
  });
  rt.addEventListener('unauthenticated', () => signOut(true));
  window.addEventListener('online', () => rt.reconnectNow());
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { maybeMarkRead(); rt.reconnectNow(); } });
  window.addEventListener('focus', () => maybeMarkRead());
  // Focus reports (docs/notifications.md): on every change, and once a
  // minute while focused so the server's report (held 2 minutes) stays fresh.
  const reportFocus = () => {
    const focused = document.visibilityState === 'visible' && document.hasFocus();
    if (focused !== rt.focused || focused) rt.focus(focused);
  };
  for (const [target, ev] of [[document, 'visibilitychange'], [window, 'focus'], [window, 'blur']]) {
    target.addEventListener(ev, reportFocus);
  }
  rt.addEventListener('ready', () => { if (rt.focused === undefined) reportFocus(); });
  setInterval(() => { if (rt.focused) reportFocus(); }, 60000);

  const sidebar = renderSidebar(ctx);
  sidebar.querySelector('.side-actions')?.prepend(
    iconButton('search', 'Search messages', () => ctx.openSearch(), 'search-btn'),
    iconButton('users', 'Contacts', () => ctx.openContacts(), 'contacts-btn'));
  const main = h('main', { class: 'main', id: 'main' });
  const shell = h('div', { class: 'shell' }, sidebar, main);
  ctx.main = main;
  ctx.shell = shell;
  replace(root, shell);
  ctx.listReady = store.loadConversations().catch((e) => toast(errorText(e), 'error'));
  store.loadBlocks().catch(() => {});
  rt.start();
}

function openChat(id) {
  if (ctx.openConv === id && ctx.view && !ctx.view.admin) return;
  ctx.view?.destroy();
  ctx.view = null;
  ctx.openConv = id;
  ctx.shell.classList.toggle('has-chat', !!id);
  if (!id) {
    replace(ctx.main, h('div', { class: 'empty-main' },
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('chat')),
      h('h1', {}, 'Welcome to Parley'),
      h('p', { class: 'muted' }, 'Pick a conversation on the left, or start a new one.'),
      h('div', { class: 'empty-actions' },
        h('button', { type: 'button', class: 'btn btn-primary', onclick: () => ctx.openNewDirect() }, icon('chat'), 'New message'),
        h('button', { type: 'button', class: 'btn', onclick: () => ctx.openBrowse() }, icon('compass'), 'Browse channels'))));
    ctx.store.emit('route');
    return;
  }
  ctx.view = renderChat(ctx, id);
  replace(ctx.main, ctx.view.el);
  ctx.store.emit('route');
  ctx.view.el.querySelector('textarea')?.focus({ preventScroll: true });
}

// openAdmin shows the admin page in the main pane (the server refuses its
// calls to anyone but admins).
function openAdmin() { openPage(renderAdmin(ctx)); }

// openPage shows a full page (admin, analytics) in the main pane.
function openPage(view) {
  ctx.view?.destroy();
  ctx.openConv = null;
  ctx.shell.classList.add('has-chat');
  ctx.view = { ...view, admin: true };
  replace(ctx.main, ctx.view.el);
  ctx.store.emit('route');
}

// resync runs after every (re)connection: refresh the conversation list, then
// fetch exactly the messages missed in every loaded window (after its newest
// seq), mark them delivered, and re-subscribe presence.
async function resync(frame) {
  const { store, rt } = ctx;
  // The messages ready carries after the positions the auth frame named
  // (store.positions): usually all that was missed.
  if (frame?.messages?.length) store.addMessages(frame.messages);
  try {
    await store.loadConversations();
    for (const c of store.convs.values()) {
      const w = store.msgs.get(c.id);
      if (w?.loaded && (c.last_seq || 0) > store.contiguousEnd(c.id)) await store.catchUp(c.id);
      if ((c.last_seq || 0) > (c.delivered_seq || 0)) rt.markDelivered(c.id, c.last_seq);
    }
    const peers = [...store.convs.values()].map((c) => c.kind === 'direct' && store.peerOf(c)?.id).filter(Boolean);
    rt.subscribePresence(peers);
    if (ctx.openConv && !store.convs.has(ctx.openConv)) store.loadConversation(ctx.openConv).catch(() => {});
    // Edits, deletions and reactions made while we were away: re-read the
    // newest page of the open conversation (messages merge by seq).
    else if (ctx.openConv && store.msgs.get(ctx.openConv)?.loaded) store.addMessages(await api.messages(ctx.openConv, { limit: 50 }));
    maybeMarkRead();
  } catch (e) {
    if (e.status !== 401) toast('Could not refresh: ' + errorText(e), 'error');
  }
}

function subscribePresence(c) {
  if (!c?.members) return;
  ctx.rt.subscribePresence([...c.members.keys()].filter((id) => id !== ctx.store.me.id).slice(0, 200));
}

// block blocks (on=true) or unblocks a user, asking first, and reloads the
// block list; it resolves to whether anything changed.
async function block(userId, on) {
  const { store, api } = ctx;
  const name = store.displayName(userId);
  if (on && !await confirmDialog('Block ' + name, `${name} will not be able to message you directly, add you to conversations or see when you are online. Their messages in shared groups are hidden for you.`, 'Block', true)) return false;
  try {
    await api.req(on ? 'PUT' : 'DELETE', `/blocks/${encodeURIComponent(userId)}`);
    toast(on ? `${name} is blocked` : `${name} is unblocked`);
    await store.loadBlocks();
    return true;
  } catch (e) { toast(errorText(e), 'error'); return false; }
}

function onFrame(f) {
  const { store } = ctx;
  switch (f.type) {
    case 'message': onMessage(f.message); break;
    case 'message_edited':
    case 'message_deleted':
      if (f.message) store.addMessages([f.message]);
      break;
    case 'reaction': {
      const m = store.message(f.conversation_id, f.seq);
      if (m) store.addMessages([{ ...m, reactions: f.reactions || [] }]);
      break;
    }
    case 'member_joined':
    case 'member_updated':
    case 'member_left': onMember(f); break;
    case 'conversation_updated': if (f.conversation) store.upsertConv(f.conversation); break;
    case 'receipt': store.setReceipt(f.conversation_id, f.user_id, f.delivered_seq, f.read_seq); break;
    case 'typing': if (f.typing === false) store.clearTyping(f.conversation_id, f.user_id); else store.setTyping(f.conversation_id, f.user_id, f.expires_in_ms); break;
    case 'presence': store.setPresence(f.user_id, f); break;
    case 'presence_state': for (const u of f.users || []) store.setPresence(u.user_id, u); break;
    case 'session_revoked': signOut(true); break;
    case 'call':
    case 'call_sdp':
    case 'call_ice': ctx.calls.onFrame(f); break;
    case 'contact_request':
      if (f.to_id === store.me.id) store.ensureUsers([f.from_id]).then(() => toast(`${store.displayName(f.from_id)} wants to add you as a contact`));
      store.emit('contacts');
      break;
    case 'contact_accepted':
    case 'contact_removed': store.emit('contacts'); break;
    case 'e2ee_devices': ctx.e2ee.onDevicesEvent(f); break;
    case 'blocks_changed': store.loadBlocks().catch(() => {}); break;
    case 'report_resolved':
      if (f.report?.held) toast(`Your held message was ${f.report.action === 'approve' ? 'posted' : 'not posted'}${f.report.note ? ' — ' + f.report.note : ''}`);
      else if (f.report) toast(`Your report was resolved: ${OUTCOME[f.report.action] || f.report.action}${f.report.note ? ' — ' + f.report.note : ''}`);
      break;
    default: break;
  }
}

function onMessage(m) {
  if (!m?.conversation_id) return;
  const { store, rt } = ctx;
  const c = store.convs.get(m.conversation_id);
  const w = store.msgs.get(m.conversation_id);
  const gap = w?.loaded && w.seqs.length && m.seq > w.seqs[w.seqs.length - 1] + 1;
  const fresh = store.addMessages([m]);
  if (gap) store.catchUp(m.conversation_id);
  store.clearTyping(m.conversation_id, m.sender_id);
  if (!c && !ctx.left.has(m.conversation_id)) refreshList();
  if (!fresh.length || m.sender_id === store.me.id) return;
  rt.markDelivered(m.conversation_id, m.seq);
  const cc = store.convs.get(m.conversation_id);
  const reading = ctx.openConv === m.conversation_id && !document.hidden && ctx.chat?.isAtBottom();
  if (cc && !reading && m.kind !== 'system' && m.seq > (cc.read_seq || 0)) { cc.unread = (cc.unread || 0) + 1; store.emit('convs'); }
  if (reading) maybeMarkRead();
  else if (m.kind !== 'system') announce(`New message from ${store.displayName(m.sender_id)}`);
  notify(cc, m);
}

// refreshList reloads the conversation list (with unread counts) when a
// conversation we do not know yet shows up; bursts coalesce into one load.
function refreshList() {
  if (ctx.refreshing) { ctx.refreshAgain = true; return; }
  ctx.refreshing = true;
  ctx.store.loadConversations().catch(() => {}).finally(() => {
    ctx.refreshing = false;
    if (ctx.refreshAgain) { ctx.refreshAgain = false; refreshList(); }
  });
}

function onMember(f) {
  const { store } = ctx;
  const me = store.me.id;
  if (f.user_id === me) {
    if (f.type === 'member_left') {
      ctx.left.add(f.conversation_id);
      store.removeConv(f.conversation_id);
      if (ctx.openConv === f.conversation_id) { toast('You are no longer a member of that conversation'); nav('/', true); }
    } else {
      ctx.left.delete(f.conversation_id);
      refreshList();
    }
    return;
  }
  const c = store.convs.get(f.conversation_id);
  if (!c) return;
  if (f.type === 'member_left' && c.encrypted && c.kind !== 'direct') ctx.e2ee.onMemberGone(c.id);
  if (f.type === 'member_left') { c.members?.delete(f.user_id); c.member_count = Math.max(0, (c.member_count || 1) - 1); } else {
    c.members = c.members || new Map();
    if (f.type === 'member_joined' && !c.members.has(f.user_id)) c.member_count = (c.member_count || 0) + 1;
    if (f.type === 'member_joined') store.forgetUnansweredPresence();
    c.members.set(f.user_id, { ...(c.members.get(f.user_id) || {}), ...(f.member || {}), user_id: f.user_id });
    store.ensureUsers([f.user_id]);
  }
  store.emit('conv:' + c.id, 'convs', 'msgs:' + c.id);
}

// maybeMarkRead marks the open conversation read up to its newest message
// when the user can actually see the bottom of it.
function maybeMarkRead() {
  if (!ctx?.openConv || document.hidden || !ctx.chat?.isAtBottom()) return;
  const { store, rt } = ctx;
  const c = store.convs.get(ctx.openConv);
  const w = store.msgs.get(ctx.openConv);
  if (!c || !w?.seqs.length || w.detached) return;
  const last = w.seqs[w.seqs.length - 1];
  if (last <= (c.read_seq || 0) && !c.unread) return;
  rt.markRead(c.id, last);
  c.read_seq = Math.max(c.read_seq || 0, last);
  c.unread = 0;
  store.setReceipt(c.id, store.me.id, last, last);
  store.emit('convs');
}

function notify(c, m) {
  if (!c || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (!document.hidden && ctx.openConv === c.id) return;
  if (!document.hidden) return;
  if (ctx.store.blocked.has(m.sender_id)) return; // blocked: no notification
  const mentioned = mentionsUser(m, ctx.store.me);
  if (c.muted && !mentioned) return;
  const title = c.kind === 'direct' ? ctx.store.displayName(m.sender_id) : `${ctx.store.displayName(m.sender_id)} in ${ctx.store.title(c)}`;
  try {
    const n = new Notification(mentioned ? title + ' mentioned you' : title, { body: m.e2ee ? 'New encrypted message' : (m.body || '').slice(0, 200), tag: c.id, icon: '/assets/icon.svg' });
    n.onclick = () => { window.focus(); nav('/c/' + encodeURIComponent(c.id)); n.close(); };
  } catch { /* some platforms only allow service-worker notifications */ }
}

async function fetchMessage(id, seq) {
  const key = id + ':' + seq;
  ctx.fetching = ctx.fetching || new Set();
  if (ctx.fetching.has(key)) return;
  ctx.fetching.add(key);
  try {
    let m = await api.message(id, seq);
    if (m?.e2ee && ctx.store.transform) m = ctx.store.transform(m); // decrypted later in place
    if (m?.seq) {
      const w = ctx.store.win(id);
      // Kept out of the window's seq list so it does not fake a loaded range.
      if (!w.bySeq.has(seq)) { w.bySeq.set(seq, m); ctx.store.emit('msgs:' + id); }
    }
  } catch { /* the quote says "Original message" */ }
}

// attachmentURL resolves to an object URL for an attachment's thumbnail or
// content, fetched once with the bearer token (an <img> cannot send it).
function attachmentURL(att, kind = 'thumbnail') {
  const key = att.id + ':' + kind;
  if (!ctx.blobs.has(key)) {
    ctx.blobs.set(key, api.blob(`/attachments/${encodeURIComponent(att.id)}/${kind}`).then((b) => URL.createObjectURL(b)));
  }
  return ctx.blobs.get(key);
}

async function download(att) {
  try {
    const url = await attachmentURL(att, 'content');
    const a = h('a', { href: url, download: att.name || 'file', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) { toast(errorText(e), 'error'); }
}

function dropFailed(cid) { ctx.failed.delete(cid); ctx.store.emit('outbox'); }

async function toggleMute(c) {
  const muted = !c.muted;
  ctx.store.setMuted(c.id, muted);
  try { await api.setMemberSettings(c.id, { muted }); } catch { /* kept locally */ }
  toast(muted ? 'Notifications muted for this conversation' : 'Notifications on');
}

async function leave(c) {
  if (!await confirmDialog('Leave conversation', `Leave ${ctx.store.title(c)}? You will stop receiving its messages.`, 'Leave', true)) return;
  try {
    ctx.left.add(c.id);
    await api.removeMember(c.id, ctx.store.me.id);
    ctx.store.removeConv(c.id);
    nav('/', true);
  } catch (e) { toast(errorText(e), 'error'); }
}

async function join(id) {
  await api.join(id, ctx.store.me.id);
  await ctx.store.loadConversation(id);
  await ctx.store.loadMembers(id).catch(() => {});
}

async function toggleReaction(convId, m, emoji) {
  const r = (m.reactions || []).find((x) => x.emoji === emoji);
  const mine = r?.user_ids?.includes(ctx.store.me.id);
  try {
    const res = mine ? await api.unreact(convId, m.seq, emoji) : await api.react(convId, m.seq, emoji);
    const reactions = res?.reactions ?? res?.message?.reactions;
    if (reactions) {
      const cur = ctx.store.message(convId, m.seq);
      if (cur) ctx.store.addMessages([{ ...cur, reactions }]);
    }
  } catch (e) { toast(errorText(e), 'error'); }
}

// openReactionPicker shows the emoji picker over the message log, next to
// the message's toolbar; it lives outside the message row, so re-rendering
// the row does not close it.
function openReactionPicker(convId, m, anchor) {
  document.querySelector('.reaction-picker')?.remove();
  const area = anchor.closest('.msg-area');
  const scroller = area.querySelector('.msg-scroll');
  const close = () => {
    p.remove();
    document.removeEventListener('mousedown', outside);
    scroller.removeEventListener('scroll', close);
    document.getElementById('m-' + m.seq)?.focus({ preventScroll: true });
  };
  const outside = (e) => { if (!p.contains(e.target)) close(); };
  const p = picker((e) => { toggleReaction(convId, m, e); close(); }, close, 'Add reaction');
  p.classList.add('reaction-picker');
  area.append(p);
  const a = anchor.getBoundingClientRect();
  const box = area.getBoundingClientRect();
  const w = p.offsetWidth;
  const hgt = p.offsetHeight;
  let left = Math.min(Math.max(8, a.left - box.left - w / 2), box.width - w - 8);
  let top = a.bottom - box.top + 6;
  if (top + hgt > box.height - 8) top = Math.max(8, a.top - box.top - hgt - 6);
  p.style.left = left + 'px';
  p.style.top = top + 'px';
  p.focusFirst();
  setTimeout(() => { document.addEventListener('mousedown', outside); scroller.addEventListener('scroll', close, { passive: true }); }, 0);
}

async function deleteMessage(convId, m) {
  if (!await confirmDialog('Delete message', 'Delete this message for everyone? This cannot be undone.', 'Delete', true)) return;
  try {
    const res = await api.remove(convId, m.seq);
    if (res?.seq) ctx.store.addMessages([res]);
    else ctx.store.addMessages([{ ...m, deleted: true, body: '' }]);
  } catch (e) { toast(errorText(e), 'error'); }
}

async function signOut(expired) {
  if (!ctx) return;
  const c = ctx;
  ctx = null;
  c.calls.stop();
  c.rt.stop();
  c.view?.destroy();
  for (const id of c.timers) clearInterval(id);
  for (const p of c.blobs.values()) p.then((u) => URL.revokeObjectURL(u)).catch(() => {});
  const token = api.endSession();
  saveToken('');
  if (!expired) { try { await api.logout(token); } catch { /* token dies anyway */ } }
  window.parley = null;
  if (expired) toast('Your session ended. Please sign in again.', 'error');
  history.replaceState({}, '', '/login');
  route();
}

ensureEmojiFont().finally(boot);
