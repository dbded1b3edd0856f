// contacts.js — the contacts panel: find people (username or display name),
// contact requests (accept, decline, cancel), the contact list with
// presence, suggestions from shared conversations, and the privacy settings
// (who may find you, who may start a direct chat with you). It re-reads the
// server state on every contact_* event (store topic 'contacts').
import { h, replace } from '../dom.js';
import { modal, field, toast, errorText, avatar } from './ui.js';

const FIND_ME = [['everyone', 'Everyone'], ['contacts_of_contacts', 'Contacts of my contacts'], ['nobody', 'Nobody (contacts only)']];
const DIRECT_FROM = [['everyone', 'Everyone'], ['contacts_of_contacts', 'Contacts of my contacts'], ['contacts', 'My contacts only']];

export function openContacts(ctx) {
  const { store, api } = ctx;
  const q = h('input', { type: 'search', maxlength: 64, autocomplete: 'off', placeholder: 'Username or name' });
  const found = h('ul', { class: 'pick-list people-results', 'aria-label': 'People found' });
  const incoming = h('ul', { class: 'pick-list contact-incoming', 'aria-label': 'Requests to you' });
  const outgoing = h('ul', { class: 'pick-list contact-outgoing', 'aria-label': 'Your requests' });
  const contacts = h('ul', { class: 'pick-list contact-list', 'aria-label': 'Your contacts' });
  const suggestions = h('ul', { class: 'pick-list contact-suggestions', 'aria-label': 'Suggestions' });
  const findMe = select('Who can find me and send me requests', FIND_ME);
  const directFrom = select('Who can start a direct chat with me', DIRECT_FROM);
  // A refresh (live contact events trigger one) must not overwrite a choice
  // the user has made but not saved yet.
  let privacyEdited = false;
  for (const s of [findMe, directFrom]) s.addEventListener('change', () => { privacyEdited = true; });
  const savePrivacy = h('button', { type: 'button', class: 'btn btn-primary save-privacy', onclick: () => act(async () => {
    await api.req('PUT', '/me/privacy', { find_me: findMe.value, direct_from: directFrom.value });
    privacyEdited = false;
    toast('Privacy settings saved');
  }) }, 'Save privacy settings');

  function select(label, options) {
    const s = h('select', {}, options.map(([v, t]) => h('option', { value: v }, t)));
    s.dataset.label = label;
    return s;
  }

  async function act(fn) {
    try { await fn(); } catch (e) { toast(errorText(e), 'error'); }
    refresh();
  }

  const name = (id) => store.displayName(id);
  const person = (u, ...buttons) => h('li', { class: 'member-row', dataset: { user: u.id } },
    avatar(store, u, { size: 'sm', presence: true }),
    h('span', { class: 'pick-text' }, h('span', { class: 'pick-name' }, name(u.id)),
      h('span', { class: 'muted' }, u.username ? '@' + u.username : '')),
    ...buttons);
  const btn = (label, fn, cls = '') => h('button', { type: 'button', class: 'btn ' + cls, onclick: () => act(fn) }, label);
  const message = (id) => btn('Message', async () => {
    const c = await api.createConversation({ kind: 'direct', member_ids: [id] });
    m.close();
    ctx.nav('/c/' + encodeURIComponent(c.id));
  });
  const request = (id) => btn('Add contact', async () => {
    const r = await api.req('POST', '/contacts/requests', { user_id: id });
    toast(r?.accepted ? `You and ${name(id)} are contacts now` : `Request sent to ${name(id)}`);
  }, 'btn-primary');
  const empty = (text) => h('li', { class: 'muted pick-empty' }, text);
  const blockBtn = (id) => (store.blocked.has(id)
    ? h('button', { type: 'button', class: 'btn unblock-btn', onclick: () => ctx.block(id, false).then(refresh) }, 'Unblock')
    : h('button', { type: 'button', class: 'btn btn-danger-ghost block-btn', 'aria-label': 'Block ' + name(id), onclick: () => ctx.block(id, true).then(refresh) }, 'Block'));
  const blockedList = h('ul', { class: 'pick-list blocked-list', 'aria-label': 'Blocked people' });

  let gen = 0;
  async function refresh() {
    const my = ++gen;
    try {
      const [reqs, list, sugg, priv] = await Promise.all([
        api.req('GET', '/contacts/requests'), api.req('GET', '/contacts', undefined, { limit: 200 }),
        api.req('GET', '/contacts/suggestions'), api.req('GET', '/me/privacy')]);
      await store.ensureUsers([...reqs.incoming.map((r) => r.from_id), ...reqs.outgoing.map((r) => r.to_id),
        ...list.contacts.map((c) => c.user_id), ...sugg.suggestions.map((s) => s.user_id)]);
      if (my !== gen) return;
      const u = (id) => store.user(id) || { id };
      ctx.rt?.subscribePresence?.(list.contacts.map((c) => c.user_id));
      replace(incoming, reqs.incoming.length ? reqs.incoming.map((r) => person(u(r.from_id),
        btn('Accept', () => api.req('POST', `/contacts/requests/${encodeURIComponent(r.from_id)}/accept`), 'btn-primary'),
        btn('Decline', () => api.req('POST', `/contacts/requests/${encodeURIComponent(r.from_id)}/decline`)))) : empty('No requests.'));
      replace(outgoing, reqs.outgoing.length ? reqs.outgoing.map((r) => person(u(r.to_id),
        btn('Cancel', () => api.req('DELETE', `/contacts/requests/${encodeURIComponent(r.to_id)}`)))) : empty('None pending.'));
      replace(contacts, list.contacts.length ? list.contacts.map((c) => person(u(c.user_id), message(c.user_id),
        btn('Remove', () => api.req('DELETE', `/contacts/${encodeURIComponent(c.user_id)}`), 'btn-danger'), blockBtn(c.user_id))) : empty('No contacts yet.'));
      await store.ensureUsers([...store.blocked]);
      if (my !== gen) return;
      replace(blockedList, store.blocked.size ? [...store.blocked].map((id) => person(u(id), blockBtn(id))) : empty('Nobody.'));
      replace(suggestions, sugg.suggestions.length ? sugg.suggestions.map((s) => person(u(s.user_id), request(s.user_id))) : empty('No suggestions.'));
      if (!privacyEdited) {
        findMe.value = priv.find_me;
        directFrom.value = priv.direct_from;
      }
    } catch (e) { if (my === gen) toast(errorText(e), 'error'); }
  }

  let timer;
  let findGen = 0;
  async function find() {
    const text = q.value.trim();
    const my = ++findGen;
    if (!text) { replace(found); return; }
    try {
      const r = await api.req('GET', '/people', undefined, { q: text, limit: 20 });
      if (my !== findGen) return;
      const users = (r.users || []).map((x) => store.addUser(x));
      replace(found, users.length ? users.map((x) => person(x, request(x.id), message(x.id), blockBtn(x.id))) : empty('Nobody found.'));
    } catch (e) { if (my === findGen) replace(found, h('li', { class: 'form-error' }, errorText(e))); }
  }
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(find, 250); });

  let presenceTimer;
  const off = [store.on('contacts', refresh),
    store.on('presence', () => { clearTimeout(presenceTimer); presenceTimer = setTimeout(refresh, 1000); }),
    () => clearTimeout(presenceTimer)];
  const m = modal('Contacts', [
    field('Find people', q), found,
    h('h3', {}, 'Requests to you'), incoming,
    h('h3', {}, 'Your requests'), outgoing,
    h('h3', {}, 'Contacts'), contacts,
    h('h3', {}, 'People you may know'), suggestions,
    h('h3', {}, 'Blocked'), blockedList,
    h('h3', {}, 'Privacy'), field(findMe.dataset.label, findMe), field(directFrom.dataset.label, directFrom), savePrivacy,
  ], { wide: true, cls: 'contacts-dialog', onclose: () => off.forEach((f) => f()) });
  q.focus();
  refresh();
  return m;
}
