// bots.js — the Bots page (/bots; docs/bots.md): the signed-in person's bot
// accounts (create, disable/enable, delete) and, for the one picked, its API
// tokens with scopes, incoming webhook URLs per conversation, outgoing
// webhooks with their delivery log and re-enable, and its slash command.
// Secrets (token, webhook URL, signing secret) are shown once, as the
// server returns them once. Every action is a REST call under /api/v1/bots.
import { h, replace, iconButton } from '../dom.js';
import { toast, errorText, confirmDialog } from './ui.js';

const SCOPES = [
  ['conversations:read', 'Read conversations and members'],
  ['messages:read', 'Read messages'],
  ['messages:write', 'Send messages and reactions'],
];

const enc = encodeURIComponent;
const bots = (api) => ({
  list: () => api.req('GET', '/bots'),
  create: (body) => api.req('POST', '/bots', body),
  remove: (id) => api.req('DELETE', `/bots/${enc(id)}`),
  enable: (id, on) => api.req('POST', `/bots/${enc(id)}/${on ? 'enable' : 'disable'}`),
  tokens: (id) => api.req('GET', `/bots/${enc(id)}/tokens`),
  token: (id, body) => api.req('POST', `/bots/${enc(id)}/tokens`, body),
  revoke: (id, tid) => api.req('DELETE', `/bots/${enc(id)}/tokens/${enc(tid)}`),
  inHooks: (id) => api.req('GET', `/bots/${enc(id)}/incoming-webhooks`),
  inHook: (id, convID) => api.req('POST', `/bots/${enc(id)}/incoming-webhooks`, { conversation_id: convID }),
  inHookDelete: (id, hid) => api.req('DELETE', `/bots/${enc(id)}/incoming-webhooks/${enc(hid)}`),
  outHooks: (id) => api.req('GET', `/bots/${enc(id)}/outgoing-webhooks`),
  outHook: (id, url) => api.req('POST', `/bots/${enc(id)}/outgoing-webhooks`, { url }),
  outHookDelete: (id, hid) => api.req('DELETE', `/bots/${enc(id)}/outgoing-webhooks/${enc(hid)}`),
  outHookEnable: (id, hid) => api.req('POST', `/bots/${enc(id)}/outgoing-webhooks/${enc(hid)}/enable`),
  deliveries: (id, hid) => api.req('GET', `/bots/${enc(id)}/outgoing-webhooks/${enc(hid)}/deliveries`),
});

function when(t) { return t ? new Date(t).toLocaleString() : 'never'; }

// once shows a secret the server will not show again, with a copy button.
function once(label, value, cls) {
  const input = h('input', { class: 'admin-link ' + cls, readonly: true, value, 'aria-label': label, onfocus: (e) => e.target.select() });
  return h('div', { class: 'secret-once', role: 'status' },
    h('strong', {}, label), h('p', { class: 'muted' }, 'Copy it now: it is shown only once.'), input,
    h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
      try { await navigator.clipboard.writeText(value); toast('Copied'); } catch { input.select(); }
    } }, 'Copy'));
}

// renderBots returns {el, destroy} for the main pane.
export function renderBots(ctx) {
  const { store } = ctx;
  const b = bots(ctx.api);
  const err = h('div', { class: 'form-error', role: 'alert' });
  const list = h('tbody', { class: 'bot-list' });
  const detail = h('section', { class: 'admin-section bot-detail', 'aria-live': 'polite' });
  // secret holds the one-time secret last created; it survives the detail's
  // re-renders and is cleared when another bot is picked.
  const secret = h('div', { class: 'bot-secret' });
  let alive = true;
  let current = null; // the bot shown in detail
  let shown = ''; // the id of the bot whose detail is rendered

  const fail = (e) => { if (alive) err.textContent = errorText(e); };
  const act = async (fn, done) => {
    err.textContent = '';
    try { const r = await fn(); if (done) toast(done); return r ?? true; } catch (e) { fail(e); return null; }
  };
  const btn = (label, fn, cls = '') => h('button', { type: 'button', class: 'btn btn-small ' + cls, 'data-action': label.toLowerCase().replace(/\s+/g, '-'), onclick: fn }, label);

  async function loadBots() {
    const r = await b.list();
    if (!alive) return;
    replace(list, r.bots.length ? r.bots.map(botRow) : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'You have no bots yet.')));
    if (current) {
      const fresh = r.bots.find((x) => x.id === current.id);
      if (fresh) { current = fresh; await showBot(fresh); } else { current = null; shown = ''; replace(secret); replace(detail); }
    }
  }

  function botRow(bot) {
    return h('tr', { dataset: { bot: bot.username } },
      h('td', {}, h('strong', {}, '@' + bot.username), h('div', { class: 'muted' }, bot.display_name)),
      h('td', { class: 'bot-state' }, bot.disabled ? 'disabled' : 'active'),
      h('td', { class: 'admin-actions' },
        btn('Manage', () => { current = bot; showBot(bot).catch(fail); }),
        btn(bot.disabled ? 'Enable' : 'Disable', async () => {
          if (await act(() => b.enable(bot.id, bot.disabled), `@${bot.username} ${bot.disabled ? 'enabled' : 'disabled'}`)) await loadBots().catch(fail);
        }),
        btn('Delete', async () => {
          if (!await confirmDialog('Delete bot?', `Delete @${bot.username}? Its messages stay, shown as "deleted user"; its tokens and webhooks stop. This cannot be undone.`, 'Delete', true)) return;
          if (await act(() => b.remove(bot.id), `@${bot.username} deleted`)) await loadBots().catch(fail);
        }, 'btn-danger')));
  }

  // showBot renders the picked bot's tokens, webhooks and command.
  async function showBot(bot) {
    const [tokens, ins, outs] = await Promise.all([b.tokens(bot.id), b.inHooks(bot.id), b.outHooks(bot.id)]);
    if (!alive || current?.id !== bot.id) return;
    if (shown !== bot.id) replace(secret);
    shown = bot.id;
    const refresh = () => showBot(bot).catch(fail);
    const enabledHook = outs.webhooks.find((w) => !w.disabled);
    replace(detail,
      h('h2', {}, `@${bot.username}`, bot.disabled ? h('span', { class: 'role-tag' }, 'disabled') : null),
      secret,
      tokensPart(bot, tokens.tokens, secret, refresh),
      incomingPart(bot, ins.webhooks, secret, refresh),
      outgoingPart(bot, outs.webhooks, secret, refresh),
      h('section', { class: 'bot-command', 'aria-label': 'Slash command' }, h('h3', {}, 'Slash command'),
        h('p', {}, 'Typing ', h('code', {}, `/${bot.username} some text`), ` in a conversation where @${bot.username} is a member runs its command: the text goes to its newest enabled outgoing webhook, and the answer is posted as the bot's message.`),
        h('p', { class: 'bot-command-state', dataset: { active: String(!!enabledHook && !bot.disabled) } },
          bot.disabled ? 'Inactive: the bot is disabled.'
            : enabledHook ? `Active: answered by ${enabledHook.url}.` : 'Inactive: add an outgoing webhook (or re-enable one) to register the command.')));
  }

  function tokensPart(bot, tokens, secret, refresh) {
    const name = h('input', { name: 'token-name', maxlength: 64, required: true, placeholder: 'What it is for', 'aria-label': 'Token name' });
    const boxes = SCOPES.map(([s, label]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'scope', value: s, checked: s !== 'conversations:read' }), ' ', label, ' ', h('code', {}, s)));
    const form = h('form', { class: 'admin-invite-form bot-token-form' }, name, ...boxes, h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-token' }, 'Create token'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const scopes = [...form.querySelectorAll('input[name=scope]:checked')].map((x) => x.value);
      const r = await act(() => b.token(bot.id, { name: name.value.trim(), scopes }), 'Token created');
      if (!r) return;
      await refresh();
      replace(secret, once(`Token "${r.token.name}"`, r.secret, 'token-secret'));
    });
    return h('section', { class: 'bot-tokens', 'aria-label': 'API tokens' }, h('h3', {}, 'API tokens'),
      h('p', { class: 'muted' }, 'A token lets a program act as the bot, only on the endpoints its scopes allow (Authorization: Bearer …).'),
      form,
      h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Scopes'), h('th', {}, 'Last used'), h('th', {}, ''))),
        h('tbody', {}, tokens.map((t) => h('tr', { dataset: { token: t.name } },
          h('td', {}, t.name), h('td', {}, t.scopes.join(', ')), h('td', {}, when(t.last_used_at)),
          h('td', {}, btn('Revoke', async () => {
            if (!await confirmDialog('Revoke token?', `Programs using "${t.name}" stop working at once.`, 'Revoke', true)) return;
            if (await act(() => b.revoke(bot.id, t.id), 'Token revoked')) { replace(secret); await refresh(); }
          }, 'btn-danger')))))));
  }

  function incomingPart(bot, hooks, secret, refresh) {
    const convs = [...store.convs.values()].filter((c) => c.kind !== 'direct').sort((x, y) => store.title(x).localeCompare(store.title(y)));
    const pick = h('select', { name: 'hook-conversation', 'aria-label': 'Conversation' },
      convs.map((c) => h('option', { value: c.id }, store.title(c))));
    const form = h('form', { class: 'admin-invite-form bot-in-form' }, pick,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-incoming' }, 'Create webhook URL'),
      btn('Add the bot to it', async () => {
        if (await act(() => ctx.api.addMembers(pick.value, [bot.id]), `@${bot.username} added`)) store.loadMembers(pick.value).catch(() => {});
      }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!pick.value) return;
      const r = await act(() => b.inHook(bot.id, pick.value), 'Webhook URL created');
      if (!r) return;
      await refresh();
      replace(secret, once('Incoming webhook URL', location.origin + r.url, 'hook-url'));
    });
    const title = (id) => { const c = store.convs.get(id); return c ? store.title(c) : id; };
    return h('section', { class: 'bot-incoming', 'aria-label': 'Incoming webhooks' }, h('h3', {}, 'Incoming webhooks'),
      h('p', { class: 'muted' }, `A secret URL that posts {"text": "…"} into one conversation as @${bot.username}. The bot must be a member that may post there.`),
      convs.length ? form : h('p', { class: 'muted' }, 'You are in no group or channel yet.'),
      h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Conversation'), h('th', {}, 'Created'), h('th', {}, 'Last used'), h('th', {}, ''))),
        h('tbody', {}, hooks.map((w) => h('tr', { dataset: { hook: w.id } },
          h('td', {}, title(w.conversation_id)), h('td', {}, when(w.created_at)), h('td', {}, when(w.last_used_at)),
          h('td', {}, btn('Delete', async () => {
            if (!await confirmDialog('Delete webhook URL?', 'Whatever posts to it stops working at once.', 'Delete', true)) return;
            if (await act(() => b.inHookDelete(bot.id, w.id), 'Webhook URL deleted')) { replace(secret); await refresh(); }
          }, 'btn-danger')))))));
  }

  function outgoingPart(bot, hooks, secret, refresh) {
    const url = h('input', { name: 'hook-url', type: 'url', maxlength: 2048, required: true, placeholder: 'https://example.org/parley', 'aria-label': 'Webhook URL' });
    const form = h('form', { class: 'admin-invite-form bot-out-form' }, url,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-outgoing' }, 'Add webhook'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const r = await act(() => b.outHook(bot.id, url.value.trim()), 'Webhook added');
      if (!r) return;
      await refresh();
      replace(secret, once('Signing secret', r.secret, 'hook-secret'));
    });
    const log = h('div', { class: 'bot-deliveries', 'aria-live': 'polite' });
    const showLog = async (w) => {
      const r = await b.deliveries(bot.id, w.id);
      if (!alive) return;
      replace(log, h('h4', {}, `Deliveries to ${w.url}`),
        r.deliveries.length ? h('table', { class: 'admin-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Event'), h('th', {}, 'State'), h('th', {}, 'Attempts'), h('th', {}, 'Last answer'))),
          h('tbody', {}, r.deliveries.map((d) => h('tr', { dataset: { status: d.status } },
            h('td', {}, when(d.created_at)), h('td', {}, d.event), h('td', {}, d.status), h('td', {}, String(d.attempts)),
            h('td', {}, d.last_error || (d.last_status ? 'HTTP ' + d.last_status : '—'))))))
          : h('p', { class: 'muted' }, 'Nothing sent yet.'));
    };
    return h('section', { class: 'bot-outgoing', 'aria-label': 'Outgoing webhooks' }, h('h3', {}, 'Outgoing webhooks'),
      h('p', { class: 'muted' }, `Every new message in the bot's conversations is POSTed there, signed with the webhook's secret. Five failed deliveries in a row disable a webhook; re-enable it once its receiver works.`),
      form,
      h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'URL'), h('th', {}, 'State'), h('th', {}, 'Failures'), h('th', {}, ''))),
        h('tbody', {}, hooks.map((w) => h('tr', { dataset: { hook: w.id } },
          h('td', { class: 'hook-target' }, w.url), h('td', { class: 'hook-state' }, w.disabled ? 'disabled' : 'enabled'), h('td', {}, String(w.failures)),
          h('td', { class: 'admin-actions' },
            btn('Deliveries', () => showLog(w).catch(fail)),
            w.disabled ? btn('Re-enable', async () => { if (await act(() => b.outHookEnable(bot.id, w.id), 'Webhook re-enabled')) await refresh(); }) : null,
            btn('Delete', async () => {
              if (!await confirmDialog('Delete webhook?', 'Its queue and delivery log go with it.', 'Delete', true)) return;
              if (await act(() => b.outHookDelete(bot.id, w.id), 'Webhook deleted')) { replace(secret); await refresh(); }
            }, 'btn-danger')))))),
      log);
  }

  const username = h('input', { name: 'bot-username', maxlength: 32, required: true, placeholder: 'username', 'aria-label': 'Bot username', autocomplete: 'off' });
  const display = h('input', { name: 'bot-display', maxlength: 64, placeholder: 'Display name (optional)', 'aria-label': 'Display name' });
  const createForm = h('form', { class: 'admin-invite-form bot-create-form' }, username, display,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'create-bot' }, 'Create bot'));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { username: username.value.trim() };
    if (display.value.trim()) body.display_name = display.value.trim();
    const bot = await act(() => b.create(body), 'Bot created');
    if (!bot) return;
    username.value = '';
    display.value = '';
    current = bot;
    await loadBots().catch(fail);
  });

  const el = h('div', { class: 'admin-page bots-page' },
    h('header', { class: 'chat-head' },
      iconButton('back', 'Back to conversations', () => ctx.nav('/')),
      h('h1', { class: 'chat-title' }, 'Bots')),
    h('div', { class: 'admin-body' }, err,
      h('section', { class: 'admin-section', 'aria-label': 'Your bots' }, h('h2', {}, 'Your bots'),
        h('p', { class: 'muted' }, 'A bot is an account you own that programs use through tokens and webhooks. Add it to a conversation like a person.'),
        createForm,
        h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Bot'), h('th', {}, 'State'), h('th', {}, 'Actions'))), list)),
      detail));
  loadBots().catch(fail);
  return { el, destroy() { alive = false; } };
}

// botsSection is the settings dialog's way to the Bots page.
export function botsSection(ctx, close) {
  return h('fieldset', { class: 'field bots-section' }, h('legend', {}, 'Bots'),
    h('div', { class: 'hint' }, 'Accounts for your programs: tokens, webhooks and slash commands.'),
    h('div', { class: 'modal-actions' }, h('a', { href: '/bots', class: 'btn bots-link', onclick: (e) => { e.preventDefault(); close(); ctx.nav('/bots'); } }, 'Manage bots')));
}
