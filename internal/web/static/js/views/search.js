// search.js — message search: a dialog with a query box (words, "phrases"
// and filters such as from:alice has:file before:2026-01-01), results with
// highlighted snippets, "More results" for the next page, and jump to the
// message in its conversation. Snippets arrive as plain-text parts from the
// server; hits become <mark> elements, everything else text nodes (no HTML
// is ever parsed).
import { h, replace } from '../dom.js';
import { modal, field, errorText } from './ui.js';
import { shortTime } from '../format.js';

export function snippetNodes(parts) {
  return (parts || []).map((p) => (p.hit ? h('mark', {}, p.text) : p.text));
}

// jumpToMessage opens the conversation and, once its first load is over
// (however long a busy server takes: a jump that ran before it would have
// its window overwritten by the latest page), scrolls to seq (loading older
// pages as needed) and flashes it.
export async function jumpToMessage(ctx, convId, seq) {
  ctx.nav('/c/' + encodeURIComponent(convId));
  const chat = ctx.chat;
  if (!chat || chat.id !== convId) return;
  await chat.opened;
  if (ctx.chat === chat) await chat.jumpTo(seq);
}

export function openSearch(ctx, initial = '') {
  const { store } = ctx;
  const input = h('input', {
    type: 'search', value: initial, maxlength: 256, autocomplete: 'off',
    placeholder: 'e.g. budget from:alice has:file after:2026-01-01',
  });
  const order = h('select', { 'aria-label': 'Order' },
    h('option', { value: 'recent' }, 'Newest first'), h('option', { value: 'relevance' }, 'Best match'));
  const status = h('p', { class: 'muted search-status', role: 'status', 'aria-live': 'polite' });
  const results = h('ul', { class: 'pick-list search-results', 'aria-label': 'Search results' });
  const more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => run(true) }, 'More results');
  let cursor = '';
  let gen = 0;
  let timer;

  const row = (hit) => {
    const m = hit.message;
    const c = store.convs.get(m.conversation_id);
    const title = c ? store.title(c) : 'Conversation';
    return h('li', {},
      h('button', {
        type: 'button', class: 'search-hit', dataset: { conv: m.conversation_id, seq: String(m.seq) },
        onclick: () => { dlg.close(); jumpToMessage(ctx, m.conversation_id, m.seq); },
      },
      h('span', { class: 'search-meta muted' }, [title, store.displayName(m.sender_id), shortTime(m.created_at)].join(' · ')),
      h('span', { class: 'search-snippet' }, snippetNodes(hit.snippet))));
  };

  const run = async (append) => {
    const q = input.value.trim();
    const my = ++gen;
    if (!q) { replace(results); replace(status); more.hidden = true; return; }
    try {
      const r = await ctx.api.req('GET', '/search/messages', undefined,
        { q, order: order.value, cursor: append ? cursor : '', limit: 20 });
      if (my !== gen) return;
      cursor = r.next_cursor || '';
      const rows = (r.hits || []).map(row);
      if (append) results.append(...rows);
      else replace(results, rows);
      const n = results.querySelectorAll('.search-hit').length;
      replace(status, n ? `${n}${cursor ? '+' : ''} message${n === 1 ? '' : 's'} found` : 'No messages found.');
      more.hidden = !cursor;
    } catch (e) {
      if (my !== gen) return;
      replace(results);
      more.hidden = true;
      replace(status, h('span', { class: 'form-error' }, errorText(e)));
    }
  };

  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => run(false), 250); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(timer); run(false); } });
  order.addEventListener('change', () => run(false));
  // Encrypted conversations are never indexed by the server (docs/e2ee.md).
  const openConv = ctx.store.convs.get(ctx.openId?.());
  const anyEncrypted = [...ctx.store.convs.values()].some((c) => c.encrypted);
  const e2eeNote = anyEncrypted ? h('p', { class: openConv?.encrypted ? 'search-e2ee-note notice' : 'search-e2ee-note muted', role: 'note' },
    openConv?.encrypted ? 'Search is unavailable in encrypted conversations: this one cannot be searched.' : 'Search is unavailable in encrypted conversations: they are not included in the results.') : null;
  const dlg = modal('Search messages', [
    field('Search', input, 'Filters: from:user in:conversation has:file|image|link before:/after:YYYY-MM-DD mentions:me'), e2eeNote,
    order, status, results, more], { wide: true, cls: 'search-dialog' });
  input.focus();
  if (initial) run(false);
  return dlg;
}
