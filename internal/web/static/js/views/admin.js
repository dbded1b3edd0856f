// admin.js — the admin page (admins only; the server refuses everyone
// else): server overview, accounts (search, reset password, promote/demote,
// disable/enable, delete, sessions), invites, organisations and the audit
// log. Every action is a REST call under /api/v1/admin; the page only shows
// what it answers. An organisation admin (an admin of an organisation other
// than the default one, docs/organisations.md) gets the accounts, invites
// and settings of their organisation; the server-wide parts (overview,
// reports, audit log, creating organisations) are for server admins.
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
  audit: (action) => api.req('GET', '/admin/audit', undefined, { limit: 100, action }),
  orgs: () => api.req('GET', '/admin/orgs'),
  createOrg: (body) => api.req('POST', '/admin/orgs', body),
  updateOrg: (id, body) => api.req('PATCH', `/admin/orgs/${encodeURIComponent(id)}`, body),
});

// DEFAULT_ORG is parley.DefaultOrgID: its admins are the server admins.
export const DEFAULT_ORG = '00000000000000000000000000';
const POLICIES = [['open', 'Open: anyone may register'], ['invite', 'Invite: with an invite link'], ['closed', 'Closed: admins create accounts']];
const LIMITS = [['max_users', 'Max accounts'], ['max_conversation_members', 'Max members per conversation'],
  ['max_message_chars', 'Max characters per message'], ['max_upload_bytes', 'Max bytes per file']];

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
  const auditKind = h('select', { class: 'audit-kind', 'aria-label': 'Show actions' },
    [['', 'All actions'], ['conversation.', 'Moderation'], ['report.', 'Reports'], ['user.', 'Accounts'], ['invite.', 'Invites'], ['server.', 'Server rules']]
      .map(([v, t]) => h('option', { value: v }, t)));
  const uses = h('input', { type: 'number', name: 'invite-uses', min: 1, max: 10000, value: 1, 'aria-label': 'Uses' });
  const days = h('input', { type: 'number', name: 'invite-days', min: 0, max: 366, value: 7, 'aria-label': 'Expires after days (0: never)' });
  const note = h('input', { name: 'invite-note', maxlength: 200, placeholder: 'Who it is for', 'aria-label': 'Note' });
  const operator = !ctx.store.me.org_id || ctx.store.me.org_id === DEFAULT_ORG;
  const inviteOrg = h('select', { name: 'invite-org', 'aria-label': 'Organisation' });
  const orgRows = h('tbody', { class: 'admin-orgs' });
  const orgEdit = h('div', { class: 'admin-org-edit' });
  const newSlug = h('input', { name: 'org-slug', maxlength: 32, placeholder: 'acme', 'aria-label': 'Short name (slug)', autocapitalize: 'none' });
  const newName = h('input', { name: 'org-name', maxlength: 64, placeholder: 'Acme Ltd', 'aria-label': 'Name' });
  const newPolicy = h('select', { name: 'org-registration', 'aria-label': 'Registration' }, POLICIES.map(([v, t]) => h('option', { value: v, selected: v === 'invite' }, t)));
  let orgList = [];
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
    const r = await a.audit(auditKind.value);
    replace(audit, r.entries.map((e) => h('tr', {},
      h('td', {}, when(e.at)), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target), h('td', {}, e.detail))));
  }

  // editOrg shows the settings form of one organisation.
  function editOrg(o) {
    const name = h('input', { name: 'org-edit-name', maxlength: 64, value: o.name, 'aria-label': 'Name' });
    const policy = h('select', { name: 'org-edit-registration', 'aria-label': 'Registration', disabled: o.id === DEFAULT_ORG },
      POLICIES.map(([v, t]) => h('option', { value: v, selected: v === o.registration }, t)));
    const twoFA = h('input', { type: 'checkbox', name: 'org-edit-2fa', checked: o.require_2fa });
    const limits = LIMITS.map(([k, t]) => [k, h('input', { type: 'number', min: 0, name: 'org-edit-' + k, value: o.limits[k] || 0, 'aria-label': t })]);
    const form = h('form', { class: 'admin-org-form', dataset: { org: o.slug } },
      h('h3', {}, `Settings of ${o.name} (${o.slug})`),
      h('label', {}, 'Name ', name), h('label', {}, 'Registration ', policy),
      o.id === DEFAULT_ORG ? h('p', { class: 'muted' }, 'The default organisation’s registration is the server’s --registration setting.') : null,
      h('label', { class: 'check' }, twoFA, ' Members must use two-factor sign-in'),
      h('p', { class: 'muted' }, 'Limits: 0 means the server’s own; a number tightens it.'),
      ...limits.map(([k, i]) => h('label', {}, LIMITS.find(([x]) => x === k)[1] + ' ', i)),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'save-org' }, 'Save'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), require_2fa: twoFA.checked,
        limits: Object.fromEntries(limits.map(([k, i]) => [k, Math.max(0, Number(i.value) || 0)])) };
      if (o.id !== DEFAULT_ORG) body.registration = policy.value;
      await act(() => a.updateOrg(o.id, body), `${o.name} saved`);
    });
    replace(orgEdit, form);
  }

  async function loadOrgs() {
    const r = await a.orgs();
    orgList = r.organisations;
    replace(orgRows, orgList.map((o) => h('tr', { dataset: { org: o.slug } },
      h('td', {}, h('strong', {}, o.name), h('div', { class: 'muted' }, o.slug)),
      h('td', {}, o.registration), h('td', {}, o.require_2fa ? 'required' : 'optional'),
      h('td', {}, LIMITS.filter(([k]) => o.limits[k]).map(([k, t]) => `${t}: ${o.limits[k]}`).join(' · ') || 'server limits'),
      h('td', {}, h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'edit-org', onclick: () => editOrg(o) }, 'Edit')))));
    const keep = inviteOrg.value;
    replace(inviteOrg, orgList.map((o) => h('option', { value: o.id, selected: o.id === (keep || ctx.store.me.org_id || DEFAULT_ORG) }, o.name)));
    if (!operator && orgList.length === 1 && !orgEdit.firstChild) editOrg(orgList[0]);
  }

  async function refresh() {
    if (!alive) return;
    const parts = [loadUsers(), loadInvites(), loadOrgs()];
    if (operator) parts.push(loadOverview(), loadAudit());
    try { await Promise.all(parts); } catch (e) { fail(e); }
  }

  auditKind.addEventListener('change', () => loadAudit().catch(fail));
  let t = 0;
  search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(() => loadUsers().catch(fail), 200); });
  const inviteForm = h('form', { class: 'admin-invite-form' },
    h('label', {}, 'Uses ', uses), h('label', {}, 'Days ', days), h('label', {}, 'Note ', note),
    operator ? h('label', {}, 'Organisation ', inviteOrg) : null,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-invite' }, 'Create invite link'));
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const inv = await act(() => a.invite({ max_uses: Number(uses.value) || 1, expires_in_seconds: Math.round((Number(days.value) || 0) * 86400), note: note.value.trim(),
      ...(operator && inviteOrg.value ? { org_id: inviteOrg.value } : {}) }), 'Invite created');
    if (inv) { note.value = ''; replace(detail, h('h3', {}, 'New invite link'), h('code', { class: 'admin-secret' }, inviteLink(inv.code))); }
  });

  const orgForm = h('form', { class: 'admin-org-create' },
    h('label', {}, 'Short name ', newSlug), h('label', {}, 'Name ', newName), h('label', {}, 'Registration ', newPolicy),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-org' }, 'Create organisation'));
  orgForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const o = await act(() => a.createOrg({ slug: newSlug.value.trim(), name: newName.value.trim(), registration: newPolicy.value }), 'Organisation created');
    if (o) { newSlug.value = ''; newName.value = ''; editOrg(o); }
  });
  const orgSection = h('section', { class: 'admin-section', 'aria-label': 'Organisations' },
    h('h2', {}, operator ? 'Organisations' : 'Organisation'),
    h('p', { class: 'muted' }, operator
      ? 'Each organisation is a separate world: its people see only each other, its conversations and channels. People join one with its short name or an invite link of it.'
      : 'Your organisation’s registration policy, limits and two-factor rule.'),
    operator ? orgForm : null,
    h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Organisation'), h('th', {}, 'Registration'), h('th', {}, 'Two-factor'), h('th', {}, 'Limits'), h('th', {}, ''))), orgRows),
    orgEdit);
  const reports = operator ? reportsPanel(ctx, '') : { el: null };
  const el = h('div', { class: 'admin-page' },
    h('header', { class: 'chat-head' },
      iconButton('back', 'Back to conversations', () => ctx.nav('/')),
      h('h1', { class: 'chat-title' }, 'Administration')),
    h('div', { class: 'admin-body' }, err, operator ? overview : null, reports.el,
      h('section', { class: 'admin-section', 'aria-label': 'Accounts' }, h('h2', {}, 'Accounts'), search,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'State'), h('th', {}, 'Actions'))), users),
        detail),
      h('section', { class: 'admin-section', 'aria-label': 'Invites' }, h('h2', {}, 'Invites'),
        h('p', { class: 'muted' }, `Registration on this server: see the overview. Invite links let people register when it is "invite".`),
        inviteForm,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Note'), h('th', {}, 'Link'), h('th', {}, 'Used'), h('th', {}, 'State'), h('th', {}, ''))), invites)),
      orgSection,
      operator ? h('section', { class: 'admin-section', 'aria-label': 'Audit log' }, h('h2', {}, 'Audit log'), auditKind,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Admin'), h('th', {}, 'Action'), h('th', {}, 'Target'), h('th', {}, 'Detail'))), audit)) : null));
  refresh();
  return { el, destroy() { alive = false; clearTimeout(t); } };
}
