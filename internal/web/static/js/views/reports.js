// reports.js — the reports queue (admin page: every report; members dialog:
// one conversation's) with the actions dismiss, delete message, mute for an
// hour and ban; and the "Report" flow of the message menu. The server
// decides who may see and resolve what (docs/moderation.md).
import { h, replace } from '../dom.js';
import { toast, errorText } from './ui.js';
import { reasonDialog } from './moderation.js';

const enc = encodeURIComponent;
const ACTIONS = [['dismiss', 'Dismiss', ''], ['delete_message', 'Delete message', ''], ['mute', 'Mute 1 h', ''], ['ban', 'Ban', 'btn-danger']];
export const OUTCOME = { dismiss: 'dismissed', delete_message: 'the message was deleted', mute: 'the author was muted', ban: 'the author was banned' };

// reportMessage asks for a reason and reports m.
export async function reportMessage(ctx, convId, m) {
  const r = await reasonDialog('Report this message', 'Report', null, 'What is wrong with it?');
  if (!r) return;
  if (!r.reason) { toast('Say what is wrong with the message', 'error'); return; }
  try {
    await ctx.api.req('POST', '/reports', { conversation_id: convId, seq: m.seq, reason: r.reason });
    toast('Thank you. The moderators will look at it.');
  } catch (e) { toast(errorText(e), 'error'); }
}

// reportsPanel lists open reports (of conversationId, or every report for
// server admins) with their actions.
export function reportsPanel(ctx, conversationId) {
  const { store, api } = ctx;
  const body = h('tbody', { class: 'reports-queue' });
  async function refresh() {
    try {
      const r = await api.req('GET', '/reports', undefined, { status: 'open', conversation_id: conversationId, limit: 100 });
      await store.ensureUsers(r.reports.flatMap((x) => [x.reporter_id, x.target_user_id]));
      replace(body, r.reports.length ? r.reports.map((x) => h('tr', { dataset: { report: x.id } },
        h('td', {}, new Date(x.created_at).toLocaleString()),
        h('td', {}, store.displayName(x.reporter_id)),
        h('td', {}, store.displayName(x.target_user_id), x.conversation_id ? h('div', { class: 'muted' }, '“' + (x.excerpt || '') + '”') : h('div', { class: 'muted' }, '(the user)')),
        h('td', {}, x.reason),
        h('td', { class: 'admin-actions' }, ACTIONS.filter(([a]) => a === 'dismiss' || x.conversation_id).map(([a, label, cls]) =>
          h('button', { type: 'button', class: 'btn btn-small ' + cls, dataset: { action: a }, onclick: async () => {
            try {
              await api.req('POST', `/reports/${enc(x.id)}/resolve`, { action: a, ...(a === 'mute' ? { duration_seconds: 3600 } : {}) });
              toast('Report resolved: ' + OUTCOME[a]);
            } catch (e) { toast(errorText(e), 'error'); }
            refresh();
          } }, label))))) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No open reports.')));
    } catch (e) { replace(body, h('tr', {}, h('td', { colspan: 5, class: 'form-error' }, errorText(e)))); }
  }
  refresh();
  const el = h('section', { class: 'admin-section reports-panel', 'aria-label': 'Reports' }, h('h2', {}, 'Reports'),
    h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Reporter'), h('th', {}, 'About'), h('th', {}, 'Reason'), h('th', {}, 'Actions'))), body));
  return { el, refresh };
}
