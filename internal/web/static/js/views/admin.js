// admin.js — the admin page (admins only; the server refuses everyone
// else): server overview, accounts (search, reset password, promote/demote,
// disable/enable, delete, sessions), invites and the audit log. Every action
// is a REST call under /api/v1/admin; the page only shows what it answers.
import { h, replace, iconButton } from '../dom.js';
import { toast, errorText, confirmDialog } from './ui.js';
import { reportsPanel } from './reports.js';

const admin = (api) => ({
  overview: () => api.req('GET', '/admin/overview'),
  users: (prefix) => api.req('GET', '/admin/users', undefined, { prefix, limit: 100 }),
  sessions: (id) => api.req('GET', `/admin/users/${encodeURIComponent(id)}/sessions`),
  reset: (id) => api.req('POST', `/admin/users/${encodeURIComponent(id)}/password`, {}),
  role: (id, role) => api.req('POST', `/admin/users/${encodeURIComponent(id)}/role`, { role }),
  disable: (id, off) => api.req('POST', `/admin/users/${encodeURIComponent(id)}/${off ? 'disable' : 'enable'}`),
  remove: (id) => api.req('DELETE', `/admin/users/${encodeURIComponent(id)}`),
  invites: () => api.req('GET', '/admin/invites'),
  invite: (body) => api.req('POST', '/admin/invites', body),
  revoke: (id) => api.req('POST', `/admin/invites/${encodeURIComponent(id)}/revoke`),
  audit: () => api.req('GET', '/admin/audit', undefined, { limit: 100 }),
});

function mib(n) { return n < 0 ? 'n/a' : (n / 1048576).toFixed(1) + ' MiB'; }
function when(t) { return t ? new Date(t).toLocaleString() : ''; }
function uptime(s) {
  const d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + 'd ' : '') + (hr ? hr + 'h ' : '') + m + 'm';
}
export function inviteLink(code) { return `${location.origin}/register?invite=${encodeURIComponent(code)}`; }

// renderAdmin returns {el, destroy} for the main pane.
export function renderAdmin(ctx) {
  const a = admin(ctx.api);
  const err = h('div', { class: 'form-error', role: 'alert' });
  const overview = h('section', { class: 'admin-section', 'aria-label': 'Server overview' });
  const search = h('input', { type: 'search', class: 'search', name: 'admin-search', placeholder: 'Search usernames', 'aria-label': 'Search usernames', maxlength: 32 });
  const users = h('tbody', { class: 'admin-users' });
  const detail = h('div', { class: 'admin-detail' });
  const invites = h('tbody', { class: 'admin-invites' });
  const audit = h('tbody', { class: 'admin-audit' });
  const uses = h('input', { type: 'number', name: 'invite-uses', min: 1, max: 10000, value: 1, 'aria-label': 'Uses' });
  const days = h('input', { type: 'number', name: 'invite-days', min: 0, max: 366, value: 7, 'aria-label': 'Expires after days (0: never)' });
  const note = h('input', { name: 'invite-note', maxlength: 200, placeholder: 'Who it is for', 'aria-label': 'Note' });
  let alive = true;

  const fail = (e) => { err.textContent = errorText(e); };
  const act = async (fn, done) => {
    err.textContent = '';
    try { const r = await fn(); if (done) toast(done); await refresh(); return r; } catch (e) { fail(e); return null; }
  };

  async function loadOverview() {
    const o = await a.overview();
    replace(overview, h('h2', {}, 'Server'), h('dl', { class: 'admin-facts' },
      ...[['Version', o.version], ['Uptime', uptime(o.uptime_seconds)], ['Store', o.store], ['Bus', o.bus],
        ['Registration', o.registration], ['Users', o.counts.users], ['Admins', o.admins],
        ['Conversations', o.counts.conversations], ['Messages', o.counts.messages],
        ['Connected sockets', o.sockets], ['Data directory', mib(o.data_dir_bytes)]]
        .flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { fact: k.toLowerCase() } }, String(v))])));
  }

  async function showSessions(u) {
    const r = await a.sessions(u.id);
    replace(detail, h('h3', {}, `Sessions of @${u.username}`),
      r.sessions.length ? h('ul', { class: 'admin-sessions' }, r.sessions.map((s) =>
        h('li', {}, `${s.address || '?'} · ${s.user_agent || 'unknown client'} · last seen ${when(s.last_seen_at)}`)))
        : h('p', { class: 'muted' }, 'No active sessions.'));
  }

  function userRow(u) {
    const me = u.id === ctx.store.me.id;
    const b = (label, fn, cls) => h('button', { type: 'button', class: 'btn btn-small ' + (cls || ''), 'data-action': label.toLowerCase().replace(/\s+/g, '-'), onclick: fn }, label);
    return h('tr', { dataset: { user: u.username } },
      h('td', {}, h('strong', {}, '@' + u.username), h('div', { class: 'muted' }, u.display_name)),
      h('td', {}, u.role), h('td', {}, u.disabled ? 'disabled' : 'active'),
      h('td', { class: 'admin-actions' },
        b('Sessions', () => showSessions(u).catch(fail)),
        b('Reset password', async () => {
          if (!await confirmDialog('Reset password?', `Reset the password of @${u.username}? Every device of theirs is signed out.`, 'Reset', true)) return;
          const r = await act(() => a.reset(u.id));
          if (r) replace(detail, h('h3', {}, `New password for @${u.username}`),
            h('p', {}, 'Give it to them; they can change it in their settings.'), h('code', { class: 'admin-secret' }, r.password));
        }),
        u.role === 'admin'
          ? b('Demote', () => act(() => a.role(u.id, 'user'), `@${u.username} is no longer an admin`))
          : b('Promote', () => act(() => a.role(u.id, 'admin'), `@${u.username} is now an admin`)),
        me ? null : b(u.disabled ? 'Enable' : 'Disable', () => act(() => a.disable(u.id, !u.disabled), `@${u.username} ${u.disabled ? 'enabled' : 'disabled'}`)),
        me ? null : b('Delete', async () => {
          if (!await confirmDialog('Delete account?', `Delete @${u.username}? Their messages stay, shown as "deleted user". This cannot be undone.`, 'Delete', true)) return;
          await act(() => a.remove(u.id), `@${u.username} deleted`);
        }, 'btn-danger')));
  }

  async function loadUsers() {
    const r = await a.users(search.value.trim().replace(/^@/, ''));
    replace(users, r.users.map(userRow));
  }

  async function loadInvites() {
    const r = await a.invites();
    replace(invites, r.invites.map((inv) => {
      const dead = inv.revoked_at ? 'revoked' : inv.uses >= inv.max_uses ? 'used up'
        : inv.expires_at && new Date(inv.expires_at) <= new Date() ? 'expired' : '';
      return h('tr', { dataset: { invite: inv.id } },
        h('td', {}, inv.note || h('span', { class: 'muted' }, '—')),
        h('td', {}, dead ? h('span', { class: 'muted' }, inv.code) : h('input', { class: 'admin-link', readonly: true, value: inviteLink(inv.code), 'aria-label': 'Invite link', onfocus: (e) => e.target.select() })),
        h('td', {}, `${inv.uses}/${inv.max_uses}`),
        h('td', {}, dead || (inv.expires_at ? 'until ' + when(inv.expires_at) : 'no expiry')),
        h('td', {}, dead ? null : h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'revoke', onclick: () => act(() => a.revoke(inv.id), 'Invite revoked') }, 'Revoke')));
    }));
  }

  async function loadAudit() {
    const r = await a.audit();
    replace(audit, r.entries.map((e) => h('tr', {},
      h('td', {}, when(e.at)), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target), h('td', {}, e.detail))));
  }

  async function refresh() {
    if (!alive) return;
    try { await Promise.all([loadOverview(), loadUsers(), loadInvites(), loadAudit()]); } catch (e) { fail(e); }
  }

  let t = 0;
  search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(() => loadUsers().catch(fail), 200); });
  const inviteForm = h('form', { class: 'admin-invite-form' },
    h('label', {}, 'Uses ', uses), h('label', {}, 'Days ', days), h('label', {}, 'Note ', note),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-invite' }, 'Create invite link'));
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const inv = await act(() => a.invite({ max_uses: Number(uses.value) || 1, expires_in_seconds: Math.round((Number(days.value) || 0) * 86400), note: note.value.trim() }), 'Invite created');
    if (inv) { note.value = ''; replace(detail, h('h3', {}, 'New invite link'), h('code', { class: 'admin-secret' }, inviteLink(inv.code))); }
  });

  const reports = reportsPanel(ctx, '');
  const el = h('div', { class: 'admin-page' },
    h('header', { class: 'chat-head' },
      iconButton('back', 'Back to conversations', () => ctx.nav('/')),
      h('h1', { class: 'chat-title' }, 'Administration')),
    h('div', { class: 'admin-body' }, err, overview, reports.el,
      h('section', { class: 'admin-section', 'aria-label': 'Accounts' }, h('h2', {}, 'Accounts'), search,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'State'), h('th', {}, 'Actions'))), users),
        detail),
      h('section', { class: 'admin-section', 'aria-label': 'Invites' }, h('h2', {}, 'Invites'),
        h('p', { class: 'muted' }, `Registration on this server: see the overview. Invite links let people register when it is "invite".`),
        inviteForm,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Note'), h('th', {}, 'Link'), h('th', {}, 'Used'), h('th', {}, 'State'), h('th', {}, ''))), invites)),
      h('section', { class: 'admin-section', 'aria-label': 'Audit log' }, h('h2', {}, 'Audit log'),
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Admin'), h('th', {}, 'Action'), h('th', {}, 'Target'), h('th', {}, 'Detail'))), audit))));
  refresh();
  return { el, destroy() { alive = false; clearTimeout(t); } };
}
