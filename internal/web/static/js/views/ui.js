// ui.js — shared widgets: avatars, modal dialogs, toasts, confirmation.
import { h, icon, iconButton } from '../dom.js';
import { initials, hue } from '../format.js';
import { userPicture, paint } from '../avatars.js';

export function avatar(store, user, { size = 'md', presence = false, label } = {}) {
  const name = user ? (user.display_name || user.username || '?') : (label || '?');
  const id = user?.id || label || '?';
  const el = h('span', { class: `avatar avatar-${size} hue-${hue(id)}`, 'aria-hidden': 'true' }, initials(name));
  if (presence && user?.id) {
    // Every person shown with a dot is watched (the store subscribes once);
    // until the server answers (or for a stranger, whose presence is never
    // shared) the dot stays hidden rather than a misleading grey.
    const self = user.id === store.me?.id;
    if (!self) { store.watchPresence(user.id); livePresence(store); }
    const p = self ? { online: store.conn.state === 'online' } : store.presence.get(user.id);
    el.append(h('span', { class: 'presence ' + presenceClass(p), dataset: self ? {} : { presence: user.id } }));
  }
  if (user?.id) userPicture(store.api, el, user.id);
  return el;
}

function presenceClass(p) { return p ? (p.online ? 'online' : 'offline') : 'unknown'; }

// livePresence keeps every presence dot on the page current, wherever it is
// (dialogs render once), by one listener per store.
const live = new WeakSet();
function livePresence(store) {
  if (live.has(store)) return;
  live.add(store);
  store.on('presence', () => {
    for (const d of document.querySelectorAll('.presence[data-presence]')) d.className = 'presence ' + presenceClass(store.presence.get(d.dataset.presence));
  });
}

export function convAvatar(store, c, size = 'md') {
  if (c.kind === 'direct') return avatar(store, store.peerOf(c), { size, presence: true, label: store.title(c) });
  const el = h('span', { class: `avatar avatar-${size} avatar-square hue-${hue(c.id)}`, 'aria-hidden': 'true' },
    c.kind === 'channel' ? icon('hash') : initials(c.title || '#'));
  if (c.avatar_url) paint(store.api, el, c.avatar_url);
  return el;
}

// modal shows a <dialog> with a title and body; returns {dialog, close}.
export function modal(title, body, { onclose, wide, cls } = {}) {
  const titleId = 'dlg-' + Math.random().toString(36).slice(2);
  const dialog = h('dialog', { class: 'modal' + (wide ? ' modal-wide' : '') + (cls ? ' ' + cls : ''), 'aria-labelledby': titleId },
    h('div', { class: 'modal-head' },
      h('h2', { id: titleId }, title),
      iconButton('x', 'Close', () => close())),
    h('div', { class: 'modal-body' }, body));
  const close = () => { if (dialog.open) dialog.close(); };
  dialog.addEventListener('close', () => { dialog.remove(); onclose?.(); });
  dialog.addEventListener('click', (e) => { if (e.target === dialog) close(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function confirmDialog(title, text, okLabel = 'OK', danger = false) {
  return new Promise((resolve) => {
    let result = false;
    const ok = h('button', { type: 'button', class: 'btn ' + (danger ? 'btn-danger' : 'btn-primary'), onclick: () => { result = true; m.close(); } }, okLabel);
    const m = modal(title, [
      h('p', { class: 'muted' }, text),
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), ok),
    ], { onclose: () => resolve(result) });
    ok.focus();
  });
}

// toast shows text for a few seconds; empty text (errorText of a request
// that signing out cancelled) shows nothing.
export function toast(text, kind = 'info') {
  if (!text) return;
  const box = document.getElementById('toasts');
  const t = h('div', { class: 'toast toast-' + kind }, icon(kind === 'error' ? 'alert' : 'check'), h('span', {}, text));
  box.append(t);
  setTimeout(() => t.classList.add('toast-out'), 3500);
  setTimeout(() => t.remove(), 4000);
}

export function announce(text) {
  const a = document.getElementById('announcer');
  if (a) { a.textContent = ''; setTimeout(() => { a.textContent = text; }, 30); }
}

// field is a labelled form control.
export function field(label, input, hint) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('div', { class: 'hint' }, hint) : null);
}

export function errorText(err) {
  if (!err) return '';
  if (err.quiet) return '';
  if (err.code === 'network') return 'Cannot reach the server. Check your connection.';
  return err.message || String(err);
}
