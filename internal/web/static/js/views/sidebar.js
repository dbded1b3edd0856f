// sidebar.js — the signed-in user's header, connection state and the
// conversation list (sorted by activity, with previews, unread badges,
// presence dots and typing).
import { h, icon, iconButton, replace, reconcile } from '../dom.js';
import { shortTime } from '../format.js';
import { avatar, convAvatar } from './ui.js';

export function renderSidebar(ctx) {
  const { store } = ctx;
  const meBox = h('button', { type: 'button', class: 'me', 'aria-label': 'Profile and settings', onclick: () => ctx.openSettings() });
  const conn = h('div', { class: 'conn', role: 'status', 'aria-live': 'polite' });
  const filter = h('input', { type: 'search', class: 'search', placeholder: 'Search conversations', 'aria-label': 'Search conversations' });
  const listEl = h('ul', { class: 'conv-list', 'aria-label': 'Conversations' });
  const newMenu = h('div', { class: 'menu', role: 'menu', hidden: true },
    menuItem('chat', 'New direct message', () => ctx.openNewDirect()),
    menuItem('users', 'New group', () => ctx.openNewGroup('group')),
    menuItem('hash', 'New channel', () => ctx.openNewGroup('channel')),
    menuItem('compass', 'Browse channels', () => ctx.openBrowse()),
    menuItem('lock', 'New encrypted chat', () => ctx.openNewDirect(true)));
  const newBtn = iconButton('plus', 'New conversation', () => toggleMenu(), 'new-btn');
  newBtn.setAttribute('aria-haspopup', 'menu');
  newBtn.setAttribute('aria-expanded', 'false');
  function toggleMenu(force) {
    const open = force ?? newMenu.hidden;
    newMenu.hidden = !open;
    newBtn.setAttribute('aria-expanded', String(open));
    if (open) newMenu.querySelector('button')?.focus();
  }
  function menuItem(ic, label, fn) {
    return h('button', { type: 'button', role: 'menuitem', class: 'menu-item', onclick: () => { toggleMenu(false); fn(); } }, icon(ic), label);
  }
  newMenu.addEventListener('keydown', (e) => {
    const items = [...newMenu.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    if (e.key === 'Escape') { toggleMenu(false); newBtn.focus(); }
  });
  document.addEventListener('click', (e) => { if (!newMenu.hidden && !newMenu.contains(e.target) && !newBtn.contains(e.target)) toggleMenu(false); });

  const root = h('aside', { class: 'sidebar', 'aria-label': 'Conversations' },
    h('header', { class: 'side-head' }, meBox, h('div', { class: 'side-actions' }, h('div', { class: 'menu-wrap' }, newBtn, newMenu),
      store.me?.role === 'admin' ? iconButton('lock', 'Administration', () => ctx.nav('/admin'), 'admin-btn') : null,
      iconButton('settings', 'Settings', () => ctx.openSettings()))),
    conn,
    h('div', { class: 'side-search' }, icon('search'), filter),
    h('nav', { class: 'conv-nav', 'aria-label': 'Conversation list' }, listEl));

  const renderMe = () => {
    const me = store.me;
    replace(meBox, avatar(store, me, { size: 'md' }),
      h('span', { class: 'me-text' }, h('span', { class: 'me-name' }, me.display_name || me.username),
        h('span', { class: 'me-status' }, me.status_text || '@' + me.username)));
  };
  const renderConn = () => {
    const s = store.conn;
    conn.className = 'conn conn-' + s.state;
    if (s.state === 'online') { replace(conn, h('span', { class: 'dot' }), 'Connected'); return; }
    if (s.state === 'offline') {
      const secs = Math.max(1, Math.round((s.retryAt - Date.now()) / 1000));
      const q = ctx.rt?.outbox.length || 0;
      replace(conn, h('span', { class: 'dot' }), `Offline — reconnecting in ${secs}s`,
        q ? h('span', { class: 'queued' }, ` · ${q} queued`) : null,
        h('button', { type: 'button', class: 'link-btn', onclick: () => ctx.rt?.reconnectNow() }, 'Retry now'));
      return;
    }
    replace(conn, h('span', { class: 'dot' }), 'Connecting…');
  };
  ctx.timers.push(setInterval(() => { if (store.conn.state === 'offline') renderConn(); }, 1000));

  let rows = new Map();
  const renderList = () => {
    const q = filter.value.trim().toLowerCase();
    const items = store.sortedConvs().filter((c) => !q || store.title(c).toLowerCase().includes(q));
    if (!items.length) {
      rows = new Map();
      replace(listEl, h('li', { class: 'empty-list' }, q ? 'No matching conversations.' : 'No conversations yet. Start one with the + button.'));
    } else {
      listEl.querySelector('.empty-list')?.remove();
      rows = reconcile(listEl, items.map((c) => ({ key: c.id, sig: itemSig(ctx, c), build: () => convItem(ctx, c) })), rows);
    }
    let total = 0;
    for (const c of store.convs.values()) if (!c.muted) total += c.unread || 0;
    document.title = total ? `(${total}) Parley` : 'Parley';
  };
  filter.addEventListener('input', renderList);
  store.on('me', renderMe);
  store.on('conn', renderConn);
  for (const t of ['convs', 'presence', 'users', 'route', 'blocks']) store.on(t, renderList);
  renderMe();
  renderConn();
  renderList();
  return root;
}

function itemSig(ctx, c) {
  const { store } = ctx;
  const p = c.kind === 'direct' ? store.peerOf(c) : null;
  const lm = c.last_message;
  return JSON.stringify([store.title(c), c.encrypted, lm?.e2ee_status, c.unread, c.muted, c.kind, c.public, c.topic, lm?.seq, lm?.body, lm?.deleted, lm?.edited_at,
    lm && store.displayName(lm.sender_id), lm && store.blocked.has(lm.sender_id), store.typers(c.id), ctx.openId() === c.id, p?.id, p && store.presence.get(p.id)?.online, shortTime(lm?.created_at || c.last_activity_at)]);
}

function convItem(ctx, c) {
  const { store } = ctx;
  const title = store.title(c);
  const typers = store.typers(c.id);
  const lm = c.last_message;
  let preview;
  if (typers.length) preview = h('span', { class: 'preview typing-text' }, typers.length > 1 ? 'several people are typing…' : (c.kind === 'direct' ? 'typing…' : `${store.displayName(typers[0])} is typing…`));
  else if (lm) {
    const who = lm.sender_id === store.me.id ? 'You: ' : (c.kind !== 'direct' && lm.kind !== 'system' ? store.displayName(lm.sender_id) + ': ' : '');
    const text = lm.deleted ? 'Message deleted' : lm.kind === 'system' ? store.systemText(lm)
      : store.blocked.has(lm.sender_id) ? 'Message from a blocked user'
        : lm.e2ee && lm.e2ee_status !== 'ok' ? (lm.e2ee_status === 'failed' ? 'Could not decrypt' : 'Encrypted message')
          : (lm.body || '').replace(/\s+/g, ' ').slice(0, 120);
    preview = h('span', { class: 'preview' }, who, text);
  } else preview = h('span', { class: 'preview' }, c.kind === 'channel' ? (c.topic || 'Channel') : 'No messages yet');
  const unread = c.unread || 0;
  const active = ctx.openId() === c.id;
  const label = `${title}${unread ? `, ${unread} unread` : ''}${c.muted ? ', muted' : ''}`;
  return h('li', {},
    h('a', {
      href: '/c/' + encodeURIComponent(c.id), class: ['conv-item', active && 'active', unread && 'has-unread'],
      'aria-current': active ? 'page' : undefined, 'aria-label': label, dataset: { id: c.id },
      onclick: (e) => { if (!e.ctrlKey && !e.metaKey && !e.shiftKey) { e.preventDefault(); ctx.nav('/c/' + encodeURIComponent(c.id)); } },
    },
    convAvatar(store, c),
    h('span', { class: 'conv-main' },
      h('span', { class: 'conv-top' },
        h('span', { class: 'conv-title' }, c.kind === 'channel' ? icon(c.public === false ? 'lock' : 'hash', 'title-icon') : null,
          c.encrypted ? h('span', { class: 'e2ee-lock', role: 'img', 'aria-label': 'End-to-end encrypted', title: 'End-to-end encrypted' }, icon('lock', 'title-icon')) : null, title),
        h('time', { class: 'conv-time' }, shortTime(lm?.created_at || c.last_activity_at))),
      h('span', { class: 'conv-bottom' }, preview,
        c.muted ? icon('bellOff', 'muted-icon') : null,
        unread ? h('span', { class: 'badge' + (c.muted ? ' badge-muted' : ''), 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)) : null))));
}
