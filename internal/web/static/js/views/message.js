// message.js — one message row: bubble, quote, body, reactions, ticks, tools.
import { h, icon, iconButton } from '../dom.js';
import { richText, time, mentionsUser } from '../format.js';
import { QUICK } from '../emoji.js';
import { avatar, modal, errorText, toast } from './ui.js';

// signature changes whenever anything the row shows changes, so the list
// can keep unchanged rows (and their focus) across re-renders.
export function signature(ctx, c, m, o) {
  const reply = m.reply_to ? ctx.store.message(c.id, m.reply_to) : null;
  return JSON.stringify([m.body, m.e2ee_status, m.e2ee_error, m.edited_at, m.deleted, m.reactions, (m.attachments || []).map((a) => a.id), o.cont, o.tick, o.seen, reply?.body, reply?.deleted, reply?.e2ee_status,
    ctx.store.displayName(m.sender_id), ctx.store.users.size, o.status, o.last, hidden(ctx.store, c, m)]);
}

// hidden reports whether m is from a user the signed-in user blocks and
// not revealed: such rows collapse to a note with a "Show" button.
function hidden(store, c, m) {
  return m.kind !== 'system' && m.sender_id !== store.me?.id && store.blocked.has(m.sender_id) &&
    !store.revealed.has(c.id + ':' + m.seq);
}

export function messageRow(ctx, c, m, o) {
  const { store } = ctx;
  const me = store.me;
  const mine = m.sender_id === me.id;
  if (m.kind === 'system') {
    return h('li', { class: 'msg-system', id: 'm-' + m.seq, dataset: { seq: m.seq } }, h('span', {}, store.systemText(m)));
  }
  const name = store.displayName(m.sender_id);
  if (m.seq && hidden(store, c, m)) {
    return h('li', { class: 'msg msg-blocked', id: 'm-' + m.seq, dataset: { seq: m.seq } },
      h('span', { class: 'muted' }, 'Message from a blocked user'),
      h('button', { type: 'button', class: 'link-btn show-blocked', 'aria-label': 'Show the message from ' + name, onclick: () => {
        store.revealed.add(c.id + ':' + m.seq);
        store.emit('blocks');
      } }, 'Show'));
  }
  const li = h('li', {
    class: ['msg', mine && 'mine', o.cont && 'cont', m.deleted && 'deleted', !mine && !m.deleted && mentionsUser(m, me) && 'mention-me', o.status && 'status-' + o.status],
    id: m.seq ? 'm-' + m.seq : undefined, tabindex: '-1', dataset: { seq: m.seq || '', cid: m.client_msg_id || '' },
    'aria-label': `${name}, ${time(m.created_at)}`,
  });
  const showAvatar = !mine && c.kind !== 'direct';
  if (showAvatar) li.append(o.cont ? h('span', { class: 'avatar-spacer' }) : avatar(store, store.user(m.sender_id) || { id: m.sender_id, display_name: name }, { size: 'sm' }));
  const bubble = h('div', { class: 'bubble' });
  if (!mine && !o.cont && c.kind !== 'direct') bubble.append(h('div', { class: 'sender' }, name));
  if (m.reply_to && !m.deleted) bubble.append(quote(ctx, c, m.reply_to));
  if (m.deleted) bubble.append(h('div', { class: 'body tombstone' }, icon('trash'), 'This message was deleted'));
  else if (m.e2ee_status === 'failed') {
    // Never the text: only why it could not be decrypted (docs/e2ee.md §7).
    li.classList.add('decrypt-failed');
    bubble.append(h('div', { class: 'body decrypt-error', role: 'note' }, icon('alert'), m.e2ee_error || 'could not decrypt'));
  } else if (m.e2ee_status === 'pending') bubble.append(h('div', { class: 'body decrypting muted' }, icon('lock'), 'Decrypting…'));
  else bubble.append(h('div', { class: 'body', dir: 'auto' }, richText(m.body || '', { users: store.byName, me })));
  if (m.attachments?.length && !m.deleted) bubble.append(attachments(ctx, m.attachments));
  if (m.e2ee_files?.length && !m.deleted && m.e2ee_status === 'ok') bubble.append(encryptedFiles(ctx, m.e2ee_files));
  const meta = h('div', { class: 'meta' });
  if (m.edited_at && !m.deleted) meta.append(h('span', { class: 'edited', title: 'Edited ' + new Date(m.edited_at).toLocaleString() }, 'edited'));
  meta.append(h('time', { datetime: m.created_at || '', title: m.created_at ? new Date(m.created_at).toLocaleString() : '' }, m.created_at ? time(m.created_at) : ''));
  if (mine) meta.append(tick(o.status || o.tick));
  bubble.append(meta);
  const col = h('div', { class: 'msg-col' }, bubble);
  if (m.reactions?.length && !m.deleted) {
    col.append(h('div', { class: 'reactions' }, m.reactions.filter((r) => r.count > 0).map((r) => {
      const minePressed = (r.user_ids || []).includes(me.id);
      const who = (r.user_ids || []).map((id) => store.displayName(id)).join(', ');
      return h('button', {
        type: 'button', class: 'reaction' + (minePressed ? ' mine' : ''), 'aria-pressed': String(minePressed),
        title: who, 'aria-label': `${r.emoji} ${r.count}, ${who}`, onclick: () => ctx.toggleReaction(c.id, m, r.emoji),
      }, h('span', { class: 'r-emoji' }, r.emoji), h('span', { class: 'r-count' }, String(r.count)));
    })));
  }
  if (o.seen?.length) col.append(h('div', { class: 'seen-by' }, 'Seen by ' + o.seen.map((id) => store.displayName(id)).join(', ')));
  if (o.status === 'failed') {
    col.append(h('div', { class: 'failed-note', role: 'alert' }, icon('alert'), ` Not sent: ${o.error || 'refused'} `,
      h('button', { type: 'button', class: 'link-btn', onclick: () => ctx.dropFailed(m.client_msg_id) }, 'Dismiss')));
  }
  if (m.seq && !m.deleted && !o.status && m.e2ee_status !== 'failed' && m.e2ee_status !== 'pending') col.append(tools(ctx, c, m, mine));
  li.append(col);
  return li;
}

function tick(state) {
  const labels = { pending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', 'read-some': 'Read by some', failed: 'Not sent' };
  const ic = { pending: 'clock', sent: 'check', delivered: 'checks', read: 'checks', 'read-some': 'checks', failed: 'alert' }[state] || 'check';
  return h('span', { class: 'tick tick-' + state, role: 'img', 'aria-label': labels[state] || state, title: labels[state] || state }, icon(ic));
}

function quote(ctx, c, seq) {
  const { store } = ctx;
  const r = store.message(c.id, seq);
  if (!r) ctx.fetchMessage(c.id, seq);
  const text = !r ? 'Original message' : r.deleted ? 'Message deleted' : r.e2ee_status === 'failed' ? 'Could not decrypt'
    : r.e2ee_status === 'pending' ? 'Encrypted message' : (r.body || '').slice(0, 200);
  return h('button', { type: 'button', class: 'quote', onclick: (e) => { e.stopPropagation(); ctx.jumpTo(seq); }, 'aria-label': 'Go to replied message' },
    h('span', { class: 'quote-name' }, r ? store.displayName(r.sender_id) : 'Reply'),
    h('span', { class: 'quote-text' }, text));
}

function tools(ctx, c, m, mine) {
  const canDelete = mine || c.role === 'owner' || c.role === 'admin';
  return h('div', { class: 'msg-tools', role: 'toolbar', 'aria-label': 'Message actions' },
    QUICK.slice(0, 3).map((e) => h('button', { type: 'button', class: 'tool-emoji', 'aria-label': 'React ' + e, title: 'React ' + e, onclick: () => ctx.toggleReaction(c.id, m, e) }, e)),
    iconButton('smile', 'Add reaction', (ev) => ctx.openReactionPicker(c.id, m, ev.currentTarget)),
    iconButton('reply', 'Reply', () => ctx.startReply(m)),
    mine ? iconButton('edit', 'Edit', () => ctx.startEdit(m)) : null,
    mine ? null : iconButton('alert', 'Report', () => ctx.report(c.id, m), 'report-btn'),
    canDelete ? iconButton('trash', 'Delete', () => ctx.deleteMessage(c.id, m), 'danger') : null);
}


function size(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

// viewImage opens the full-size image (content fetched with the token into
// an object URL) in a modal dialog with its name and a download link; the
// dialog takes focus, closes on Escape or its close button, and gives focus
// back to opener.
function viewImage(ctx, a, opener) {
  const name = a.name || 'image';
  const img = h('img', { class: 'viewer-img', alt: name });
  const status = h('p', { class: 'muted viewer-status', 'aria-live': 'polite' }, 'Loading…');
  const link = h('a', { class: 'btn viewer-download', download: name, hidden: true }, icon('down'), 'Download');
  const m = modal(name, [
    h('div', { class: 'viewer-frame' }, img, status),
    h('div', { class: 'modal-actions spread' }, h('span', { class: 'muted' }, size(a.size || 0)), link),
  ], { cls: 'viewer', onclose: () => { if (opener?.isConnected) opener.focus(); } });
  m.dialog.querySelector('.modal-head .icon-btn')?.focus();
  ctx.attachmentURL(a, 'content').then((u) => {
    img.src = u;
    link.href = u;
    link.hidden = false;
    status.remove();
  }).catch((e) => { status.textContent = 'Could not load the image: ' + errorText(e); status.classList.add('error-text'); });
}

// attachments renders images as thumbnails (fetched with the token into an
// object URL) and other files as download chips. Names are text.
function attachments(ctx, list) {
  return h('div', { class: 'attachments' }, list.map((a) => {
    if (!a.id) return null;
    if (a.thumbnail) {
      const img = h('img', { alt: a.name || 'image', class: 'att-img', width: a.thumbnail.width, height: a.thumbnail.height, loading: 'lazy' });
      ctx.attachmentURL(a, 'thumbnail').then((u) => { img.src = u; }).catch(() => img.classList.add('att-broken'));
      return h('button', { type: 'button', class: 'att-image', 'aria-label': `View ${a.name} (${size(a.size)})`, title: a.name, onclick: (e) => viewImage(ctx, a, e.currentTarget) }, img);
    }
    return h('button', { type: 'button', class: 'att-file', 'aria-label': `Download ${a.name} (${size(a.size)})`, onclick: () => ctx.download(a) },
      icon('file'), h('span', { class: 'att-name' }, a.name || 'file'), h('span', { class: 'att-size' }, size(a.size || 0)));
  }));
}

// encryptedFiles renders the files of an end-to-end encrypted message
// (docs/e2ee.md §7): downloaded, decrypted and checked in the browser.
function encryptedFiles(ctx, list) {
  return h('div', { class: 'attachments' }, list.map((a) => {
    const name = typeof a.name === 'string' ? a.name : 'file';
    const btn = h('button', { type: 'button', class: 'att-file att-encrypted', 'aria-label': `Download ${name} (${size(a.size || 0)}, encrypted)`, onclick: async () => {
      try {
        const blob = await ctx.e2ee.decryptFile(a);
        const url = URL.createObjectURL(blob);
        const link = h('a', { href: url, download: name, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        btn.dataset.state = 'done';
      } catch (e) {
        btn.dataset.state = 'error';
        btn.title = e.message;
        toast(e.message, 'error');
      }
    } }, icon('lock'), h('span', { class: 'att-name' }, name), h('span', { class: 'att-size' }, size(a.size || 0)));
    return btn;
  }));
}
